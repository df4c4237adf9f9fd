/**
 * A scriptable in-process ModelLayer (src/agent/model-types.ts) for tests that start the gateway with
 * `startGateway({ models })`: no HTTP, no AI SDK. Each model call takes the next scripted step, or asks a function
 * of the request. Every call is recorded (model, system prompt, messages, tool names, whether it was aborted).
 *
 *   const model = fakeModel([{ text: ["Hel", "lo"] }, { toolCalls: [{ name: "ls", input: {} }] }])
 *   model.script((req) => ({ text: `echo: ${req.lastUser}` }))
 *   await model.waitForCalls(2); model.calls[1].messages …
 *
 * A step (all fields optional, applied in this order):
 *   delayMs                        wait before the first event
 *   text: "hi" | ["Hel", "lo"]     text deltas, chunkDelayMs apart
 *   stall: { afterChunks, ms? }    stop after that many deltas for ms (until aborted when ms is left out)
 *   toolCalls: [{ name, input }]   tool calls after the text
 *   until: promise                 hold after the content until the promise settles (or the call is aborted)
 *   hang: true                     hold after the content until aborted
 *   error: { kind, retryable, message, status?, retryAfterMs? }   fail (after any content) instead of finishing
 *   usage / finishReason           the finish event (defaults: input 10, output = number of deltas, "stop"/"tool-calls")
 * An aborted call ends with an `aborted` error event, as the AI SDK layer does. A call with no step left fails with a
 * non-retryable error naming the call, so a missing script line shows up as a clear run error, not a hang.
 */
import type { FinishReason, ModelEvent, ModelFailure, ModelHandle, ModelLayer, StreamModelOptions } from "../../src/agent/model-types.ts"
import type { TranscriptMessage, Usage } from "../../src/agent/types.ts"

export interface FakeToolCall {
  name: string
  input?: unknown
  /** Default: call_<call index>_<position>. */
  id?: string
}

export interface FakeModelStep {
  text?: string | string[]
  toolCalls?: FakeToolCall[]
  delayMs?: number
  chunkDelayMs?: number
  stall?: { afterChunks: number; ms?: number }
  until?: Promise<unknown>
  hang?: boolean
  error?: ModelFailure
  usage?: Partial<Usage>
  finishReason?: FinishReason | string
}

/** What a script function and the call log see of one model call. */
export interface FakeModelRequest {
  index: number
  /** The model ref the runtime resolved (provider/model). */
  model: string
  system: string
  messages: TranscriptMessage[]
  /** Names of the tools offered to the model. */
  tools: string[]
  /** Text of the last user message (the empty string when there is none). */
  lastUser: string
  /** The last message, when it is a tool result. */
  lastToolResult?: { toolName: string; content: string; isError: boolean }
}

export interface FakeModelCall extends FakeModelRequest {
  startedAt: number
  endedAt?: number
  /** How the call ended: finished, failed (scripted error), aborted (signal), or still running. */
  outcome: "running" | "finished" | "failed" | "aborted"
}

export type FakeModelScript = FakeModelStep[] | ((req: FakeModelRequest) => FakeModelStep | Promise<FakeModelStep>)

export interface FakeModelOptions {
  /** Context window reported for every model (default 64k); a per-ref override goes in `handles`. */
  contextWindow?: number
  maxTokens?: number
  /** Per-ref handle fields, or an Error to make resolveModel fail for that ref (a missing key, say). */
  handles?: Record<string, Partial<ModelHandle> | Error>
}

export interface FakeModel extends ModelLayer {
  /** Every call so far, in arrival order. */
  readonly calls: FakeModelCall[]
  /** Replaces the script (a queue of steps or a function of the request). */
  script(s: FakeModelScript): void
  /** Appends steps to a queue script. */
  push(...steps: FakeModelStep[]): void
  /** Steps not taken yet (queue scripts). */
  pending(): number
  /** Resolves once at least `n` calls have started (counting from the first call ever). */
  waitForCalls(n: number, timeoutMs?: number): Promise<FakeModelCall[]>
}

const unscripted = (index: number): FakeModelStep => ({
  error: { kind: "unknown", retryable: false, message: `fake model: no scripted step for call #${index + 1}` },
})

