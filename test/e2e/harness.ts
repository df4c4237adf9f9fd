/**
 * Starts the compiled binary (dist/gateway) as a real process on port 0 with its own state home, waits for its
 * ready line, and gives tests its URL. Also a raw WebSocket helper that records every frame and the close code.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { checkEvent, checkResult } from "./wire-check.ts"

/** GATEWAY_TEST_BINARY runs the suite against another build (e.g. one built with --outfile while dist/gateway is busy). */
export const BINARY = process.env.GATEWAY_TEST_BINARY || resolve(import.meta.dir, "../../dist/gateway")

export interface GatewayProcess {
  url: string
  port: number
  home: string
  proc: ReturnType<typeof Bun.spawn>
  /** Everything the process wrote to stderr so far. */
  stderr(): string
  stop(signal?: NodeJS.Signals): Promise<number>
}

export interface SpawnOptions {
  /** gateway.json content written before start. */
  config?: unknown
  args?: string[]
  env?: Record<string, string>
  home?: string
  binary?: string
  /** Port flag: a number (default 0, a free port) or "config" to pass no --port, so gateway.json's port applies. */
  port?: number | "config"
}

export async function startBinary(opts: SpawnOptions = {}): Promise<GatewayProcess> {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), "gw-e2e-"))
  if (opts.config !== undefined) writeFileSync(join(home, "gateway.json"), JSON.stringify(opts.config, null, 2), { mode: 0o600 })
  const portArgs = opts.port === "config" ? [] : ["--port", String(opts.port ?? 0)]
  const proc = Bun.spawn([opts.binary ?? BINARY, "run", ...portArgs, ...(opts.args ?? [])], {
    env: { PATH: process.env.PATH ?? "", HOME: home, GATEWAY_HOME: home, XDG_CACHE_HOME: join(home, ".cache"), GATEWAY_PRINT_READY: "1", ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  })
  let err = ""
  const errReader = (async () => {
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) err += new TextDecoder().decode(chunk)
  })()
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader()
  let out = ""
  const deadline = Date.now() + 15_000
  while (!out.includes("\n")) {
    const next = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => "timeout" as const)])
    if (next === "timeout" || next.done) {
      proc.kill("SIGKILL")
      await errReader.catch(() => {})
      throw new Error(`gateway did not become ready (exit ${proc.exitCode}):\n${out}\n${err}`)
    }
    out += new TextDecoder().decode(next.value)
  }
  reader.releaseLock()
  const ready = JSON.parse(out.split("\n")[0]!) as { url: string; port: number }
  return {
    url: ready.url,
    port: ready.port,
    home,
    proc,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal)
      const code = await proc.exited
      if (!opts.home) rmSync(home, { recursive: true, force: true })
      return code
    },
  }
}

export interface RawFrame {
  type: string
  [k: string]: unknown
}

/** The payload of a successful response (fails the test with the error otherwise). */
export function ok(res: RawFrame): Record<string, any> {
  if (!res.ok) throw new Error(`request failed: ${JSON.stringify(res.error)}`)
  return res.payload as Record<string, any>
}

/**
 * A plain WebSocket that keeps every parsed frame, so tests can assert on exact wire behaviour. Every successful `res`
 * is checked against its method's result schema and every event against its payload schema (wire-check.ts): waiting
 * for a frame that does not match throws with the zod issues.
 */
export class RawSocket {
  frames: RawFrame[] = []
  closeEvent: { code: number; reason: string } | undefined
  /** Schema mismatches of received frames, by frame. */
  readonly mismatches = new Map<RawFrame, string>()
  private waiters: (() => void)[] = []
  /** The method of each request sent, by id, to know which result schema a reply must match. */
  private methods = new Map<string, string>()
  readonly ws: WebSocket

