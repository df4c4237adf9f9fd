/** Bun.serve on one port: WebSocket upgrades at `/` go to the hub, everything else to the Hono app. */
import type { Server } from "bun"
import type { Hono } from "hono"
import { NamedError } from "../util/named-error.ts"
import { isDirectLocal, type UpgradeCheck } from "./exposure.ts"
import type { SocketData, WsHub } from "./ws.ts"

export interface ListenOptions {
  host: string
  port: number
  maxPayloadBytes: number
  /** PEM certificate and key: the port then speaks HTTPS and wss:// only. */
  tls?: { cert: string; key: string }
  /** Checks before an upgrade (server/exposure.ts: browser Origin, trusted proxy); a refusal is answered with its status. */
  checkUpgrade?: (req: Request, remoteAddress: string) => UpgradeCheck
}

/** The port cannot be bound (in use, no permission, bad address); `gateway run` explains who holds the port (server/port-holder.ts) and exits 78. */
export const ListenError = NamedError.create("ListenError", (z) => z.object({ host: z.string(), port: z.number(), message: z.string() }))
export type ListenError = InstanceType<typeof ListenError>

export function listen(opts: ListenOptions, app: Hono, hub: WsHub): Server<SocketData> {
  try {
    return Bun.serve<SocketData>({
      hostname: opts.host,
      port: opts.port,
      // A second gateway on the same port must fail, not share it.
      reusePort: false,
      ...(opts.tls ? { tls: opts.tls } : {}),
      fetch(req, server) {
        if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
          const url = new URL(req.url)
          if (url.pathname === "/") {
            const remoteAddress = server.requestIP(req)?.address ?? "unknown"
            const check = opts.checkUpgrade?.(req, remoteAddress) ?? { ok: true }
            if (!check.ok) {
              hub.noteRefusal(remoteAddress, check.message)
              return new Response(`${check.message}\n`, { status: check.status, headers: { connection: "close" } })
            }
            const connId = crypto.randomUUID()
            // Refused here, before the upgrade, so not one frame of an over-cap socket is ever buffered.
            const admission = hub.admit(connId, remoteAddress)
            if (!admission.ok) {
              return new Response(`${admission.message}\n`, { status: admission.status, headers: { "retry-after": "1", connection: "close" } })
            }
            // Bun runs the open handler inside upgrade(), so the slot is the socket's from here on.
            // Direct-local is decided here, where the headers are: a same-host reverse proxy is not a local client.
            const directLocal = isDirectLocal(remoteAddress, req.headers)
            const data: SocketData = { connId, remoteAddress, directLocal, paused: admission.paused, ...(check.proxy ? { proxy: check.proxy } : {}) }
            if (server.upgrade(req, { data })) return undefined
            hub.release(connId)
            return new Response("WebSocket upgrade failed", { status: 400 })
          }
        }
        // The remote address rides along as the app's env (the HTTP auth limiter keys on it).
        return app.fetch(req, { remoteAddress: server.requestIP(req)?.address ?? "unknown" })
      },
      websocket: {
        // Frames above the advertised maxPayload are closed with 1009 by Bun itself.
        maxPayloadLength: opts.maxPayloadBytes,
        // OpenClaw does not negotiate compression; neither do we (cheaper, and clients do not expect it).
        perMessageDeflate: false,
        idleTimeout: 0,
        sendPings: false,
        backpressureLimit: 64 * 1024 * 1024,
        closeOnBackpressureLimit: false,
        open: (ws) => hub.open(ws),
        message: (ws, msg) => hub.message(ws, msg),
        close: (ws, code) => hub.closed(ws, code),
      },
    })
  } catch (err) {
    const e = err as { code?: string; message?: string }
    if (e.code === "EADDRINUSE" || /in use/i.test(e.message ?? "")) {
      throw new ListenError(
        {
          host: opts.host,
          port: opts.port,
          message:
            `port ${opts.port} on ${opts.host} is already in use: another gateway is probably running (check with 'gateway health'), ` +
            `or pick another port with --port`,
        },
        { cause: err },
      )
    }
    throw new ListenError({ host: opts.host, port: opts.port, message: `cannot listen on ${opts.host}:${opts.port}: ${e.message}` }, { cause: err })
  }
}
