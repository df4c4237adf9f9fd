/**
 * The benchmark FLOOR: the least a Bun WebSocket server can do and still speak the first steps of the gateway
 * protocol. Compiled exactly like the product (`bun build --compile --minify --bytecode --format=esm`, no .env or
 * bunfig autoloading) into dist/bench-floor by test/bench/run.ts, and started with the same argv and env as the
 * gateway (`<bin> run --port 0`, GATEWAY_PRINT_READY=1), so the same spawn code measures both.
 *
 * On open it sends a connect.challenge event; it answers `connect` with a small hello-ok and `health` with a small
 * payload. No auth, no validation, no state: everything the gateway costs beyond this is the gateway's own.
 */
import type { ServerWebSocket } from "bun"

interface Data {
  connId: string
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const port = Number(argValue("--port") ?? process.env.GATEWAY_PORT ?? 18799)
const startedAt = Date.now()

function reply(ws: ServerWebSocket<Data>, id: string, payload: unknown): void {
  ws.send(JSON.stringify({ type: "res", id, ok: true, payload }))
}

const server = Bun.serve<Data>({
  hostname: "127.0.0.1",
  port,
  reusePort: false,
  fetch(req, srv) {
    if (srv.upgrade(req, { data: { connId: crypto.randomUUID() } })) return undefined
    return new Response("floor", { status: 200 })
  },
  websocket: {
    perMessageDeflate: false,
    idleTimeout: 0,
    sendPings: false,
    open(ws) {
      ws.send(JSON.stringify({ type: "event", event: "connect.challenge", payload: { nonce: crypto.randomUUID(), ts: Date.now() } }))
    },
    message(ws, message) {
      let frame: { type?: unknown; id?: unknown; method?: unknown }
      try {
        frame = JSON.parse(typeof message === "string" ? message : message.toString("utf8"))
      } catch {
        return
      }
      if (frame?.type !== "req" || typeof frame.id !== "string") return
      if (frame.method === "health") return reply(ws, frame.id, { ok: true, ts: Date.now() })
      if (frame.method === "connect") {
        return reply(ws, frame.id, {
          type: "hello-ok",
          protocol: 4,
          server: { version: "floor", connId: ws.data.connId },
          features: { methods: ["health"], events: [] },
          snapshot: { presence: [], health: { ok: true }, stateVersion: { presence: 0, health: 0 }, uptimeMs: Date.now() - startedAt },
          auth: { role: "operator", scopes: [] },
          policy: { maxPayload: 25 * 1024 * 1024, maxBufferedBytes: 50 * 1024 * 1024, tickIntervalMs: 30_000 },
        })
      }
      ws.send(JSON.stringify({ type: "res", id: frame.id, ok: false, error: { code: "INVALID_REQUEST", message: `unknown method: ${String(frame.method)}` } }))
    },
  },
})

if (process.env.GATEWAY_PRINT_READY === "1") {
  process.stdout.write(`${JSON.stringify({ ready: true, url: `ws://127.0.0.1:${server.port}`, port: server.port, pid: process.pid })}\n`)
}

const stop = () => {
  server.stop(true)
  process.exit(0)
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
