/**
 * The WebSocket connection state machine on Bun's native handlers: challenge → connect → ready, per-connection event
 * seq, backpressure, pings, ticks and shutdown. The only module that writes to sockets.
 */
import type { ServerWebSocket } from "bun"
import type { GatewayServices } from "../methods/index.ts"
import { CloseCode, GatewayError, MAX_PREAUTH_PAYLOAD_BYTES, errRes, eventFrame, okRes, type HelloOk, type StateVersion } from "../protocol/index.ts"
import { METHODS, EVENTS, hasScope } from "../protocol/index.ts"
import type { Logger } from "../util/log.ts"
import { AuthRateLimiter } from "./auth-rate-limit.ts"
import { dispatch } from "./dispatch.ts"
import { runHandshake } from "./handshake.ts"
import type { WireBroadcast } from "./broadcaster.ts"
import type { PresenceRegistry } from "./presence.ts"
import type { CallerInfo } from "../methods/context.ts"

export interface SocketData {
  connId: string
  remoteAddress: string
}

interface Connection {
  id: string
  ws: ServerWebSocket<SocketData>
  remoteAddress: string
  state: "handshake" | "ready" | "closed"
  seq: number
  handshakeTimer?: Timer
  caller?: CallerInfo
  protocol?: number
  /** Requests still running, so a disconnect can abort them. */
  inflight: Map<string, AbortController>
}

export interface WsLimits {
  handshakeTimeoutMs: number
  maxPayloadBytes: number
  maxBufferedBytes: number
  tickIntervalMs: number
}

const FEATURE_METHODS = Object.keys(METHODS)
const FEATURE_EVENTS = Object.keys(EVENTS)

/** Close reasons are limited to 123 bytes by the WebSocket spec. */
function reasonText(text: string): string {
  const buf = Buffer.from(text)
  return buf.length <= 123
    ? text
    : buf
        .subarray(0, 120)
        .toString("utf8")
        .replace(/\uFFFD+$/, "")
}

export class WsHub {
  private conns = new Map<string, Connection>()
  private limiter: AuthRateLimiter
  private healthVersion = 1
  private ready = false
  private stopping = false

  constructor(
    private gw: GatewayServices,
    private presence: PresenceRegistry,
    private limits: () => WsLimits,
    private log: Logger,
  ) {
    this.limiter = gw.authLimiter
  }

  get size(): number {
    return this.conns.size
  }

  setReady(ready: boolean): void {
    this.ready = ready
  }

  // ---- Bun websocket handlers -------------------------------------------------------------------------------

  open(ws: ServerWebSocket<SocketData>): void {
    const conn: Connection = { id: ws.data.connId, ws, remoteAddress: ws.data.remoteAddress, state: "handshake", seq: 0, inflight: new Map() }
    this.conns.set(conn.id, conn)
    const nonce = crypto.randomUUID()
    ws.send(JSON.stringify(eventFrame("connect.challenge", { nonce, ts: Date.now() })))
    conn.handshakeTimer = setTimeout(() => {
      if (conn.state !== "handshake") return
      this.log.info("handshake timeout", { connId: conn.id, remoteAddress: conn.remoteAddress })
      this.close(conn, CloseCode.normal, "")
    }, this.limits().handshakeTimeoutMs)
  }

  message(ws: ServerWebSocket<SocketData>, message: string | Buffer): void {
    const conn = this.conns.get(ws.data.connId)
    if (!conn || conn.state === "closed") return
    if (conn.state === "handshake") this.onHandshakeFrame(conn, message)
    else this.onReadyFrame(conn, message)
  }

  closed(ws: ServerWebSocket<SocketData>, code: number): void {
    const conn = this.conns.get(ws.data.connId)
    if (!conn) return
    this.forget(conn)
    this.log.debug("connection closed", { connId: conn.id, code })
  }

  // ---- handshake ------------------------------------------------------------------------------------------------

