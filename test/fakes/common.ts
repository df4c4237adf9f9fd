/**
 * Shared machinery of the fake model servers (openai.ts, anthropic.ts): the script format, the request log, SSE
 * streaming with delays, mid-stream disconnects and hangs, and the standalone-process entry point.
 *
 * A script is a queue of steps (one per model request, consumed in order) or a function of the request. A step
 * combines content (text and/or tool calls) with optional misbehaviour:
 *   {text: "hi"} or {text: ["Hel", "lo"]}        text, one delta per string
 *   {toolCalls: [{name, args}], text?}            tool calls (args: an object, or a raw string sent verbatim)
 *   {error: {status, body?, headers?}}            an HTTP error response (body defaults to the provider's error shape)
 *   {streamError: {message, type?}}               an error event inside an otherwise successful stream
 *   {disconnectAfterChunks: n}                    n SSE frames are written, then the connection is cut (ECONNRESET)
 *   {delayMs: n} / {chunkDelayMs: n}              wait before the response / between frames
 *   {hangUntilAborted: true}                      content frames are sent, then nothing until the client goes away
 *   {endWithoutFinish: true}                      content frames are sent, then the response ends cleanly (no finish)
 */
import { readFileSync } from "node:fs"

export interface FakeToolCall {
  name: string
  /** Tool input: an object (JSON-encoded on the wire) or a string sent verbatim as the arguments text. */
  args?: unknown
  /** Wire id; default call_<n> (OpenAI) or toolu_<n> (Anthropic). */
  id?: string
}

export interface FakeStep {
  text?: string | string[]
  toolCalls?: FakeToolCall[]
  error?: { status: number; body?: unknown; headers?: Record<string, string> }
  /** An error frame sent after the content (OpenAI: `data: {"error":…}`, Anthropic: `event: error`). */
  streamError?: { message: string; type?: string }
  /** Cut the connection after this many SSE frames (counting every frame, role/message_start included). */
  disconnectAfterChunks?: number
  /** Wait this long before answering (before the status line). */
  delayMs?: number
  /** Wait this long between SSE frames. */
  chunkDelayMs?: number
  /** Send the content frames, then hold the connection open until the client aborts. */
  hangUntilAborted?: boolean
  /** Send the content frames, then end the response cleanly without the finish/usage/end frames. */
  endWithoutFinish?: boolean
  /** Wire finish/stop reason override (OpenAI finish_reason, Anthropic stop_reason). */
  finishReason?: string
  /** Token counts reported (defaults: input 10, output = number of content chunks). */
  usage?: { input?: number; output?: number; cacheRead?: number; cacheWrite?: number }
  /** Model name echoed back (default: the request's model). */
  model?: string
}

/** Request bodies are arbitrary JSON; tests assert on them freely. */
export type FakeRequestBody = any

export type FakeScript = FakeStep[] | ((body: FakeRequestBody, index: number) => FakeStep | Promise<FakeStep>)

export interface FakeServer {
  /** Base URL including /v1, to pass as the provider baseURL / models.providers.<id>.baseUrl. */
  url: string
  port: number
  /** Every model request body received, parsed, in order. */
  requests: FakeRequestBody[]
  /** The headers of each recorded request (lower-case names), parallel to `requests`. */
  headers: Record<string, string>[]
  /** Appends steps to the queue (queue scripts only). */
  push(...steps: FakeStep[]): void
  /** Steps not consumed yet (queue scripts only). */
  pending(): number
  stop(): Promise<void>
}

export interface StartOptions {
  port?: number
  hostname?: string
}

export interface Wire {
  /** Path of the model endpoint, e.g. /v1/chat/completions. */
  path: string
  /** An error body in the provider's format. */
  errorBody(status: number, message: string): unknown
  /** SSE frames for a step (full strings, each ending in a blank line): the content, then the terminal frames (finish, usage, end). */
  frames(step: FakeStep, body: FakeRequestBody, seq: number): { content: string[]; terminal: string[] }
  /** A final error frame (streamError). */
  errorFrame(err: { message: string; type?: string }): string
  /** The non-streaming JSON answer. */
  json(step: FakeStep, body: FakeRequestBody, seq: number): unknown
  /** Extra routes (e.g. GET /v1/models). */
  extra?(req: Request, url: URL): Response | undefined
}

export function textChunks(step: FakeStep): string[] {
  if (step.text === undefined) return []
  return Array.isArray(step.text) ? step.text : [step.text]
}

export function argsText(args: unknown): string {
  return typeof args === "string" ? args : JSON.stringify(args ?? {})
}

