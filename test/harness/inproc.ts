/**
 * The whole gateway in the test process: a temp home with a gateway.json, `startGateway` on port 0 with an injected
 * model layer (no AI SDK, no network), and connected clients. Tests reach the core through the same doors as real
 * clients (WebSocket methods and events, HTTP through the Hono app), never through runtime internals.
 *
 *   const gw = await startInProcess({ models: fakeModel([{ text: "hi" }]) })
 *   const c = await gw.connect()                       // all operator scopes, the harness token
 *   await c.call("chat.send", { sessionKey: "s", message: "hello", idempotencyKey: "k1" })
 *   await gw.stop()                                     // closes clients, stops, removes the home it created
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { ModelLayer } from "../../src/agent/model-types.ts"
import { startGateway, type RunningGateway, type StartOptions } from "../../src/gateway.ts"
import { TestClient, type ConnectOptions } from "./ws-client.ts"

export const INPROC_TOKEN = "inproc-test-token-0123456789"

export interface InProcessOptions {
  /** gateway.json content, deep-merged over the harness defaults (token auth, no console log, no file watching). */
  config?: Record<string, unknown>
  models?: ModelLayer
  /** An existing home (restart tests); otherwise a fresh temp directory, removed by stop(). */
  home?: string
  /** Channel adapters to use instead of the real Telegram / Discord libraries. */
  channelAdapters?: StartOptions["channelAdapters"]
  /** Extra environment (e.g. TELEGRAM_BOT_TOKEN). */
  env?: Record<string, string>
  /** The clock cron and the heartbeat schedule by (a ManualClock from src/cron/clock.ts). */
  clock?: StartOptions["clock"]
}

export interface InProcessGateway {
  gateway: RunningGateway
  /** ws://127.0.0.1:<port> */
  url: string
  /** http://127.0.0.1:<port> */
  httpUrl: string
  token: string
  home: string
  /** A connected client (the harness token and every operator scope unless told otherwise). */
  connect(opts?: ConnectOptions): Promise<TestClient>
  /** Closes the clients it made, stops the gateway, and removes the home when the harness created it. */
  stop(): Promise<void>
}

/** The config every in-process gateway starts from; `config` overrides any of it. */
export function baseConfig(): Record<string, unknown> {
  return {
    gateway: { auth: { token: INPROC_TOKEN }, reload: { mode: "off" } },
    // The console would interleave with test output; the JSONL file in the home is still written.
    logging: { console: "off", level: "debug" },
    // The injected model layer resolves any ref; this only makes runs pick one.
    models: { default: "fake/fake-model" },
  }
}

export async function startInProcess(opts: InProcessOptions = {}): Promise<InProcessGateway> {
  const ownHome = !opts.home
  const home = opts.home ?? mkdtempSync(join(tmpdir(), "gw-inproc-"))
  writeFileSync(join(home, "gateway.json"), JSON.stringify(deepMerge(baseConfig(), opts.config ?? {}), null, 2), { mode: 0o600 })
  // A clean environment: nothing from the developer's shell (GATEWAY_PORT, API keys) reaches the gateway.
  const env = { PATH: process.env.PATH ?? "", HOME: home, GATEWAY_HOME: home, XDG_CACHE_HOME: join(home, ".cache"), ...opts.env }
  const gateway = await startGateway({
    home,
    port: 0,
    env,
    models: opts.models,
    validateEvents: true,
    channelAdapters: opts.channelAdapters,
    clock: opts.clock,
  })
  const clients: TestClient[] = []
  let stopped = false
  return {
    gateway,
    url: gateway.url,
    httpUrl: `http://127.0.0.1:${gateway.port}`,
    token: INPROC_TOKEN,
    home,
    async connect(c = {}) {
      const client = await TestClient.connect(gateway.url, { token: INPROC_TOKEN, ...c })
      clients.push(client)
      return client
    },
    async stop() {
      if (stopped) return
      stopped = true
      for (const c of clients) c.close()
      await gateway.stop("test done")
      if (ownHome) rmSync(home, { recursive: true, force: true })
    },
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
}

/** Objects merge key by key; anything else (arrays included) from `over` replaces. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(over)) out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v
  return out
}