  private onHandshakeFrame(conn: Connection, message: string | Buffer): void {
    const size = typeof message === "string" ? Buffer.byteLength(message) : message.byteLength
    if (size > MAX_PREAUTH_PAYLOAD_BYTES) return this.close(conn, CloseCode.tooBig, "frame too large before connect")
    let frame: unknown
    try {
      frame = JSON.parse(typeof message === "string" ? message : message.toString("utf8"))
    } catch {
      // OpenClaw closes an unparseable first frame silently with 1000.
      return this.close(conn, CloseCode.normal, "")
    }
    const f = frame as { type?: unknown; id?: unknown; method?: unknown; params?: unknown }
    if (typeof frame !== "object" || frame === null || f.type !== "req" || typeof f.id !== "string" || typeof f.method !== "string") {
      return this.close(conn, CloseCode.policyViolation, "invalid request frame")
    }
    if (f.method !== "connect") {
      return this.rejectHandshake(
        conn,
        f.id,
        new GatewayError("INVALID_REQUEST", "invalid handshake: first request must be connect"),
        CloseCode.policyViolation,
      )
    }
    if (!this.ready) {
      const err = new GatewayError("UNAVAILABLE", "gateway starting; retry shortly", { reason: "startup" }, { retryable: true, retryAfterMs: 500 })
      return this.rejectHandshake(conn, f.id, err, CloseCode.tryAgainLater)
    }

    const result = runHandshake(f.params, { auth: this.gw.auth, remoteAddress: conn.remoteAddress, limiter: this.limiter })
    if (!result.ok) {
      this.log.warn(`connect rejected: ${result.error.message}`, { connId: conn.id, remoteAddress: conn.remoteAddress, code: result.error.details?.code })
      return this.rejectHandshake(conn, f.id, result.error, result.closeCode)
    }

    clearTimeout(conn.handshakeTimer)
    conn.state = "ready"
    conn.protocol = result.protocol
    conn.caller = {
      connId: conn.id,
      role: result.role,
      scopes: result.scopes,
      client: result.client,
      caps: result.caps,
      remoteAddress: conn.remoteAddress,
    }
    const admin = hasScope(result.scopes, "operator.admin")
    const cfg = this.gw.config.current
    const limits = this.limits()
    const hello: HelloOk = {
      type: "hello-ok",
      protocol: result.protocol,
      server: { version: this.gw.version, connId: conn.id, bootId: this.gw.bootId },
      features: { methods: FEATURE_METHODS, events: FEATURE_EVENTS },
      snapshot: {
        presence: this.presence.list(),
        health: this.gw.health(),
        stateVersion: this.stateVersion(),
        uptimeMs: Date.now() - this.gw.startedAt,
        sessionDefaults: {
          defaultAgentId: "main",
          modelConfigured: !!cfg.models.default,
          mainKey: "main",
          mainSessionKey: "agent:main:main",
          scope: "per-sender",
        },
        ...(admin ? { configPath: this.gw.paths.config, stateDir: this.gw.paths.home, authMode: this.gw.auth.mode } : {}),
      },
      auth: { method: result.authMethod, role: result.role, scopes: result.scopes },
      policy: { maxPayload: limits.maxPayloadBytes, maxBufferedBytes: limits.maxBufferedBytes, tickIntervalMs: limits.tickIntervalMs },
    }
    this.sendRaw(conn, JSON.stringify(okRes(f.id, hello)))
    this.log.debug("client connected", { connId: conn.id, client: result.client.id, mode: result.client.mode, scopes: result.scopes })

    if (result.client.mode !== "probe") {
      this.presence.add(conn.id, {
        host: result.client.displayName ?? result.client.id,
        ip: conn.remoteAddress,
        version: result.client.version,
        platform: result.client.platform,
        deviceFamily: result.client.deviceFamily,
        mode: result.client.mode,
        reason: "connect",
        instanceId: result.client.instanceId,
        roles: [result.role],
        scopes: result.scopes,
        connId: conn.id,
        ts: Date.now(),
      })
      this.broadcastPresence()
    }
  }

  private rejectHandshake(conn: Connection, id: string, err: GatewayError, code: number): void {
    this.sendRaw(conn, JSON.stringify(errRes(id, err)))
    this.close(conn, code, err.message)
  }

  // ---- after hello ------------------------------------------------------------------------------------------------

