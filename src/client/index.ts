/**
 * The WebSocket client used by CLI commands, tests and benchmarks: challenge → connect → typed requests matched by
 * id, events delivered to listeners, clear errors for every way a connection can fail.
 *
 * It checks what the server sends with the parsers generated from the protocol's zod schemas
 * (src/protocol/validators.gen.ts) and imports only the zod-free parts of the protocol, so a CLI command that talks
 * to the gateway neither loads zod nor builds a schema: zod is loaded only to explain a hello-ok that does not parse.
 */
import { anyReqFrame, PROTOCOL_VERSION, reqFrame } from "../protocol/core.ts"
import type {
  ClientMode,
  ConnectParams,
  EventFrame,
  HelloOk,
  MethodName,
  MethodParams,
  MethodResult,
  RequestFrame,
  Role,
  ServerFrame,
} from "../protocol/index.ts"
import { SCOPES, type Scope } from "../protocol/scopes.ts"
import { helloOk, INVALID, serverFrame } from "../protocol/validators.gen.ts"
import { NamedError } from "../util/named-error.ts"
import { VERSION } from "../version.ts"
import { describeEndpoint, probeEndpoint } from "./probe.ts"

export interface ConnectOptions {
  url: string
  token?: string
  password?: string
  /** Default: every scope (a holder of the shared secret is fully trusted). */
  scopes?: readonly Scope[]
  role?: Role
  clientId?: string
  mode?: ClientMode
  displayName?: string
  caps?: string[]
  /** Node connections: the commands they offer (node.invoke.request names them). */
  commands?: string[]
  /** Default: a fresh id per connection; a node host sends its stable node id. */
  instanceId?: string
  minProtocol?: number
  maxProtocol?: number
  /** How long to wait for the socket, the challenge and hello-ok together. */
  timeoutMs?: number
  /** PEM certificate(s) to trust for wss:// (a self-signed gateway certificate: the client then trusts exactly it). */
  ca?: string
  /** Present this device identity (signed over the challenge nonce); see src/nodes/device-sign.ts. */
  device?: import("../nodes/device-sign.ts").DeviceKey
  /** A device token from an earlier hello-ok (`auth.deviceToken`), sent as `auth.deviceToken`. */
  deviceToken?: string
  /** Sign the legacy v2 payload instead of v3 (what older protocol-3 clients send). */
  devicePayloadVersion?: "v2" | "v3"
}

export interface RequestOptions {
  timeoutMs?: number
  /** Keep waiting past an `accepted` interim reply for the final one (two-stage methods such as `agent`). */
  expectFinal?: boolean
}

/**
 * No gateway answered at the URL: nothing listens there (kind "nothing"), it cannot be reached, or something else
 * answers: an HTTP server that does not upgrade, a WebSocket server that does not speak the protocol, TLS, silence.
 */
export const GatewayUnreachableError = NamedError.create(
  "GatewayUnreachableError",
  (z) => z.object({ url: z.string(), detail: z.string(), kind: z.string().optional() }),
  (d) => {
    switch (d.kind) {
      case "http":
        return `no gateway at ${d.url}: ${d.detail} but does not accept WebSocket connections. Check the port (--url, GATEWAY_PORT or gateway.port)`
      case "websocket":
        return `no gateway at ${d.url}: a WebSocket server answers there but does not speak the OpenClaw gateway protocol (${d.detail})`
      case "tls":
        return `no gateway at ${d.url}: a TLS server answers there; for a gateway behind TLS, connect with --url wss://`
      case "silent":
      case "closed":
      case "other":
        return `no gateway at ${d.url}: ${d.detail}. Check the port (--url, GATEWAY_PORT or gateway.port)`
      default:
        return `gateway not reachable at ${d.url} (${d.detail}). Start it with 'gateway run' (or 'gateway install' for a service).`
    }
  },
)
export type GatewayUnreachableError = InstanceType<typeof GatewayUnreachableError>

