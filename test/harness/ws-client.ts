/**
 * A minimal WebSocket client for in-process tests. Unlike src/client (which hides interim replies and throws on
 * error frames), it keeps every frame, so a test can assert on the wire: both replies of a two-stage `agent`
 * request, error shapes, event order and seq, and whether the socket is still open. Waits are event-driven (a frame
 * or the close wakes them) and bounded.
 */
import { PROTOCOL_VERSION } from "../../src/protocol/index.ts"

export interface Frame {
  type: string
  id?: string
  ok?: boolean
  payload?: any
  error?: { code: string; message: string; details?: Record<string, any>; retryable?: boolean; retryAfterMs?: number }
  event?: string
  seq?: number
  [k: string]: unknown
}

export interface ConnectOptions {
  token?: string
  scopes?: string[]
  caps?: string[]
  role?: string
  /** Extra or replacement connect params (auth, client, protocol range …). */
  params?: Record<string, unknown>
  timeoutMs?: number
}

export const ALL_SCOPES = ["operator.read", "operator.write", "operator.admin", "operator.approvals", "operator.pairing"]

interface Waiter {
  pred: (f: Frame) => boolean
  resolve(f: Frame): void
  reject(e: Error): void
  timer: Timer
  what: string
}

export class TestClient {
  readonly frames: Frame[] = []
  closeInfo: { code: number; reason: string } | undefined
  /** hello-ok payload, after connect(). */
  hello: any
  private waiters = new Set<Waiter>()
  private closeWaiters: (() => void)[] = []
  private nextId = 0

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (ev) => {
      let f: Frame
      try {
        f = JSON.parse(String(ev.data))
      } catch {
        f = { type: "unparseable", raw: String(ev.data) }
      }
      this.frames.push(f)
      for (const w of [...this.waiters]) {
        if (!w.pred(f)) continue
        this.waiters.delete(w)
        clearTimeout(w.timer)
        w.resolve(f)
      }
    }
    ws.onclose = (ev) => {
      this.closeInfo = { code: ev.code, reason: ev.reason }
      for (const w of [...this.waiters]) {
        clearTimeout(w.timer)
        w.reject(new Error(`socket closed (${ev.code} ${ev.reason}) while waiting for ${w.what}; last frames: ${this.tail()}`))
      }
      this.waiters.clear()
      for (const w of this.closeWaiters.splice(0)) w()
    }
  }

  /** Opens a socket and waits for the challenge, without connecting (handshake tests send their own frames). */
  static async open(url: string, timeoutMs = 5000, headers?: Record<string, string>): Promise<TestClient> {
    // Bun's WebSocket takes request headers (e.g. a proxy's X-Forwarded-For) as its second argument.
    const ws = headers ? new WebSocket(url, { headers } as unknown as string[]) : new WebSocket(url)
    const c = new TestClient(ws)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cannot open ${url} within ${timeoutMs} ms`)), timeoutMs)
      ws.onopen = () => {
        clearTimeout(timer)
        resolve()
      }
      ws.onerror = () => {
        clearTimeout(timer)
        reject(new Error(`cannot open ${url}`))
      }
    })
    await c.waitFor((f) => f.type === "event" && f.event === "connect.challenge", timeoutMs, "connect.challenge")
    return c
  }

  /** Opens, answers the challenge with connect, and fails clearly when hello-ok does not come. */
  static async connect(url: string, opts: ConnectOptions = {}): Promise<TestClient> {
    const c = await TestClient.open(url, opts.timeoutMs)
    const res = await c.request("connect", connectParams(opts), opts.timeoutMs)
    if (!res.ok) {
      c.close()
      throw new Error(`connect failed: ${JSON.stringify(res.error)}`)
    }
    c.hello = res.payload
    return c
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN && !this.closeInfo
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame))
  }

  /** Sends a req and returns its id without waiting. */
  sendRequest(method: string, params?: unknown): string {
    const id = `t${++this.nextId}`
    this.send(params === undefined ? { type: "req", id, method } : { type: "req", id, method, params })
    return id
  }

  /** Sends a req and resolves with its first res frame, ok or not (never throws on an error reply). */
  request(method: string, params?: unknown, timeoutMs = 5000): Promise<Frame> {
    const id = this.sendRequest(method, params)
    return this.waitFor((f) => f.type === "res" && f.id === id, timeoutMs, `res to ${method} (${id})`)
  }

  /** The payload of a successful reply; an error reply throws with its code and message. */
  async call(method: string, params?: unknown, timeoutMs = 5000): Promise<any> {
    const res = await this.request(method, params, timeoutMs)
    if (!res.ok) throw new Error(`${method} failed: ${res.error?.code} ${res.error?.message}`)
    return res.payload
  }

  /** A two-stage request (`agent`): the interim `accepted` res and the final res on the same id. */
  async twoStage(method: string, params: unknown, timeoutMs = 10_000): Promise<{ id: string; accepted: Frame; final: Frame }> {
    const id = this.sendRequest(method, params)
    const accepted = await this.waitFor((f) => f.type === "res" && f.id === id, timeoutMs, `first res to ${method}`)
    const final = await this.waitFor((f) => f.type === "res" && f.id === id && f !== accepted, timeoutMs, `final res to ${method}`)
    return { id, accepted, final }
  }

  /** Resolves with the first frame (already received or arriving) that matches; rejects on timeout or close. */
  waitFor(pred: (f: Frame) => boolean, timeoutMs = 5000, what = "a matching frame"): Promise<Frame> {
    const seen = this.frames.find(pred)
    if (seen) return Promise.resolve(seen)
    if (this.closeInfo) return Promise.reject(new Error(`socket closed (${this.closeInfo.code}) before ${what}; last frames: ${this.tail()}`))
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve,
        reject,
        what,
        timer: setTimeout(() => {
          this.waiters.delete(w)
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last frames: ${this.tail()}`))
        }, timeoutMs),
      }
      this.waiters.add(w)
    })
  }

  /** The payload of the first `name` event matching `pred`. */
  async event(name: string, pred: (p: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
    const f = await this.waitFor((f) => f.type === "event" && f.event === name && pred(f.payload), timeoutMs, `${name} event`)
    return f.payload
  }

  /** Payloads of the events received so far, optionally only `name` ones. */
  events(name?: string): any[] {
    return this.frames.filter((f) => f.type === "event" && (name === undefined || f.event === name)).map((f) => f.payload)
  }

  /** `chat` (or `agent`) event payloads of one run, in arrival order. */
  runEvents(runId: string, name: "chat" | "agent" = "chat"): any[] {
    return this.events(name).filter((p) => p?.runId === runId)
  }

  /** Waits for the terminal chat event (final, aborted or error) of a run. */
  chatEnd(runId: string, timeoutMs = 5000): Promise<any> {
    return this.event("chat", (p) => p.runId === runId && ["final", "aborted", "error"].includes(p.state), timeoutMs)
  }

  closed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (this.closeInfo) return Promise.resolve(this.closeInfo)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs)
      this.closeWaiters.push(() => {
        clearTimeout(timer)
        resolve(this.closeInfo!)
      })
    })
  }

  close(): void {
    try {
      this.ws.close()
    } catch {
      // already closed
    }
  }

  private tail(): string {
    return JSON.stringify(this.frames.slice(-5)).slice(0, 1200)
  }
}

/** Connect params as OpenClaw's CLI sends them, with the options applied. */
export function connectParams(opts: ConnectOptions = {}): Record<string, unknown> {
  return {
    minProtocol: PROTOCOL_VERSION,
    maxProtocol: PROTOCOL_VERSION,
    client: { id: "cli", version: "test", platform: process.platform, deviceFamily: "Linux", mode: "test", instanceId: crypto.randomUUID() },
    caps: opts.caps ?? [],
    auth: opts.token === undefined ? {} : { token: opts.token },
    role: opts.role ?? "operator",
    scopes: opts.scopes ?? ALL_SCOPES,
    ...opts.params,
  }
}
