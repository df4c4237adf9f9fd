/**
 * The WebSocket client used by CLI commands, tests and benchmarks: challenge → connect → typed requests matched by
 * id, events delivered to listeners, clear errors for every way a connection can fail.
 */
import {
  HelloOk,
  PROTOCOL_VERSION,
  type ErrorShape,
  type EventFrame,
  type MethodName,
  type MethodParams,
  type MethodResult,
  type ResponseFrame,
} from "../protocol/index.ts"
import { VERSION } from "../version.ts"

export interface ConnectOptions {
  url: string
  token?: string
  password?: string
  scopes?: string[]
  role?: "operator" | "node"
  clientId?: string
  mode?: "cli" | "backend" | "probe" | "test" | "ui" | "webchat" | "node" | "worker"
  displayName?: string
  caps?: string[]
  minProtocol?: number
  maxProtocol?: number
  /** How long to wait for the socket, the challenge and hello-ok together. */
  timeoutMs?: number
}

export interface RequestOptions {
  timeoutMs?: number
  /** Keep waiting past an `accepted` interim reply for the final one (two-stage methods such as `agent`). */
  expectFinal?: boolean
}

/** The gateway could not be reached at all (nothing listening, DNS, refused). */
export class GatewayUnreachableError extends Error {
  constructor(
    readonly url: string,
    detail: string,
  ) {
    super(`gateway not reachable at ${url} (${detail}). Start it with 'gateway run' (or 'gateway install' for a service).`)
    this.name = "GatewayUnreachableError"
  }
}

/** The gateway answered with an error frame. */
export class GatewayRequestError extends Error {
  readonly code: string
  readonly details?: Record<string, unknown>
  constructor(readonly error: ErrorShape) {
    super(error.message)
    this.name = "GatewayRequestError"
    this.code = error.code
    this.details = error.details
  }
}

/** The socket closed or timed out before an answer came. */
export class GatewayClosedError extends Error {
  constructor(
    message: string,
    readonly closeCode?: number,
  ) {
    super(message)
    this.name = "GatewayClosedError"
  }
}

interface Pending {
  resolve(payload: unknown): void
  reject(err: Error): void
  expectFinal: boolean
  timer?: Timer
}

type EventListener = (event: EventFrame) => void

const ALL_SCOPES = ["operator.admin", "operator.read", "operator.write", "operator.approvals", "operator.pairing"]

export class GatewayClient {
  hello!: HelloOk
  private ws!: WebSocket
  private pending = new Map<string, Pending>()
  private listeners = new Set<EventListener>()
  private nextId = 1
  private closeInfo: { code: number; reason: string } | undefined
  private closeWaiters: ((info: { code: number; reason: string }) => void)[] = []

  private constructor(readonly options: ConnectOptions) {}

  static async connect(options: ConnectOptions): Promise<GatewayClient> {
    const client = new GatewayClient(options)
    await client.open()
    return client
  }