  private constructor(url: string) {
    this.ws = new WebSocket(url)
    this.ws.onmessage = (ev) => {
      let frame: RawFrame
      try {
        frame = JSON.parse(String(ev.data))
      } catch {
        frame = { type: "unparseable", raw: String(ev.data) }
      }
      this.frames.push(frame)
      const mismatch = this.checkFrame(frame)
      if (mismatch) this.mismatches.set(frame, mismatch)
      this.wake()
    }
    this.ws.onclose = (ev) => {
      this.closeEvent = { code: ev.code, reason: ev.reason }
      this.wake()
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  static async open(url: string): Promise<RawSocket> {
    const s = new RawSocket(url)
    await new Promise<void>((resolve, reject) => {
      s.ws.onopen = () => resolve()
      s.ws.onerror = () => reject(new Error(`cannot open ${url}`))
    })
    return s
  }

  send(frame: unknown): void {
    const text = typeof frame === "string" ? frame : JSON.stringify(frame)
    try {
      const f = JSON.parse(text) as { type?: unknown; id?: unknown; method?: unknown }
      if (f?.type === "req" && typeof f.id === "string" && typeof f.method === "string") this.methods.set(f.id, f.method)
    } catch {
      // Deliberately broken frames are for the server to refuse.
    }
    this.ws.send(text)
  }

  private checkFrame(frame: RawFrame): string | undefined {
    if (frame.type === "res" && frame.ok === true && typeof frame.id === "string") {
      const method = this.methods.get(frame.id)
      return method ? checkResult(method, frame.payload) : undefined
    }
    if (frame.type === "event" && typeof frame.event === "string") return checkEvent(frame.event, frame.payload)
    return undefined
  }

  /** Throws when `frame` did not match its schema. */
  private checked(frame: RawFrame): RawFrame {
    const mismatch = this.mismatches.get(frame)
    if (mismatch) throw new Error(mismatch)
    return frame
  }

  /** Waits until a frame matching `pred` has arrived (searching all frames so far). */
  async waitFor(pred: (f: RawFrame) => boolean, timeoutMs = 5000): Promise<RawFrame> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const hit = this.frames.find(pred)
      if (hit) return this.checked(hit)
      if (this.closeEvent)
        throw new Error(
          `socket closed (${this.closeEvent.code} ${this.closeEvent.reason}) before the frame arrived; got ${JSON.stringify(this.frames).slice(0, 800)}`,
        )
      if (Date.now() > deadline) throw new Error(`timed out; frames so far: ${JSON.stringify(this.frames).slice(0, 800)}`)
      await new Promise<void>((r) => {
        this.waiters.push(r)
        setTimeout(r, 50)
      })
    }
  }

  response(id: string, timeoutMs?: number): Promise<RawFrame> {
    return this.waitFor((f) => f.type === "res" && f.id === id, timeoutMs)
  }

  async closed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs
    while (!this.closeEvent) {
      if (Date.now() > deadline) throw new Error("socket did not close")
      await new Promise<void>((r) => {
        this.waiters.push(r)
        setTimeout(r, 50)
      })
    }
    return this.closeEvent
  }

  close(): void {
    this.ws.close()
  }

  private nextId = 0

  /** Sends a req with a fresh id and waits for its res. */
  request(method: string, params?: unknown, timeoutMs?: number): Promise<RawFrame> {
    const id = `r${++this.nextId}`
    this.send(params === undefined ? { type: "req", id, method } : { type: "req", id, method, params })
    return this.response(id, timeoutMs)
  }

  /** Event frames received so far, optionally only those named `name`. */
  events(name?: string): RawFrame[] {
    return this.frames.filter((f) => f.type === "event" && (name === undefined || f.event === name)).map((f) => this.checked(f))
  }
}

/** Polls `check` until it returns a truthy value; throws with `what` after the timeout. */
export async function waitUntil<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(25)
  }
}

/** Polls `fn` every 100 ms until `ok` accepts its value or `ms` pass; returns the last value (the test asserts on it). */
export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  let v = await fn()
  while (!ok(v) && Date.now() < deadline) {
    await Bun.sleep(100)
    v = await fn()
  }
  return v
}

/** Runs the binary to completion (for commands that must refuse to start); kills it after timeoutMs. */
export async function runBinary(args: string[], opts: { home?: string; env?: Record<string, string>; timeoutMs?: number } = {}) {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), "gw-e2e-"))
  const proc = Bun.spawn([BINARY, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: home, GATEWAY_HOME: home, XDG_CACHE_HOME: join(home, ".cache"), GATEWAY_PRINT_READY: "1", ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  })
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 10_000)
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  clearTimeout(timer)
  if (!opts.home) rmSync(home, { recursive: true, force: true })
  return { code, stdout, stderr }
}