export function fakeModel(initial: FakeModelScript = [], opts: FakeModelOptions = {}): FakeModel {
  let queue: FakeModelStep[] = Array.isArray(initial) ? [...initial] : []
  let fn = typeof initial === "function" ? initial : undefined
  const calls: FakeModelCall[] = []
  const waiters = new Set<() => void>()

  const nextStep = (req: FakeModelRequest) => (fn ? fn(req) : (queue.shift() ?? unscripted(req.index)))

  async function* streamModel(o: StreamModelOptions): AsyncIterable<ModelEvent> {
    const last = o.messages.at(-1)
    const lastUserMsg = [...o.messages].reverse().find((m) => m.role === "user")
    const call: FakeModelCall = {
      index: calls.length,
      model: o.model.ref,
      system: o.system,
      // A copy: the runtime may reuse its arrays, and assertions look at what the model saw at call time.
      messages: structuredClone(o.messages),
      tools: o.tools.map((t) => t.name),
      lastUser: lastUserMsg?.role === "user" ? lastUserMsg.content : "",
      ...(last?.role === "tool" ? { lastToolResult: { toolName: last.toolName, content: last.content, isError: last.isError } } : {}),
      startedAt: Date.now(),
      outcome: "running",
    }
    calls.push(call)
    for (const w of [...waiters]) w()
    const end = (outcome: FakeModelCall["outcome"]) => {
      call.outcome = outcome
      call.endedAt = Date.now()
    }
    const aborted = (): ModelEvent => {
      end("aborted")
      return { type: "error", error: { kind: "aborted", retryable: false, message: "aborted" } }
    }

    const step = await nextStep(call)
    if (o.signal.aborted) return yield aborted()
    if (step.delayMs && !(await pause(step.delayMs, o.signal))) return yield aborted()

    const chunks = step.text === undefined ? [] : Array.isArray(step.text) ? step.text : [step.text]
    for (let i = 0; i < chunks.length; i++) {
      if (step.stall && i === step.stall.afterChunks && !(await pause(step.stall.ms, o.signal, o.idleTimeoutMs))) {
        if (o.signal.aborted) return yield aborted()
        // The idle timer fired: the same classification the AI SDK layer gives a silent provider.
        end("failed")
        return yield { type: "error", error: { kind: "timeout", retryable: true, message: `the model sent nothing for ${o.idleTimeoutMs} ms` } }
      }
      if (i > 0 && step.chunkDelayMs && !(await pause(step.chunkDelayMs, o.signal))) return yield aborted()
      yield { type: "text-delta", delta: chunks[i]! }
    }
    const toolCalls = step.toolCalls ?? []
    for (const [i, c] of toolCalls.entries()) {
      yield { type: "tool-call", toolCallId: c.id ?? `call_${call.index}_${i}`, toolName: c.name, input: c.input ?? {} }
    }
    if (step.until) {
      await holdUntil(step.until, o.signal)
      if (o.signal.aborted) return yield aborted()
    }
    if (step.hang) {
      await holdUntil(new Promise(() => {}), o.signal)
      return yield aborted()
    }
    if (step.error) {
      end("failed")
      return yield { type: "error", error: step.error }
    }
    const input = step.usage?.input ?? 10
    const output = step.usage?.output ?? Math.max(1, chunks.length + toolCalls.length)
    const usage: Usage = {
      input,
      output,
      cacheRead: step.usage?.cacheRead ?? 0,
      cacheWrite: step.usage?.cacheWrite ?? 0,
      total: step.usage?.total ?? input + output,
      cost: step.usage?.cost ?? 0,
    }
    end("finished")
    yield { type: "finish", finishReason: step.finishReason ?? (toolCalls.length ? "tool-calls" : "stop"), usage }
  }

  return {
    calls,
    async resolveModel(ref: string): Promise<ModelHandle> {
      const custom = opts.handles?.[ref]
      if (custom instanceof Error) throw custom
      const slash = ref.indexOf("/")
      return {
        ref,
        provider: slash > 0 ? ref.slice(0, slash) : "fake",
        modelId: slash > 0 ? ref.slice(slash + 1) : ref,
        contextWindow: opts.contextWindow ?? 64_000,
        maxTokens: opts.maxTokens ?? 4096,
        ...custom,
      }
    },
    streamModel,
    script(s) {
      if (typeof s === "function") {
        fn = s
        queue = []
      } else {
        fn = undefined
        queue = [...s]
      }
    },
    push(...steps) {
      queue.push(...steps)
    },
    pending: () => queue.length,
    waitForCalls(n, timeoutMs = 5000) {
      if (calls.length >= n) return Promise.resolve(calls)
      return new Promise((resolve, reject) => {
        const check = () => {
          if (calls.length < n) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(calls)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`fake model: ${calls.length} of ${n} calls after ${timeoutMs} ms`))
        }, timeoutMs)
        waiters.add(check)
      })
    },
  }
}

/** Resolves when `p` settles or the signal aborts, whichever comes first. */
function holdUntil(p: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      signal.removeEventListener("abort", done)
      resolve()
    }
    signal.addEventListener("abort", done, { once: true })
    p.then(done, done)
  })
}

/**
 * Waits `ms` (forever when undefined) unless the signal aborts first, or the idle timeout (when shorter) fires.
 * True when the full wait elapsed, false when it was cut short.
 */
function pause(ms: number | undefined, signal: AbortSignal, idleTimeoutMs?: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false)
    const timers: Timer[] = []
    const done = (full: boolean) => {
      for (const t of timers) clearTimeout(t)
      signal.removeEventListener("abort", onAbort)
      resolve(full)
    }
    const onAbort = () => done(false)
    signal.addEventListener("abort", onAbort, { once: true })
    if (ms !== undefined && (idleTimeoutMs === undefined || ms < idleTimeoutMs)) timers.push(setTimeout(() => done(true), ms))
    else if (idleTimeoutMs !== undefined) timers.push(setTimeout(() => done(false), idleTimeoutMs))
  })
}

/** A latch for `until`: the step holds until the test calls open() (deterministic "message arrives mid-run"). */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void
  const promise = new Promise<void>((r) => (open = r))
  return { promise, open }
}