  private open(): Promise<void> {
    const o = this.options
    const timeoutMs = o.timeoutMs ?? 10_000
    return new Promise<void>((resolve, reject) => {
      let settled = false
      let opened = false
      const fail = (err: Error) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        try {
          this.ws.close()
        } catch {}
        reject(err)
      }
      const timer = setTimeout(() => fail(new GatewayClosedError(`no hello from ${o.url} within ${timeoutMs} ms`)), timeoutMs)
      try {
        this.ws = new WebSocket(o.url)
      } catch (err) {
        return fail(new GatewayUnreachableError(o.url, (err as Error).message))
      }
      this.ws.onopen = () => {
        opened = true
      }
      this.ws.onerror = () => {
        if (!opened) fail(new GatewayUnreachableError(o.url, "connection refused"))
      }
      this.ws.onclose = (ev) => {
        this.closeInfo = { code: ev.code, reason: ev.reason }
        for (const w of this.closeWaiters.splice(0)) w(this.closeInfo)
        const err = new GatewayClosedError(`connection closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`, ev.code)
        for (const p of this.pending.values()) {
          clearTimeout(p.timer)
          p.reject(err)
        }
        this.pending.clear()
        if (!opened) fail(new GatewayUnreachableError(o.url, "connection refused"))
        else fail(err)
      }
      this.ws.onmessage = (ev) => {
        let frame: { type?: string; event?: string; id?: string }
        try {
          frame = JSON.parse(String(ev.data))
        } catch {
          return
        }
        if (!settled && frame.type === "event" && frame.event === "connect.challenge") {
          this.sendConnect().then(
            (hello) => {
              if (settled) return
              settled = true
              clearTimeout(timer)
              this.hello = hello
              resolve()
            },
            (err) => fail(err),
          )
          return
        }
        this.onFrame(frame as ResponseFrame | EventFrame)
      }
    })
  }

  private async sendConnect(): Promise<HelloOk> {
    const o = this.options
    const auth: Record<string, string> = {}
    if (o.token) auth.token = o.token
    if (o.password) auth.password = o.password
    const params = {
      minProtocol: o.minProtocol ?? PROTOCOL_VERSION,
      maxProtocol: o.maxProtocol ?? PROTOCOL_VERSION,
      client: {
        id: o.clientId ?? "cli",
        displayName: o.displayName,
        version: VERSION,
        platform: process.platform,
        deviceFamily: process.platform === "linux" ? "Linux" : process.platform,
        mode: o.mode ?? "cli",
        instanceId: crypto.randomUUID(),
      },
      caps: o.caps ?? [],
      auth,
      role: o.role ?? "operator",
      scopes: o.scopes ?? ALL_SCOPES,
    }
    const payload = await this.rawRequest("connect", params, { timeoutMs: o.timeoutMs ?? 10_000 })
    return HelloOk.parse(payload)
  }

  private onFrame(frame: ResponseFrame | EventFrame): void {
    if (frame.type === "res") {
      const p = this.pending.get(frame.id)
      if (!p) return
      if (frame.ok && p.expectFinal && (frame.payload as { status?: string } | undefined)?.status === "accepted") return
      this.pending.delete(frame.id)
      clearTimeout(p.timer)
      if (frame.ok) p.resolve(frame.payload)
      else p.reject(new GatewayRequestError(frame.error ?? { code: "UNAVAILABLE", message: "error without details" }))
    } else if (frame.type === "event") {
      for (const l of this.listeners) l(frame)
    }
  }

  /** Any method by name, untyped (used by `gateway call`). */
  rawRequest(method: string, params?: unknown, opts: RequestOptions = {}): Promise<unknown> {
    if (this.closeInfo) return Promise.reject(new GatewayClosedError(`connection closed (${this.closeInfo.code})`, this.closeInfo.code))
    const id = String(this.nextId++)
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, expectFinal: !!opts.expectFinal }
      const timeoutMs = opts.timeoutMs ?? 30_000
      if (timeoutMs > 0) {
        pending.timer = setTimeout(() => {
          this.pending.delete(id)
          reject(new GatewayClosedError(`${method}: no reply within ${timeoutMs} ms`))
        }, timeoutMs)
      }
      this.pending.set(id, pending)
      const frame: Record<string, unknown> = { type: "req", id, method }
      if (params !== undefined) frame.params = params
      this.ws.send(JSON.stringify(frame))
    })
  }

  /** A method of the protocol table, typed by its schemas. */
  request<M extends MethodName>(method: M, params?: MethodParams<M>, opts?: RequestOptions): Promise<MethodResult<M>> {
    return this.rawRequest(method, params, opts) as Promise<MethodResult<M>>
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Resolves with the close code and reason once the socket closes (for tests of server-initiated closes). */
  closed(): Promise<{ code: number; reason: string }> {
    if (this.closeInfo) return Promise.resolve(this.closeInfo)
    return new Promise((resolve) => this.closeWaiters.push(resolve))
  }

  close(): void {
    try {
      this.ws.close()
    } catch {}
  }
}
