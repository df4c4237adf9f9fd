/**
 * Cuts off a model call that goes quiet. A stalled provider would otherwise hold its session lane and a global run
 * slot until the whole run times out; instead, after `idleMs` without an event the call is aborted and reported as
 * a retryable timeout, so the run loop retries or falls back. Works for any model layer that honours its signal (the
 * AI SDK one and the tests' do). One timer per call, re-armed lazily: this wraps every event of every model call, so
 * it must not cost a promise and a timer per event.
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
  let last = Date.now()
  let fired = false
  const check = () => {
    const quiet = Date.now() - last
    if (quiet < idleMs) {
      timer = setTimeout(check, idleMs - quiet)
      return
    }
    fired = true
    call.abort(new DOMException(`no data from the model for ${idleMs} ms`, "TimeoutError"))
  }
  let timer = setTimeout(check, idleMs)
  const timedOut: ModelEvent = {
    type: "error",
    error: { kind: "timeout", retryable: true, message: `the model sent nothing for ${Math.round(idleMs / 1000)} s (agents.defaults.modelIdleSeconds)` },
  }
  try {
    for await (const ev of open(call.signal)) {
      if (fired) break
      last = Date.now()
      yield ev
    }
    if (fired) yield timedOut
  } finally {
    clearTimeout(timer)
    signal.removeEventListener("abort", onAbort)
  }
}
