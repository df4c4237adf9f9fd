/**
 * Cuts off a model call that goes quiet. A stalled provider would otherwise hold its session lane and a global run
 * slot until the whole run times out; instead, after `idleMs` without an event the call is aborted and reported as
 * a retryable timeout, so the run loop retries or falls back. Works for any model layer (the AI SDK one or a test's).
 */
import type { ModelEvent } from "./model-types.ts"

export async function* withIdleTimeout(
  open: (signal: AbortSignal) => AsyncIterable<ModelEvent>,
  idleMs: number,
  signal: AbortSignal,
): AsyncGenerator<ModelEvent> {
  const call = new AbortController()
  const onAbort = () => call.abort(signal.reason)
  if (signal.aborted) onAbort()
  else signal.addEventListener("abort", onAbort, { once: true })
  const it = open(call.signal)[Symbol.asyncIterator]()
  try {
    for (;;) {
      let timer: Timer | undefined
      const idle = new Promise<"idle">((r) => (timer = setTimeout(() => r("idle"), idleMs)))
      const next = await Promise.race([it.next(), idle]).finally(() => clearTimeout(timer))
      if (next === "idle") {
        call.abort(new DOMException(`no data from the model for ${idleMs} ms`, "TimeoutError"))
        // Not awaited: a stream that ignores its signal must not hold the run.
        it.return?.(undefined)?.catch(() => {})
        yield {
          type: "error",
          error: { kind: "timeout", retryable: true, message: `the model sent nothing for ${Math.round(idleMs / 1000)} s (agents.defaults.modelIdleSeconds)` },
        }
        return
      }
      if (next.done) return
      yield next.value
    }
  } finally {
    signal.removeEventListener("abort", onAbort)
  }
}
