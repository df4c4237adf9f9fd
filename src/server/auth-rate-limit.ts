/** Failed-auth rate limit per remote address: N failures in a window lock the address out for a while. */
import { isLoopbackAddress } from "../config/auth.ts"

export interface RateLimitPolicy {
  maxAttempts: number
  windowMs: number
  lockoutMs: number
  exemptLoopback: boolean
}

interface Bucket {
  failures: number[]
  lockedUntil: number
}

export class AuthRateLimiter {
  private buckets = new Map<string, Bucket>()

  constructor(
    private policy: () => RateLimitPolicy,
    private now: () => number = Date.now,
  ) {}

  private exempt(addr: string): boolean {
    return this.policy().exemptLoopback && isLoopbackAddress(addr)
  }

  /** Milliseconds the address must still wait, or 0 when it may try. */
  retryAfter(addr: string): number {
    if (this.exempt(addr)) return 0
    const b = this.buckets.get(addr)
    if (!b) return 0
    const left = b.lockedUntil - this.now()
    return Math.max(left, 0)
  }

  recordFailure(addr: string): void {
    if (this.exempt(addr)) return
    const { maxAttempts, windowMs, lockoutMs } = this.policy()
    const now = this.now()
    const b = this.buckets.get(addr) ?? { failures: [], lockedUntil: 0 }
    b.failures = b.failures.filter((t) => t > now - windowMs)
    b.failures.push(now)
    if (b.failures.length >= maxAttempts) {
      b.lockedUntil = now + lockoutMs
      b.failures = []
    }
    this.buckets.set(addr, b)
    this.prune(now)
  }

  recordSuccess(addr: string): void {
    this.buckets.delete(addr)
  }

  /** Keeps memory bounded under a spray of addresses. */
  private prune(now: number): void {
    if (this.buckets.size < 10_000) return
    for (const [addr, b] of this.buckets) if (b.lockedUntil < now && b.failures.length === 0) this.buckets.delete(addr)
  }
}