/** The connect frame OpenClaw's CLI sends, with overrides. */
export function connectFrame(id: string, overrides: Record<string, unknown> = {}): RawFrame {
  return {
    type: "req",
    id,
    method: "connect",
    params: {
      minProtocol: 4,
      maxProtocol: 4,
      client: { id: "cli", version: "2026.9.6", platform: "linux", deviceFamily: "Linux", mode: "cli", instanceId: crypto.randomUUID() },
      caps: [],
      auth: { token: "e2e-token-123" },
      role: "operator",
      scopes: ["operator.read"],
      ...overrides,
    },
  }
}

export const E2E_TOKEN = "e2e-token-123"

/** Opens a socket, waits for the challenge, completes connect; returns the socket and hello-ok payload. */
export async function connected(url: string, overrides: Record<string, unknown> = {}): Promise<{ sock: RawSocket; hello: Record<string, any> }> {
  const sock = await RawSocket.open(url)
  await sock.waitFor((f) => f.type === "event" && f.event === "connect.challenge")
  sock.send(connectFrame("c1", overrides))
  const res = await sock.response("c1")
  if (!res.ok) throw new Error(`connect failed: ${JSON.stringify(res.error)}`)
  return { sock, hello: res.payload as Record<string, any> }
}

// ---- helpers for agent tests (a fake model server in the test process, the CLI run asynchronously) ----

/** The HTTP base URL of a started gateway (same port as its WebSocket). */
export function httpUrl(gw: GatewayProcess): string {
  return `http://127.0.0.1:${gw.port}`
}

/** gateway.json content whose default model is "fake/fake-model" served by a fake OpenAI server at `fakeUrl`, plus `extra` sections. */
export function fakeModelConfig(fakeUrl: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...extra,
    models: {
      default: "fake/fake-model",
      providers: { fake: { baseUrl: fakeUrl, apiKey: "sk-fake-local", models: [{ id: "fake-model", name: "Fake Model", contextWindow: 32000 }] } },
    },
  }
}

/** Text of a chat message as the OpenAI wire carries it (a string or text parts). */
export function wireText(content: unknown): string {
  if (typeof content === "string") return content
  if (Array.isArray(content)) return content.map((p: { text?: string }) => p?.text ?? "").join("")
  return ""
}

/** The last user message's text in an OpenAI chat request body. */
export function lastUserText(body: { messages?: { role: string; content: unknown }[] }): string {
  const m = [...(body.messages ?? [])].reverse().find((x) => x.role === "user")
  return m ? wireText(m.content) : ""
}

/**
 * A fake-model script driven by the request itself, so sessions running at the same time never take each other's
 * steps. The last message decides:
 *   a tool result              → text "tool result: <its content>"
 *   user "CALL <tool> <json>"  → one call of <tool> with the JSON arguments
 *   user "FAIL <status>"       → an HTTP error with that status
 *   user "SLOW <ms> …"         → the echo below, answered after <ms> milliseconds
 *   anything else              → text "echo: <the user's text>" in two deltas
 */
export function directedModel(body: { messages?: { role: string; content: unknown }[] }): import("../fakes/common.ts").FakeStep {
  const last = body.messages?.at(-1)
  if (last?.role === "tool") return { text: `tool result: ${wireText(last.content)}` }
  const said = lastUserText(body)
  const call = /^CALL (\S+) (.*)$/s.exec(said)
  if (call) return { toolCalls: [{ name: call[1]!, args: JSON.parse(call[2]!) }] }
  const failure = /^FAIL (\d{3})/.exec(said)
  if (failure) return { error: { status: Number(failure[1]) } }
  const slow = /^SLOW (\d+)/.exec(said)
  return { text: ["echo: ", said], ...(slow ? { delayMs: Number(slow[1]) } : {}) }
}

/** Environment for the compiled CLI to reach `gw` (as in cli.test.ts). */
export function cliEnv(gw: GatewayProcess, token = E2E_TOKEN): Record<string, string> {
  return { GATEWAY_HOME: gw.home, GATEWAY_PORT: String(gw.port), GATEWAY_TOKEN: token, XDG_CACHE_HOME: join(gw.home, ".cache") }
}

/** Runs the compiled CLI without blocking this process (a fake model server here must keep answering). */
export async function runCli(args: string[], env: Record<string, string>, timeoutMs = 20_000): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn([BINARY, ...args], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? "", HOME: env.GATEWAY_HOME ?? tmpdir(), ...env },
    stdout: "pipe",
    stderr: "pipe",
  })
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs)
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  clearTimeout(timer)
  return { code, out, err }
}
