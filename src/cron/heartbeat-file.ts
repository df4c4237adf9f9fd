/**
 * Whether HEARTBEAT.md asks for anything. A file of headings, comments, placeholder notes in parentheses (the
 * bootstrap template's), empty checklist items and blank lines has nothing to act on: the beat skips the model call.
 */

const EMPTY_ITEM = /^(?:[-*+]|\d+[.)])(?:\s+\[[ xX]?\])?\s*$/
const HEADING = /^#{1,6}(?:\s|$)/
const RULE = /^(?:-{3,}|\*{3,}|_{3,})$/
const PLACEHOLDER = /^\(.*\)$/

/** The lines of HEARTBEAT.md that ask for something (empty when the beat has nothing to do). */
export function actionableLines(text: string): string[] {
  const withoutComments = text.replace(/<!--[\s\S]*?(?:-->|$)/g, "")
  return withoutComments
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !HEADING.test(l) && !EMPTY_ITEM.test(l) && !RULE.test(l) && !PLACEHOLDER.test(l))
}

export function hasActionableContent(text: string): boolean {
  return actionableLines(text).length > 0
}

/**
 * A reply that only acknowledges (HEARTBEAT_OK, perhaps with a short remark before or after it) is not delivered.
 * `ackMaxChars` bounds the remark, as OpenClaw's heartbeat.ackMaxChars does.
 */
export function isAck(reply: string, ackMaxChars: number): boolean {
  const t = reply.trim().replace(/^[*_`]+|[*_`]+$/g, "")
  if (!t.startsWith("HEARTBEAT_OK") && !t.endsWith("HEARTBEAT_OK")) return false
  return t.replace("HEARTBEAT_OK", "").trim().length <= ackMaxChars
}

/** "08:00" → minutes since midnight; "24:00" is the end of the day. */
function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number)
  return (h ?? 0) * 60 + (m ?? 0)
}

/** Whether `now` falls in [start, end) in the zone (a window past midnight wraps). */
export function inActiveHours(now: number, hours: { start: string; end: string; timezone?: string }): boolean {
  const parts = new Intl.DateTimeFormat("en-GB", { timeZone: hours.timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(
    new Date(now),
  )
  const h = Number(parts.find((p) => p.type === "hour")?.value ?? 0)
  const m = Number(parts.find((p) => p.type === "minute")?.value ?? 0)
  const t = h * 60 + m
  const start = minutes(hours.start)
  const end = minutes(hours.end)
  if (start === end) return true
  return start < end ? t >= start && t < end : t >= start || t < end
}