  private onReadyFrame(conn: Connection, message: string | Buffer): void {
    let frame: unknown
    try {
      frame = JSON.parse(typeof message === "string" ? message : message.toString("utf8"))
    } catch {
      // No id to answer to; OpenClaw ignores it too and the socket stays usable.
      this.log.debug("ignored unparseable frame", { connId: conn.id })
      return
    }
    const f = frame as { type?: unknown; id?: unknown }
    if (f && f.type === "cancel" && typeof f.id === "string") {
      conn.inflight.get(f.id)?.abort()
      return
    }
    const id = typeof f?.id === "string" ? f.id : undefined
    const abort = new AbortController()
    if (id) conn.inflight.set(id, abort)
    const ctx = {
      gw: this.gw,
      caller: conn.caller!,
      signal: abort.signal,
      interim: (payload: unknown) => {
        if (id && conn.state === "ready") this.sendReply(conn, JSON.stringify(okRes(id, payload)))
      },
    }
    dispatch(frame, ctx, this.log).then(
      (res) => {
        if (id) conn.inflight.delete(id)
        if (res && conn.state === "ready") this.sendReply(conn, JSON.stringify(res))
      },
      (err) => this.log.error("dispatch crashed", { error: String(err) }),
    )
  }

  // ---- sending ----------------------------------------------------------------------------------------------------

  private sendRaw(conn: Connection, text: string): void {
    conn.ws.send(text)
  }

  /** Replies are never dropped: a client too slow to take them is disconnected instead. */
  private sendReply(conn: Connection, text: string): void {
    if (conn.ws.getBufferedAmount() > this.limits().maxBufferedBytes) return this.slowConsumer(conn)
    conn.ws.send(text)
  }

  private slowConsumer(conn: Connection): void {
    this.log.warn("closing slow consumer", { connId: conn.id, bufferedBytes: conn.ws.getBufferedAmount() })
    this.close(conn, CloseCode.policyViolation, "slow consumer")
  }

  /** One event to one connection, with that connection's next seq. */
  private sendEvent(conn: Connection, msg: WireBroadcast): void {
    if (conn.state !== "ready") return
    conn.seq += 1
    if (conn.ws.getBufferedAmount() > this.limits().maxBufferedBytes) {
      // A dropped event still consumes its seq, so the client sees the gap and refetches.
      if (msg.dropIfSlow) return
      return this.slowConsumer(conn)
    }
    conn.ws.send(JSON.stringify(eventFrame(msg.event, msg.payload, conn.seq, msg.stateVersion)))
  }

  /** Fans one wire event out to every ready connection allowed to see it (called by the broadcaster). */
  broadcast(msg: WireBroadcast): void {
    for (const conn of this.conns.values()) {
      if (conn.state !== "ready") continue
      if (msg.scope && !hasScope(conn.caller!.scopes, msg.scope)) continue
      if (msg.cap && !conn.caller!.caps.includes(msg.cap)) continue
      this.sendEvent(conn, msg)
    }
  }

  stateVersion(): StateVersion {
    return { presence: this.presence.version, health: this.healthVersion }
  }

  /** Called by the health timer: bumps the health version and broadcasts. */
  nextHealthVersion(): StateVersion {
    this.healthVersion += 1
    return this.stateVersion()
  }

  broadcastPresence(): void {
    this.broadcast({ event: "presence", payload: { presence: this.presence.list() }, stateVersion: this.stateVersion(), dropIfSlow: true })
  }

  /** Keepalive tick on the gateway-wide beat. */
  tick(): void {
    this.broadcast({ event: "tick", payload: { ts: Date.now() }, dropIfSlow: true })
  }

  /** Protocol-level pings keep NAT mappings and proxies alive. */
  pingAll(): void {
    for (const conn of this.conns.values()) if (conn.state !== "closed") conn.ws.ping()
  }

  // ---- closing ----------------------------------------------------------------------------------------------------

  private forget(conn: Connection): void {
    if (conn.state === "closed" && !this.conns.has(conn.id)) return
    const wasReady = conn.state === "ready"
    conn.state = "closed"
    clearTimeout(conn.handshakeTimer)
    for (const a of conn.inflight.values()) a.abort()
    conn.inflight.clear()
    this.conns.delete(conn.id)
    if (wasReady && this.presence.remove(conn.id) && !this.stopping) this.broadcastPresence()
  }

  close(conn: Connection, code: number, reason: string): void {
    try {
      conn.ws.close(code, reasonText(reason))
    } catch {
      // already closed
    }
    this.forget(conn)
  }

  /** Shutdown: every socket gets `shutdown`, then close 1012. */
  shutdown(reason: string, restartExpectedMs?: number): void {
    this.stopping = true
    this.ready = false
    this.broadcast({ event: "shutdown", payload: restartExpectedMs === undefined ? { reason } : { reason, restartExpectedMs } })
    for (const conn of [...this.conns.values()]) this.close(conn, CloseCode.serviceRestart, "service restart")
  }
}
