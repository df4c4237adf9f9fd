/** Concurrency: a global semaphore (agents.defaults.maxConcurrent) in front of one-at-a-time session lanes. */

export class Semaphore {
  private active = 0
  private waiting: (() => void)[] = []

  constructor(private limit: () => number) {}

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.active >= this.limit()) {
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
    this.active++
    let released = false
    return () => {
      if (released) return
      released = true
      this.active--
      this.waiting.shift()?.()
    }
  }

  get inUse(): number {
    return this.active
  }
}
