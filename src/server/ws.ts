/**
 * The WebSocket connection state machine on Bun's native handlers: admission → challenge → connect → ready,
 * per-connection event seq, backpressure, pings, ticks and shutdown. The only module that writes to sockets.
 *
 * Fan-out is built to stay linear with a thousand clients: a broadcast frame is serialised once and only its seq is
 * written per connection; presence changes are coalesced into at most one presence event per PRESENCE_WINDOW_MS;
 * a connect or a close does O(1) work besides the hello-ok it sends.
 */
import { agentIds } from "../agent/agents.ts"
import type { ServerWebSocket } from "bun"
import type { GatewayServices } from "../methods/index.ts"
import {
  CloseCode,
  GatewayError,
  MAX_PREAUTH_PAYLOAD_BYTES,
  errRes,
  eventFrame,
  okRes,
  type ClientInfo,
  type ConnectParams,
  type HelloOk,
  type Scope,
  type StateVersion,
} from "../protocol/index.ts"
import { METHODS, EVENTS, hasScope } from "../protocol/index.ts"
import type { Logger } from "../util/log.ts"
import type { AuthRateLimiter } from "./auth-rate-limit.ts"
import { dispatch } from "./dispatch.ts"
import { runHandshake, type HandshakeAccepted } from "./handshake.ts"
import type { WireBroadcast } from "./broadcaster.ts"
import { sharedEvent, withSeq, type SharedEvent } from "./event-text.ts"
import { PreauthGate, type Admission, type PreauthLimits } from "./preauth.ts"
import type { ProxyIdentity } from "./exposure.ts"
import { PresenceSchedule, type PresenceRegistry } from "./presence.ts"
import type { CallerInfo } from "../methods/context.ts"

export interface SocketData {
  connId: string
  remoteAddress: string
  /** A loopback socket with no proxy headers and a local Host (server/exposure.ts isDirectLocal), set at the upgrade. */
  directLocal?: boolean
  /** Admitted but queued (see preauth.ts): nothing is read from the socket until an earlier one frees its turn. */
  paused?: boolean
  /** trusted-proxy mode: the user the proxy authenticated (checked before the upgrade, server/exposure.ts). */
  proxy?: ProxyIdentity
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
  /** The nonce of this connection's connect.challenge (a device signs it). */
  nonce?: string
  /** Frames that arrived while a device's connect was being checked (async); replayed after hello-ok. */
  held?: (string | Buffer)[]
  /** Admitted by its device token rather than the shared secret (revoking the token closes it). */
  byDeviceToken?: boolean
}

/** Frames a client may send while its device is checked; more closes the socket (nobody pipelines this much). */
const MAX_HELD_FRAMES = 32

/** Presence events are coalesced: the first change in a quiet period goes out at once, later ones once per window. */
const PRESENCE_WINDOW_MS = 250
/**
 * Every presence event carries the whole list to every client, so its cost is entries × clients: a thousand clients
 * make a 250 KB list sent a thousand times. The window stretches so that presence fan-out stays under this rate.
 */
const PRESENCE_BYTES_PER_SEC = 32 * 1024 * 1024
/** A presence event is written in slices of about this many bytes per turn of the event loop, so requests between
 * slices are answered within milliseconds instead of waiting for the whole fan-out. */
const PRESENCE_SLICE_BYTES = 4 * 1024 * 1024
/** This many closes within 10 s (a mass disconnect) ask the GC to run soon, see reclaimAfterMassClose(). */
const MASS_CLOSE = 200

/** Stands in for the presence list while hello-ok is serialised; replaced by the registry's cached JSON text. */
const PRESENCE_SLOT = "\u0000presence-slot\u0000"
const PRESENCE_SLOT_JSON = JSON.stringify(PRESENCE_SLOT)

