/** Schedules (at / every / cron with zones, across DST) and the heartbeat file's idle check. */
import { describe, expect, test } from "bun:test"
import { actionableLines, hasActionableContent, inActiveHours, isAck } from "../../../src/cron/heartbeat-file.ts"
import { atMs, firstRun, nextRunAfter, parseDuration, scheduleProblem, type Schedule } from "../../../src/cron/schedule.ts"

const NY = "America/New_York"
const ny = (t: number) => new Date(t).toLocaleString("en-US", { timeZone: NY, hour12: false })

function runs(s: Schedule, from: string, until: string): number[] {
  const out: number[] = []
  let t = Date.parse(from)
  for (;;) {
    const n = nextRunAfter(s, t, 0)
    if (n === undefined || n > Date.parse(until)) return out
    out.push(n)
    t = n
  }
}

describe("cron expressions across DST (America/New_York)", () => {
  test("30 2 * * * on spring-forward day runs once, at 03:00 EDT (02:30 does not exist)", () => {
    const r = runs({ kind: "cron", expr: "30 2 * * *", tz: NY }, "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z")
    expect(r.map((t) => new Date(t).toISOString())).toEqual(["2026-03-07T07:30:00.000Z", "2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z"])
    expect(ny(r[1]!)).toContain("03:00:00")
  })

  test("30 1 * * * on fall-back day runs once although 01:30 happens twice", () => {
    const r = runs({ kind: "cron", expr: "30 1 * * *", tz: NY }, "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z")
    expect(r.map((t) => new Date(t).toISOString())).toEqual(["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"])
  })

  test("an hourly job runs 23 times on spring-forward day and 25 on fall-back day, one hour apart", () => {
    const hourly: Schedule = { kind: "cron", expr: "0 * * * *", tz: NY }
    // Local midnight to midnight: 05:00Z..04:00Z (EST) on the 8th of March; 04:00Z..05:00Z on the 1st of November.
    const spring = runs(hourly, "2026-03-08T04:59:00Z", "2026-03-09T03:59:00Z")
    const fall = runs(hourly, "2026-11-01T03:59:00Z", "2026-11-02T04:59:00Z")
    expect(spring.length).toBe(23)
    expect(fall.length).toBe(25)
    for (const r of [spring, fall]) for (let i = 1; i < r.length; i++) expect(r[i]! - r[i - 1]!).toBe(3_600_000)
  })

  test("time zones: 0 9 * * 1-5 in Asia/Seoul is 00:00Z on weekdays", () => {
    const r = runs({ kind: "cron", expr: "0 9 * * 1-5", tz: "Asia/Seoul" }, "2026-12-04T00:00:00Z", "2026-12-08T12:00:00Z")
    // Fri 4th (already past 00:00Z? no: strictly after), Mon 7th, Tue 8th.
    expect(r.map((t) => new Date(t).toISOString())).toEqual(["2026-12-07T00:00:00.000Z", "2026-12-08T00:00:00.000Z"])
  })
})

describe("every and at", () => {
  test("every keeps its anchor: runs fall on anchor + n * everyMs", () => {
    const s: Schedule = { kind: "every", everyMs: 600_000, anchorMs: 1_000 }
    expect(nextRunAfter(s, 0, 0)).toBe(1_000)
    expect(nextRunAfter(s, 1_000, 0)).toBe(601_000)
    expect(nextRunAfter(s, 1_234_567, 0)).toBe(1_801_000)
    // Without an anchor, the job's creation time anchors it.
    expect(nextRunAfter({ kind: "every", everyMs: 60_000 }, 100_000, 70_000)).toBe(130_000)
    expect(firstRun({ kind: "every", everyMs: 60_000 }, 70_000, 70_000)).toBe(130_000)
  })

  test("at: offsets honoured, no offset is UTC, a past time runs once now, nothing after it", () => {
    expect(atMs("2026-12-24T09:00+09:00")).toBe(Date.parse("2026-12-24T00:00:00Z"))
    expect(atMs("2026-12-24T09:00")).toBe(Date.parse("2026-12-24T09:00:00Z"))
    const s: Schedule = { kind: "at", at: "2026-12-24T09:00+09:00" }
    expect(firstRun(s, Date.parse("2027-01-01T00:00:00Z"), 0)).toBe(Date.parse("2027-01-01T00:00:00Z"))
    expect(nextRunAfter(s, Date.parse("2026-12-24T00:00:00Z"), 0)).toBeUndefined()
  })

  test("bad definitions name the field", () => {
    expect(scheduleProblem({ kind: "cron", expr: "61 * * * *" })).toContain("schedule.expr")
    expect(scheduleProblem({ kind: "cron", expr: "0 9 * * *", tz: "Mars/Olympus" })).toContain("schedule.tz")
    expect(scheduleProblem({ kind: "at", at: "next tuesday" })).toContain("schedule.at")
    expect(scheduleProblem({ kind: "cron", expr: "0 9 * * 1-5", tz: "Asia/Seoul" })).toBeUndefined()
  })

  test("durations", () => {
    expect(parseDuration("10m")).toBe(600_000)
    expect(parseDuration("1h")).toBe(3_600_000)
    expect(parseDuration("0m")).toBe(0)
    expect(parseDuration("90s")).toBe(90_000)
    expect(parseDuration("ten")).toBeUndefined()
  })
})

describe("HEARTBEAT.md", () => {
  test("headings, comments, placeholders, empty checklists and blank lines are not actionable", () => {
    expect(hasActionableContent("")).toBe(false)
    expect(hasActionableContent("# HEARTBEAT.md\n\n(Checks to run on a heartbeat. Leave empty to skip heartbeats.)\n")).toBe(false)
    expect(hasActionableContent("# Tasks\n## Daily\n- [ ]\n- [ ] \n* \n1.\n---\n<!-- check the build\nevery hour -->\n")).toBe(false)
  })

  test("any real line is", () => {
    expect(actionableLines("# Tasks\n- [ ] check the build\n")).toEqual(["- [ ] check the build"])
    expect(hasActionableContent("Remind me to stretch")).toBe(true)
  })

  test("acknowledgements", () => {
    expect(isAck("HEARTBEAT_OK", 300)).toBe(true)
    expect(isAck("**HEARTBEAT_OK**", 300)).toBe(true)
    expect(isAck("All quiet. HEARTBEAT_OK", 300)).toBe(true)
    expect(isAck(`HEARTBEAT_OK ${"x".repeat(301)}`, 300)).toBe(false)
    expect(isAck("The build is red.", 300)).toBe(false)
  })

  test("active hours, also past midnight", () => {
    const at = (iso: string) => Date.parse(iso)
    const day = { start: "08:00", end: "22:00", timezone: "Asia/Seoul" }
    expect(inActiveHours(at("2026-12-04T00:00:00Z"), day)).toBe(true) // 09:00 KST
    expect(inActiveHours(at("2026-12-04T14:00:00Z"), day)).toBe(false) // 23:00 KST
    const night = { start: "22:00", end: "06:00", timezone: "UTC" }
    expect(inActiveHours(at("2026-12-04T23:00:00Z"), night)).toBe(true)
    expect(inActiveHours(at("2026-12-04T12:00:00Z"), night)).toBe(false)
  })
})
