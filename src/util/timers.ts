/** setTimeout takes a signed 32-bit delay: anything larger fires at once. Longer waits are capped at the maximum. */
export const MAX_TIMER_MS = 2 ** 31 - 1

export function timerDelay(ms: number): number {
  if (!Number.isFinite(ms)) return MAX_TIMER_MS
  return Math.min(Math.max(0, ms), MAX_TIMER_MS)
}

/** Resolves after `ms`, or as soon as `signal` aborts (no rejection: the caller checks the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener("abort", done)
      resolve()
    }
    const timer = setTimeout(done, timerDelay(ms))
    signal?.addEventListener("abort", done, { once: true })
  })
}