/** Why nothing gateway-like answered at `url`, from one raw probe of its port (wss: TLS itself failed). */
export async function unreachable(url: string, timeoutMs = 1500): Promise<GatewayUnreachableError> {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return new GatewayUnreachableError({ url, detail: "not a valid URL" })
  }
  if (u.protocol === "wss:") return new GatewayUnreachableError({ url, detail: "the TLS connection failed or was refused" })
  const probe = await probeEndpoint(u.hostname, Number(u.port || 80), timeoutMs)
  const detail = probe.kind === "websocket" ? "it answered the upgrade, but the WebSocket handshake failed" : describeEndpoint(probe)
  return new GatewayUnreachableError({ url, detail, kind: probe.kind })
}

/** The frame schemas, loaded on demand (see the module comment). */
const frameSchemas = () => require("../protocol/frames.ts") as typeof import("../protocol/frames.ts")

/** The gateway answered with an error frame; its data is the frame's error as sent. */
export class GatewayRequestError extends NamedError.create("GatewayRequestError", () => frameSchemas().ErrorShape) {
  // `code` and `details` at the top, where the CLI's error output (and any generic handler) looks for them.
  get code(): string {
    return this.data.code
  }

  get details(): Record<string, unknown> | undefined {
    return this.data.details
  }
}

/** The socket closed or timed out before an answer came. */
export class GatewayClosedError extends NamedError.create("GatewayClosedError", (z) => z.object({ message: z.string(), closeCode: z.number().optional() })) {
  get closeCode(): number | undefined {
    return this.data.closeCode
  }
}

interface Pending {
  resolve(payload: unknown): void
  reject(err: Error): void
  expectFinal: boolean
  timer?: Timer
}

