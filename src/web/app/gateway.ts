/**
 * The page's WebSocket client: the same protocol as every other client (challenge → connect → req/res and events),
 * as OpenClaw's control UI connects (client id openclaw-control-ui, mode ui), with the `tool-events` capability so
 * the chat shows tool activity.
 */

export interface GatewayErrorShape {
  code: string
  message: string
  details?: { code?: string; [k: string]: unknown }
}

export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly detailCode?: string,
  ) {
    super(message)
  }
  /** A wrong or missing shared secret: ask the person for the token again. */
  get isAuth(): boolean {
    return (this.detailCode ?? "").startsWith("AUTH_") && this.detailCode !== "AUTH_RATE_LIMITED"
  }
}

export interface Hello {
  server: { version: string; connId: string }
  features: { methods: string[]; events: string[] }
  snapshot: { health?: Record<string, unknown>; sessionDefaults?: { mainSessionKey?: string }; [k: string]: unknown }
  auth?: { role: string; scopes: string[] }
}

type Frame = { type: "event"; event: string; payload?: unknown } | { type: "res"; id: string; ok: boolean; payload?: unknown; error?: GatewayErrorShape }

const SCOPES = ["operator.read", "operator.write", "operator.approvals", "operator.pairing"]
const CONNECT_TIMEOUT_MS = 15_000
const REQUEST_TIMEOUT_MS = 30_000

export class Gateway {
  private pending = new Map<string, { resolve(v: unknown): void; reject(e: Error): void; timer: number }>()
  private seq = 0
  private listeners = new Set<(event: string, payload: unknown) => void>()
  hello!: Hello
  private methods = new Set<string>()

  private constructor(private ws: WebSocket) {}

  /** Opens a socket to this page's origin and completes the handshake; rejects with RequestError when refused. */
  static open(url: string, token: string | undefined, onClose: (ev: CloseEvent) => void): Promise<Gateway> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url)
      const gw = new Gateway(ws)
      let done = false
      let opened = false
      const fail = (err: Error) => {
        if (done) return
        done = true
        clearTimeout(timer)
        ws.close()
        reject(err)
      }
      const timer = setTimeout(() => fail(new Error("the gateway did not answer the handshake")), CONNECT_TIMEOUT_MS)
      ws.onmessage = (msg) => {
        let frame: Frame
        try {
          frame = JSON.parse(String(msg.data)) as Frame
        } catch {
          return
        }
        if (!done && frame.type === "event" && frame.event === "connect.challenge") {
          ws.send(JSON.stringify({ type: "req", id: "connect", method: "connect", params: gw.connectParams(token) }))
          return
        }
        if (!done && frame.type === "res" && frame.id === "connect") {
          if (!frame.ok) return fail(toError(frame.error))
          done = true
          opened = true
          clearTimeout(timer)
          gw.hello = frame.payload as Hello
          gw.methods = new Set(gw.hello.features?.methods ?? [])
          resolve(gw)
          return
        }
        gw.dispatch(frame)
      }
      ws.onerror = () => fail(new Error("could not reach the gateway"))
      ws.onclose = (ev) => {
        if (!done) return fail(new Error(ev.reason || `the connection closed (${ev.code})`))
        // A socket that failed its handshake was already reported through the rejection.
        if (!opened) return
        for (const p of gw.pending.values()) p.reject(new Error("connection lost"))
        gw.pending.clear()
        onClose(ev)
      }
    })
  }

  private connectParams(token: string | undefined) {
    return {
      minProtocol: 4,
      maxProtocol: 4,
      client: {
        id: "openclaw-control-ui",
        displayName: "Gateway web page",
        version: "web",
        platform: (navigator.platform || "web").slice(0, 100),
        mode: "ui",
        instanceId: sessionStorage.getItem("gateway.instance") ?? newInstanceId(),
      },
      role: "operator",
      scopes: SCOPES,
      caps: ["tool-events"],
      ...(token ? { auth: { token } } : {}),
      locale: navigator.language,
      userAgent: navigator.userAgent.slice(0, 300),
    }
  }

  private dispatch(frame: Frame): void {
    if (frame.type === "res") {
      const p = this.pending.get(frame.id)
      if (!p) return
      // `agent` answers twice on one id; this page never calls it, every other method answers once.
      this.pending.delete(frame.id)
      clearTimeout(p.timer)
      if (frame.ok) p.resolve(frame.payload)
      else p.reject(toError(frame.error))
    } else if (frame.type === "event") {
      for (const fn of this.listeners) fn(frame.event, frame.payload)
    }
  }

  /** True when this gateway advertises the method (features added by other builds show up on their own). */
  has(method: string): boolean {
    return this.methods.has(method)
  }

  request<T = Record<string, unknown>>(method: string, params: unknown = {}): Promise<T> {
    const id = `w${++this.seq}`
    return new Promise<T>((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${method} timed out`))
      }, REQUEST_TIMEOUT_MS)
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer })
      this.ws.send(JSON.stringify({ type: "req", id, method, params }))
    })
  }

  onEvent(fn: (event: string, payload: unknown) => void): void {
    this.listeners.add(fn)
  }

  close(): void {
    this.ws.close(1000)
  }
}

function toError(e: GatewayErrorShape | undefined): RequestError {
  return new RequestError(e?.code ?? "UNKNOWN", e?.message ?? "request failed", e?.details?.code)
}

function newInstanceId(): string {
  const id = crypto.randomUUID()
  sessionStorage.setItem("gateway.instance", id)
  return id
}

/** ws:// or wss:// to the origin that served the page (the gateway's one port). */
export function gatewayUrl(): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/`
}
