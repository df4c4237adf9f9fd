/** The global cap on runs executing at once (agents.defaults.maxConcurrent), in front of the per-session lanes. */

export class Semaphore {
  private active = 0
  private waiting: (() => void)[] = []

  constructor(private limit: () => number) {}

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.active < this.limit() && this.waiting.length === 0) this.active++
    else {
      // pump() counts the slot before waking us: between a release and our wake-up nobody else can take it (a
      // synchronous acquire in that gap used to exceed the cap by one).
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal?.removeEventListener("abort", onAbort)
          resolve()
        }
        const onAbort = () => {
          this.waiting = this.waiting.filter((w) => w !== go)
          reject(new Error("aborted while waiting for a run slot"))
        }
        signal?.addEventListener("abort", onAbort, { once: true })
        this.waiting.push(go)
      })
    }
    let released = false
    return () => {
      if (released) return
      released = true
      this.active--
      this.pump()
    }
  }

  /** Hands free slots to waiters in order (also after the limit was raised). */
  private pump(): void {
    while (this.waiting.length && this.active < this.limit()) {
      this.active++
      this.waiting.shift()!()
    }
  }

  get inUse(): number {
    return this.active
  }
}