/** The serialised hello-ok with the presence list's text in its slot (the only server-made string in it). */
function withPresence(helloText: string, presenceJson: string): string {
  const at = helloText.indexOf(PRESENCE_SLOT_JSON)
  return helloText.slice(0, at) + presenceJson + helloText.slice(at + PRESENCE_SLOT_JSON.length)
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
  /** The connections past hello-ok, which are all a broadcast has to visit. */
  private readyConns = new Set<Connection>()
  private limiter: AuthRateLimiter
  private preauth: PreauthGate
  private healthVersion = 1
  private ready = false
  private stopping = false
  private presenceSchedule: PresenceSchedule
  private closesSinceGc = 0
  private closeBurstAt = 0
  private gcTimer: Timer | undefined
  private refusals = 0
  private refusalLogAt = 0

  constructor(
    private gw: GatewayServices,
    private presence: PresenceRegistry,
    private limits: () => WsLimits,
    private log: Logger,
  ) {
    this.limiter = gw.authLimiter
    this.preauth = new PreauthGate((): PreauthLimits => gw.config.current.gateway.preauth)
    this.presenceSchedule = new PresenceSchedule(
      (done) => this.broadcastPresence(done),
      (bytes) => Math.max(PRESENCE_WINDOW_MS, Math.round((bytes / PRESENCE_BYTES_PER_SEC) * 1000)),
    )
  }

  get size(): number {
    return this.conns.size
  }

  setReady(ready: boolean): void {
    this.ready = ready
  }

  /**
   * Called before the upgrade: reserves an unauthenticated slot for `connId`, or says why the upgrade is refused.
   * The slot is freed at hello-ok or close, or by `release` when the upgrade did not happen.
   */
  admit(connId: string, remoteAddress: string): Admission {
    const admission = this.preauth.admit(connId, remoteAddress)
    if (!admission.ok) this.noteRefusal(remoteAddress, admission.message)
    return admission
  }

  /** Frees `connId`'s unauthenticated slot and resumes the queued sockets that may now be read. */
  release(connId: string): void {
    for (const id of this.preauth.release(connId)) this.conns.get(id)?.ws.resume()
  }

  /** One warning per 10 s at most, with the count: a flood of refusals must not become a flood of log lines. */
  noteRefusal(remoteAddress: string, message: string): void {
    this.refusals++
    const now = Date.now()
    if (now - this.refusalLogAt < 10_000) return
    this.log.warn(`upgrade refused: ${message}`, { remoteAddress, refusedSinceLastWarning: this.refusals })
    this.refusals = 0
    this.refusalLogAt = now
  }

  // ---- Bun websocket handlers -------------------------------------------------------------------------------

  open(ws: ServerWebSocket<SocketData>): void {
    const conn: Connection = { id: ws.data.connId, ws, remoteAddress: ws.data.remoteAddress, state: "handshake", seq: 0, inflight: new Map() }
    this.conns.set(conn.id, conn)
    if (ws.data.paused) ws.pause()
    const nonce = crypto.randomUUID()
    conn.nonce = nonce
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
    if (conn.held) {
      // Still before hello-ok: the pre-auth frame cap applies to held frames as it does to the connect itself.
      const size = typeof message === "string" ? Buffer.byteLength(message) : message.byteLength
      if (size > MAX_PREAUTH_PAYLOAD_BYTES) return this.close(conn, CloseCode.tooBig, "frame too large before hello-ok")
      if (conn.held.length >= MAX_HELD_FRAMES) return this.close(conn, CloseCode.policyViolation, "too many frames before hello-ok")
      conn.held.push(message)
      return
    }
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

    const result = runHandshake(f.params, { auth: this.gw.auth, remoteAddress: conn.remoteAddress, limiter: this.limiter, proxy: conn.ws.data.proxy })
    if (!result.ok) {
      this.log.warn(`connect rejected: ${result.error.message}`, { connId: conn.id, remoteAddress: conn.remoteAddress, code: result.error.details?.code })
      return this.rejectHandshake(conn, f.id, result.error, result.closeCode)
    }
    // A signed device is checked asynchronously (WebCrypto) against its pairing; everyone else is answered at once.
    if (result.params.device?.signature || !result.sharedSecret) return this.admitDevice(conn, f.id, result)
    this.accept(conn, f.id, result)
  }

  private admitDevice(conn: Connection, id: string, result: HandshakeAccepted): void {
    conn.held = []
    const p = result.params
    this.gw.devices
      .admit({
        device: p.device,
        challengeNonce: conn.nonce ?? "",
        client: p.client,
        role: result.role,
        signedScopes: p.scopes ?? [],
        scopes: result.scopes,
        auth: p.auth,
        sharedSecret: result.sharedSecret,
        authError: result.authError,
        remoteAddress: conn.remoteAddress,
        // Direct-local only: a reverse proxy on this host connects from loopback on a remote visitor's behalf.
        loopback: conn.ws.data.directLocal === true && !conn.ws.data.proxy,
      })
      .then(
        (admitted) => {
          if (conn.state !== "handshake") return
          const held = conn.held ?? []
          conn.held = undefined
          if (!admitted.ok) {
            if (admitted.authFailed) this.limiter.recordFailure(conn.remoteAddress)
            this.log.warn(`connect rejected: ${admitted.error.message}`, {
              connId: conn.id,
              remoteAddress: conn.remoteAddress,
              code: admitted.error.details?.code,
            })
            return this.rejectHandshake(conn, id, admitted.error, admitted.closeCode)
          }
          if (!result.sharedSecret) this.limiter.recordSuccess(conn.remoteAddress)
          this.accept(conn, id, { ...result, scopes: admitted.scopes as Scope[] }, admitted)
          for (const frame of held) this.message(conn.ws, frame)
        },
        (err) => {
          this.log.error("device admission failed", { connId: conn.id, error: String(err) })
          if (conn.state !== "handshake") return
          const unavailable = new GatewayError("UNAVAILABLE", "device check failed; retry shortly", undefined, { retryable: true })
          this.rejectHandshake(conn, id, unavailable, CloseCode.tryAgainLater)
        },
      )
  }

  /** hello-ok: the connection is ready. */
  private accept(conn: Connection, id: string, result: HandshakeAccepted, device?: { deviceId?: string; deviceToken?: string; issuedAtMs?: number }): void {
    const f = { id }
    clearTimeout(conn.handshakeTimer)
    this.release(conn.id)
    conn.state = "ready"
    this.readyConns.add(conn)
    conn.protocol = result.protocol
    conn.caller = {
      connId: conn.id,
      role: result.role,
      scopes: result.scopes,
      client: result.client,
      caps: result.caps,
      remoteAddress: conn.remoteAddress,
      ...(device?.deviceId ? { deviceId: device.deviceId } : {}),
    }
    conn.byDeviceToken = !result.sharedSecret
    const admin = hasScope(result.scopes, "operator.admin")
    const cfg = this.gw.config.current
    const limits = this.limits()
    const defaultAgent = agentIds(cfg).defaultId
    const hello: HelloOk = {
      type: "hello-ok",
      protocol: result.protocol,
      server: { version: this.gw.version, connId: conn.id, bootId: this.gw.bootId },
      features: { methods: FEATURE_METHODS, events: FEATURE_EVENTS },
      snapshot: {
        // Exact at this moment; spliced in as the registry's cached text instead of serialising every entry again.
        presence: PRESENCE_SLOT as unknown as HelloOk["snapshot"]["presence"],
        health: this.gw.health(),
        stateVersion: this.stateVersion(),
        uptimeMs: Date.now() - this.gw.startedAt,
        sessionDefaults: {
          defaultAgentId: defaultAgent,
          modelConfigured: !!cfg.models.default,
          mainKey: "main",
          mainSessionKey: `agent:${defaultAgent}:main`,
          scope: "per-sender",
        },
        ...(admin ? { configPath: this.gw.paths.config, stateDir: this.gw.paths.home, authMode: this.gw.auth.mode } : {}),
      },
      auth: {
        method: result.sharedSecret ? result.authMethod : "device-token",
        role: result.role,
        scopes: result.scopes,
        ...(device?.deviceToken ? { deviceToken: device.deviceToken, issuedAtMs: device.issuedAtMs } : {}),
      },
      policy: { maxPayload: limits.maxPayloadBytes, maxBufferedBytes: limits.maxBufferedBytes, tickIntervalMs: limits.tickIntervalMs },
    }
    this.sendRaw(conn, withPresence(JSON.stringify(okRes(f.id, hello)), this.presence.json()))
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
        ...(device?.deviceId ? { deviceId: device.deviceId } : {}),
        ts: Date.now(),
      })
      this.presenceSchedule.changed()
    }
    if (result.role === "node") this.attachNode(conn, result.params, result.client, device?.deviceId)
  }

  /**
   * A node connection joins the node registry with what it declared (commands, caps, permissions) and a way to get
   * `node.invoke.request` events: sent to this one socket, with its next seq. Its id is its device id when it signed
   * one, else the instanceId it keeps across restarts (the node host's), else its client id.
   */
  private attachNode(conn: Connection, params: ConnectParams, client: ClientInfo, deviceId: string | undefined): void {
    this.gw.nodes.attach({
      connId: conn.id,
      nodeId: deviceId ?? client.instanceId ?? client.id,
      displayName: client.displayName,
      platform: client.platform,
      version: client.version,
      deviceFamily: client.deviceFamily,
      remoteIp: conn.remoteAddress,
      caps: params.caps ?? [],
      commands: params.commands ?? [],
      permissions: params.permissions,
      connectedAtMs: Date.now(),
      send: (request) => {
        if (conn.state !== "ready") return false
        conn.seq += 1
        this.sendReply(conn, JSON.stringify(eventFrame("node.invoke.request", request, conn.seq)))
        return conn.state === "ready"
      },
    })
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

  /** Fans one wire event out to every ready connection allowed to see it (called by the broadcaster). */
  broadcast(msg: WireBroadcast): void {
    this.fanOut(msg, () => JSON.stringify(msg.payload))
  }

  /**
   * The fan-out: the frame is serialised once, on the first recipient (not at all when nobody may see it), and each
   * connection gets it with its own next seq.
   */
  private fanOut(msg: Omit<WireBroadcast, "payload">, payloadJson: () => string): void {
    let shared: SharedEvent | undefined
    const maxBuffered = this.limits().maxBufferedBytes
    for (const conn of this.readyConns) {
      if (msg.scope && !hasScope(conn.caller!.scopes, msg.scope)) continue
      if (msg.cap && !conn.caller!.caps.includes(msg.cap)) continue
      if (conn.ws.getBufferedAmount() > maxBuffered && !msg.dropIfSlow) {
        conn.seq += 1
        this.slowConsumer(conn)
        continue
      }
      shared ??= sharedEvent(msg.event, payloadJson(), msg.stateVersion)
      this.sendShared(conn, shared, maxBuffered)
    }
  }

  /** One shared event to one ready connection with its next seq; returns the bytes written (0 when dropped). */
  private sendShared(conn: Connection, shared: SharedEvent, maxBuffered: number): number {
    conn.seq += 1
    // A dropped event still consumes its seq, so the client sees the gap and refetches.
    if (conn.ws.getBufferedAmount() > maxBuffered) return 0
    const text = withSeq(shared, conn.seq)
    conn.ws.send(text)
    return text.length
  }

  stateVersion(): StateVersion {
    return { presence: this.presence.version, health: this.healthVersion }
  }

  /** Called by the health timer: bumps the health version and broadcasts. */
  nextHealthVersion(): StateVersion {
    this.healthVersion += 1
    return this.stateVersion()
  }

  /**
   * One presence event to everyone ready now (presence goes to every scope), written in slices. Connections that join
   * meanwhile had the exact list in hello-ok and get the next event; those that leave are skipped. Presence is always
   * droppable for a slow client (the next event carries the whole list again).
   */
  private broadcastPresence(done: (bytes: number) => void): void {
    const targets = [...this.readyConns]
    if (!targets.length) return done(0)
    const shared = sharedEvent("presence", `{"presence":${this.presence.json()}}`, this.stateVersion())
    const maxBuffered = this.limits().maxBufferedBytes
    let i = 0
    let bytes = 0
    const slice = () => {
      const sliceEnd = bytes + PRESENCE_SLICE_BYTES
      for (; i < targets.length && bytes < sliceEnd && !this.stopping; i++) {
        const conn = targets[i]!
        if (conn.state === "ready") bytes += this.sendShared(conn, shared, maxBuffered)
      }
      if (i < targets.length && !this.stopping) setImmediate(slice)
      else done(bytes)
    }
    slice()
  }

  /** A device lost access (nodes/devices.ts): its connections (or those that used the revoked token) close with 1008. */
  closeDevice(deviceId: string, opts: { role?: string; tokenOnly: boolean; reason: string }): void {
    for (const conn of [...this.readyConns]) {
      const c = conn.caller
      if (c?.deviceId !== deviceId || (opts.role && c.role !== opts.role) || (opts.tokenOnly && !conn.byDeviceToken)) continue
      this.log.info("closing a connection of a device that lost access", { connId: conn.id, deviceId, reason: opts.reason })
      this.close(conn, CloseCode.policyViolation, opts.reason)
    }
  }

  /** Keepalive tick on the gateway-wide beat. */
  tick(): void {
    this.broadcast({ event: "tick", payload: { ts: Date.now() }, dropIfSlow: true })
  }

  /** Protocol-level pings keep NAT mappings and proxies alive. */
  pingAll(): void {
    for (const conn of this.conns.values()) conn.ws.ping()
  }

  // ---- closing ----------------------------------------------------------------------------------------------------

  private forget(conn: Connection): void {
    if (conn.state === "closed" && !this.conns.has(conn.id)) return
    const wasReady = conn.state === "ready"
    conn.state = "closed"
    clearTimeout(conn.handshakeTimer)
    this.release(conn.id)
    for (const a of conn.inflight.values()) a.abort()
    conn.inflight.clear()
    this.conns.delete(conn.id)
    this.readyConns.delete(conn)
    if (wasReady && this.presence.remove(conn.id)) this.presenceSchedule.changed()
    if (wasReady && conn.caller?.role === "node") this.gw.nodes.detach(conn.id)
    this.reclaimAfterMassClose()
  }

  /**
   * After a mass disconnect what the connections held stays resident until the next collection, and an idle gateway
   * allocates too little for JSC to run one soon (measured: ~15 MB still held 10 s after 1,000 closes). One collection
   * a second after the burst returns it; a burst is MASS_CLOSE closes within 10 s, so ordinary churn never forces one.
   */
  private reclaimAfterMassClose(): void {
    const now = Date.now()
    // Only a burst counts: closes spread over time are ordinary churn that the GC keeps up with on its own.
    if (now - this.closeBurstAt > 10_000) {
      this.closeBurstAt = now
      this.closesSinceGc = 0
    }
    if (++this.closesSinceGc < MASS_CLOSE || this.gcTimer) return
    this.gcTimer = setTimeout(() => {
      this.gcTimer = undefined
      this.closesSinceGc = 0
      Bun.gc(true)
    }, 1000)
    this.gcTimer.unref()
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
    this.presenceSchedule.stop()
    clearTimeout(this.gcTimer)
    this.broadcast({ event: "shutdown", payload: restartExpectedMs === undefined ? { reason } : { reason, restartExpectedMs } })
    for (const conn of [...this.conns.values()]) this.close(conn, CloseCode.serviceRestart, "service restart")
  }
}