export function startFake(wire: Wire, script: FakeScript, opts: StartOptions = {}): FakeServer {
  const queue: FakeStep[] = Array.isArray(script) ? [...script] : []
  const requests: FakeRequestBody[] = []
  const headers: Record<string, string>[] = []
  const open = new Set<AbortController>()
  let seq = 0

  const next = async (body: FakeRequestBody, index: number): Promise<FakeStep | undefined> =>
    typeof script === "function" ? script(body, index) : queue.shift()

  const server = Bun.serve({
    port: opts.port ?? 0,
    hostname: opts.hostname ?? "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url)
      const extra = wire.extra?.(req, url)
      if (extra) return extra
      if (req.method !== "POST" || url.pathname !== wire.path) {
        return Response.json(wire.errorBody(404, `fake server: no route ${req.method} ${url.pathname}`), { status: 404 })
      }
      let body: FakeRequestBody
      try {
        body = await req.json()
      } catch {
        return Response.json(wire.errorBody(400, "fake server: request body is not JSON"), { status: 400 })
      }
      const index = requests.length
      requests.push(body)
      headers.push(Object.fromEntries(req.headers.entries()))
      const step = await next(body, index)
      if (!step) return Response.json(wire.errorBody(400, `fake server: script exhausted (request #${index + 1} has no scripted response)`), { status: 400 })
      const n = ++seq
      if (step.delayMs) await sleepUnlessAborted(step.delayMs, req.signal)
      if (req.signal.aborted) return new Response(null, { status: 499 })
      if (step.error) {
        const errBody = step.error.body ?? wire.errorBody(step.error.status, `fake error ${step.error.status}`)
        const text = typeof errBody === "string" ? errBody : JSON.stringify(errBody)
        return new Response(text, { status: step.error.status, headers: { "content-type": "application/json", ...step.error.headers } })
      }
      if (body?.stream !== true) return Response.json(wire.json(step, body, n))

      const { content, terminal } = wire.frames(step, body, n)
      const frames =
        step.hangUntilAborted || step.endWithoutFinish
          ? content
          : step.streamError
            ? [...content, wire.errorFrame(step.streamError)]
            : [...content, ...terminal]
      const cutAfter = step.disconnectAfterChunks
      const ac = new AbortController()
      open.add(ac)
      const enc = new TextEncoder()
      const stream = new ReadableStream<Uint8Array>({
        async start(c) {
          const gone = AbortSignal.any([req.signal, ac.signal])
          try {
            for (let i = 0; i < frames.length; i++) {
              if (cutAfter !== undefined && i >= cutAfter) {
                // Erroring the body stream makes Bun reset the socket mid-response; the client sees ECONNRESET.
                c.error(undefined)
                return
              }
              if (gone.aborted) return c.close()
              c.enqueue(enc.encode(frames[i]))
              if (step.chunkDelayMs) await sleepUnlessAborted(step.chunkDelayMs, gone)
            }
            if (cutAfter !== undefined) {
              c.error(undefined)
              return
            }
            if (step.hangUntilAborted) await new Promise<void>((r) => (gone.aborted ? r() : gone.addEventListener("abort", () => r(), { once: true })))
            c.close()
          } catch {
            // the client went away; nothing to do
          } finally {
            open.delete(ac)
          }
        },
      })
      return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } })
    },
  })

  const port = server.port as number
  return {
    url: `http://${opts.hostname ?? "127.0.0.1"}:${port}/v1`,
    port,
    requests,
    headers,
    push(...steps) {
      queue.push(...steps)
    },
    pending: () => queue.length,
    async stop() {
      for (const ac of open) ac.abort()
      await server.stop(true)
    },
  }
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const t = setTimeout(resolve, ms)
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t)
        resolve()
      },
      { once: true },
    )
  })
}

/**
 * Standalone mode: `bun test/fakes/<wire>.ts [--script steps.json] [--port n]`. Prints one JSON line
 * `{"url": …, "port": …}` on stdout and serves until killed. Without --script every request is answered "ok".
 * Each request body is also printed as a JSON line on stderr, for debugging.
 */
export function runStandalone(name: string, start: (script: FakeScript, opts: StartOptions) => FakeServer): void {
  const argv = process.argv.slice(2)
  const flag = (f: string) => {
    const i = argv.indexOf(f)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const file = flag("--script")
  const steps: FakeStep[] | undefined = file ? JSON.parse(readFileSync(file, "utf8")) : undefined
  if (steps !== undefined && !Array.isArray(steps)) throw new Error(`${name}: --script must be a JSON array of steps`)
  const script: FakeScript = steps ?? (() => ({ text: "ok" }))
  const port = flag("--port")
  let logged = 0
  const fake = start(script, { port: port ? Number(port) : 0 })
  setInterval(() => {
    while (logged < fake.requests.length) process.stderr.write(`${JSON.stringify(fake.requests[logged++])}\n`)
  }, 100)
  process.stdout.write(`${JSON.stringify({ url: fake.url, port: fake.port })}\n`)
  const bye = () => void fake.stop().then(() => process.exit(0))
  process.on("SIGINT", bye)
  process.on("SIGTERM", bye)
}
