/**
 * Idempotency cache for side-effecting methods: key → result, kept 5 minutes, at most 1000 entries (oldest evicted).
 * Concurrent calls with the same key share one in-flight promise, so a retried request never runs twice.
 */
export interface IdempotencyOptions {
  ttlMs?: number
  maxEntries?: number
  now?: () => number
}

interface Entry<T> {
  ts: number
  promise: Promise<T>
  settled: boolean
}

export class IdempotencyCache<T = unknown> {
  private entries = new Map<string, Entry<T>>()
  private readonly ttlMs: number
  private readonly maxEntries: number
  private readonly now: () => number

  constructor(opts: IdempotencyOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 5 * 60_000
    this.maxEntries = opts.maxEntries ?? 1000
    this.now = opts.now ?? Date.now
  }

  get size(): number {
    return this.entries.size
  }

  /** Runs `fn` once per live key; later and concurrent callers get the same outcome (including a rejection). */
  run(key: string, fn: () => Promise<T>): { promise: Promise<T>; cached: boolean } {
    this.sweep()
    const hit = this.entries.get(key)
    if (hit) return { promise: hit.promise, cached: true }
    const entry: Entry<T> = { ts: this.now(), settled: false, promise: Promise.resolve().then(fn) }
    entry.promise.then(
      () => (entry.settled = true),
      () => (entry.settled = true),
    )
    this.entries.set(key, entry)
    this.evict()
    return { promise: entry.promise, cached: false }
  }

  /** Replaces the stored outcome (agent runs store "accepted" first, then the final result). */
  set(key: string, value: T): void {
    this.entries.delete(key)
    this.entries.set(key, { ts: this.now(), settled: true, promise: Promise.resolve(value) })
    this.evict()
  }

  get(key: string): Promise<T> | undefined {
    this.sweep()
    return this.entries.get(key)?.promise
  }

  private evict(): void {
    // Map iteration is insertion order, so the first entries are the oldest. In-flight entries are kept.
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries) break
      if (entry.settled) this.entries.delete(key)
    }
  }

  sweep(): void {
    const cutoff = this.now() - this.ttlMs
    for (const [key, entry] of this.entries) {
      if (entry.ts >= cutoff) break
      if (entry.settled) this.entries.delete(key)
    }
  }
}