type EventListener = (event: EventFrame) => void

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
      let challenged = false
      const fail = (err: Error) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        try {
          this.ws.close()
        } catch {}
        reject(err)
      }
      // Failing before the socket opened says nothing about why: probe the port for what is there instead.
      let probing = false
      const failUnopened = () => {
        if (settled || probing) return
        probing = true
        unreachable(o.url, Math.min(1500, timeoutMs)).then(fail, () => fail(new GatewayUnreachableError({ url: o.url, detail: "connection refused" })))
      }
      // An open socket that never sends the challenge is a WebSocket server, but not a gateway.
      const notGateway = (detail: string) => new GatewayUnreachableError({ url: o.url, detail, kind: "websocket" })
      const timer = setTimeout(
        () =>
          fail(
            opened && !challenged
              ? notGateway(`it sent no connect.challenge within ${timeoutMs} ms`)
              : new GatewayClosedError({ message: `no hello from ${o.url} within ${timeoutMs} ms` }),
          ),
        timeoutMs,
      )
      try {
        // Bun's WebSocket takes TLS options (not in the DOM type).
        this.ws = o.ca ? new WebSocket(o.url, { tls: { ca: o.ca } } as unknown as string[]) : new WebSocket(o.url)
      } catch (err) {
        return fail(new GatewayUnreachableError({ url: o.url, detail: (err as Error).message }))
      }
      this.ws.onopen = () => {
        opened = true
      }
      this.ws.onerror = () => {
        if (!opened) failUnopened()
      }
      this.ws.onclose = (ev) => {
        this.closeInfo = { code: ev.code, reason: ev.reason }
        for (const w of this.closeWaiters.splice(0)) w(this.closeInfo)
        const err = new GatewayClosedError({ message: `connection closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`, closeCode: ev.code })
        for (const p of this.pending.values()) {
          clearTimeout(p.timer)
          p.reject(err)
        }
        this.pending.clear()
        if (!opened) failUnopened()
        else if (!challenged) fail(notGateway(`it closed the connection (${ev.code}) before sending connect.challenge`))
        else fail(err)
      }
      this.ws.onmessage = (ev) => {
        const text = String(ev.data)
        const frame = parseFrame(text)
        if (!frame) {
          // A gateway's first message is always its challenge; text that is not a frame means another server.
          if (!challenged) fail(notGateway(`its first message was '${text.slice(0, 60)}'`))
          return
        }
        if (!settled && frame.type === "event" && frame.event === "connect.challenge") {
          challenged = true
          const nonce = (frame.payload as { nonce?: unknown } | undefined)?.nonce
          this.sendConnect(typeof nonce === "string" ? nonce : "").then(
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
        this.onFrame(frame)
      }
    })
  }

  private async sendConnect(nonce: string): Promise<HelloOk> {
    const o = this.options
    const auth: Record<string, string> = {}
    if (o.token) auth.token = o.token
    if (o.password) auth.password = o.password
    if (o.deviceToken) auth.deviceToken = o.deviceToken
    const params: ConnectParams = {
      minProtocol: o.minProtocol ?? PROTOCOL_VERSION,
      maxProtocol: o.maxProtocol ?? PROTOCOL_VERSION,
      client: {
        id: o.clientId ?? "cli",
        displayName: o.displayName,
        version: VERSION,
        platform: process.platform,
        deviceFamily: process.platform === "linux" ? "Linux" : process.platform,
        mode: o.mode ?? "cli",
        instanceId: o.instanceId ?? crypto.randomUUID(),
      },
      caps: o.caps ?? [],
      ...(o.commands ? { commands: o.commands } : {}),
      auth,
      role: o.role ?? "operator",
      scopes: [...(o.scopes ?? SCOPES)],
    }
    if (o.device) {
      // Loaded only when a device is presented: the plain CLI path stays free of it.
      const { signConnect } = await import("../nodes/device-sign.ts")
      const { payloadToken } = await import("../nodes/device-payload.ts")
      params.device = await signConnect(o.device, {
        nonce,
        clientId: params.client.id,
        clientMode: params.client.mode,
        role: params.role ?? "operator",
        scopes: params.scopes ?? [],
        token: payloadToken(auth),
        platform: params.client.platform,
        deviceFamily: params.client.deviceFamily,
        version: o.devicePayloadVersion,
      })
    }
    const payload = await this.send(reqFrame(this.newId(), "connect", params), { timeoutMs: o.timeoutMs ?? 10_000 })
    const hello = helloOk(payload)
    if (hello !== INVALID) return hello
    // Rejected (the parser is definite): the schema itself throws, with zod's issues, as it always did.
    const { HelloOk } = await import("../protocol/connect.ts")
    return HelloOk.parse(payload)
  }

  private onFrame(frame: ServerFrame): void {
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
    return this.send(anyReqFrame(this.newId(), method, params), opts)
  }

  /** A method of the protocol table, typed by its schemas. */
  request<M extends MethodName>(method: M, params?: MethodParams<M>, opts?: RequestOptions): Promise<MethodResult<M>> {
    return this.send(reqFrame(this.newId(), method, params), opts) as Promise<MethodResult<M>>
  }

  private newId(): string {
    return String(this.nextId++)
  }

  /** Sends one request and settles with its (final) reply's payload. */
  private send(frame: RequestFrame, opts: RequestOptions = {}): Promise<unknown> {
    if (this.closeInfo) return Promise.reject(new GatewayClosedError({ message: `connection closed (${this.closeInfo.code})`, closeCode: this.closeInfo.code }))
    const { id, method } = frame
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, expectFinal: !!opts.expectFinal }
      const timeoutMs = opts.timeoutMs ?? 30_000
      if (timeoutMs > 0) {
        pending.timer = setTimeout(() => {
          this.pending.delete(id)
          reject(new GatewayClosedError({ message: `${method}: no reply within ${timeoutMs} ms` }))
        }, timeoutMs)
      }
      this.pending.set(id, pending)
      this.ws.send(JSON.stringify(frame))
    })
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

/** A server frame, or undefined for text that is not one (ignored, as OpenClaw's client does). */
function parseFrame(text: string): ServerFrame | undefined {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  // The generated parser is definite (a unit test checks it): INVALID is exactly ServerFrame.safeParse failing.
  const frame = serverFrame(json)
  return frame === INVALID ? undefined : frame
}
