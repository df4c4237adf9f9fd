/**
 * When a job runs next: `at` once, `every` on anchor + n * everyMs, cron expressions through croner (time zones and
 * DST as croner resolves them: a time skipped by spring-forward runs at the first valid minute after it, a time that
 * repeats at fall-back runs once). Pure: every function takes the time it reasons about.
 */
import { Cron } from "croner"
import type { z } from "zod"
import type { CronSchedule } from "../protocol/methods/cron.ts"

export type Schedule = z.infer<ReturnType<typeof CronSchedule>>

/** Parses `at` (ISO 8601; no offset means UTC, as OpenClaw reads it). NaN when unreadable. */
export function atMs(at: string): number {
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(at.trim())
  const hasTime = /T|\d:\d/.test(at)
  return Date.parse(hasZone || !hasTime ? at : `${at}Z`)
}

/** Why a schedule cannot run (bad expression, unknown zone, unreadable time), or undefined. */
export function scheduleProblem(s: Schedule): string | undefined {
  if (s.kind === "at") return Number.isNaN(atMs(s.at)) ? `schedule.at: '${s.at}' is not an ISO 8601 time (e.g. 2026-12-24T09:00+09:00)` : undefined
  if (s.kind === "every") return undefined
  if (s.tz) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: s.tz })
    } catch {
      return `schedule.tz: '${s.tz}' is not an IANA time zone (e.g. Asia/Seoul, America/New_York)`
    }
  }
  try {
    new Cron(s.expr, { timezone: s.tz, paused: true })
    return undefined
  } catch (err) {
    return `schedule.expr: '${s.expr}' is not a cron expression: ${(err as Error).message}`
  }
}

/**
 * The first run strictly after `after`. `anchor` is the job's creation time (the default anchor of `every`);
 * `at` jobs have no run after their own time once `after` passed it.
 */
export function nextRunAfter(s: Schedule, after: number, anchor: number): number | undefined {
  switch (s.kind) {
    case "at": {
      const t = atMs(s.at)
      return t > after ? t : undefined
    }
    case "every": {
      const base = s.anchorMs ?? anchor
      if (after < base) return base
      return base + (Math.floor((after - base) / s.everyMs) + 1) * s.everyMs
    }
    case "cron": {
      const next = new Cron(s.expr, { timezone: s.tz, paused: true }).nextRun(new Date(after))
      return next ? next.getTime() : undefined
    }
  }
}

/**
 * The shortest gap between the next `samples` runs after `from` (undefined: fewer than two runs). A sub-minute
 * cron expression (a seconds field with several values) runs twice within its first matching minute, so a few
 * samples find it whatever the rest of the expression says.
 */
export function shortestInterval(s: Schedule, from: number, anchor: number, samples = 10): number | undefined {
  let shortest: number | undefined
  let prev = nextRunAfter(s, from, anchor)
  for (let i = 1; i < samples && prev !== undefined; i++) {
    const next = nextRunAfter(s, prev, anchor)
    if (next === undefined) break
    if (shortest === undefined || next - prev < shortest) shortest = next - prev
    prev = next
  }
  return shortest
}

/**
 * The first run of a new (or re-enabled, or rescheduled) job: an `at` in the past still runs once, now; `every`
 * first runs one interval after its anchor (or at a future anchor), not at once.
 */
export function firstRun(s: Schedule, now: number, anchor: number): number | undefined {
  if (s.kind === "at") {
    const t = atMs(s.at)
    return Number.isNaN(t) ? undefined : Math.max(t, now)
  }
  return nextRunAfter(s, s.kind === "every" ? now : now - 1, anchor)
}

/** "10m", "2h", "1d", "90s", "500ms" or plain milliseconds → milliseconds (undefined when unreadable). */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text)
  if (!m) return undefined
  const n = Number(m[1])
  const unit = (m[2] ?? "ms").toLowerCase()
  const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : unit === "h" ? 3_600_000 : 86_400_000
  return Math.round(n * factor)
}
