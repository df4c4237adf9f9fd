/**
 * Idempotency for tools.invoke: key → the first call's outcome, kept 5 minutes, at most 1000 entries (oldest settled
 * first). Concurrent calls with the same key share one in-flight promise, so a retried request never runs twice; the
 * same key with different arguments is refused. Messages to the agent do not use this: the router keeps their keys
 * in SQLite.
 */
import { IdempotencyConflict } from "../router/errors.ts"

export interface IdempotencyOptions {
  ttlMs?: number
  maxEntries?: number
  now?: () => number
}

interface Entry<T> {
  ts: number
  /** What the key was first used for (e.g. the tool name and arguments as JSON). */
  fingerprint: string
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

  /**
   * Runs `fn` once per live key; later and concurrent callers get the same outcome (including a rejection, unless
   * `forgetIf` says it did nothing worth remembering, e.g. a node that was not connected: then a retry runs again).
   */
  run(key: string, fingerprint: string, fn: () => Promise<T>, opts: { forgetIf?: (err: unknown) => boolean } = {}): { promise: Promise<T>; cached: boolean } {
    this.sweep()
    const hit = this.entries.get(key)
    if (hit) {
      if (hit.fingerprint !== fingerprint)
        throw new IdempotencyConflict({ message: `idempotency key ${key} was already used for a different call; use a new key`, key, fields: ["params"] })
      return { promise: hit.promise, cached: true }
    }
    const entry: Entry<T> = { ts: this.now(), fingerprint, settled: false, promise: Promise.resolve().then(fn) }
    entry.promise.then(
      () => (entry.settled = true),
      (err) => {
        entry.settled = true
        if (opts.forgetIf?.(err) && this.entries.get(key) === entry) this.entries.delete(key)
      },
    )
    this.entries.set(key, entry)
    this.evict()
    return { promise: entry.promise, cached: false }
  }

  private evict(): void {
    // Map iteration is insertion order, so the first entries are the oldest. In-flight entries are kept.
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries) break
      if (entry.settled) this.entries.delete(key)
    }
  }

  private sweep(): void {
    const cutoff = this.now() - this.ttlMs
    for (const [key, entry] of this.entries) {
      if (entry.ts >= cutoff) break
      if (entry.settled) this.entries.delete(key)
    }
  }
}
