/**
 * Every cron and heartbeat timer goes through one Clock, so tests swap in a ManualClock and move time forward
 * instead of waiting (DST days, downtime, intervals of hours run in milliseconds).
 */
import { timerDelay } from "../util/timers.ts"

export interface ClockTimer {
  cancel(): void
}

export interface Clock {
  now(): number
  /** Calls fn once, about `ms` from now. */
  after(ms: number, fn: () => void): ClockTimer
}

/** Wall-clock time and real timers (capped, so a far-off job is re-checked rather than overflowing setTimeout). */
export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, timerDelay(Math.max(0, ms)))
    t.unref?.()
    return { cancel: () => clearTimeout(t) }
  },
}

/** Time that moves only when a test says so; due timers fire in time order as it advances. */
export class ManualClock implements Clock {
  private timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = []
  private seq = 0

  constructor(private t: number) {}

  now(): number {
    return this.t
  }

  after(ms: number, fn: () => void): ClockTimer {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false }
    this.timers.push(timer)
    return { cancel: () => (timer.cancelled = true) }
  }

  /** Pending timers (tests assert nothing is left armed). */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length
  }

  /**
   * Moves time to `now + ms`, firing each due timer at its own time (timers armed by a firing timer fire too when
   * due), and lets the promises they start settle between firings.
   */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms
    for (;;) {
      await settle()
      const due = this.timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0]
      if (!due) break
      due.cancelled = true
      this.t = Math.max(this.t, due.at)
      due.fn()
    }
    this.timers = this.timers.filter((t) => !t.cancelled)
    this.t = end
    await settle()
  }

  /** Sets the time without firing anything (the gateway was down meanwhile). */
  set(t: number): void {
    this.t = t
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0))
}
