import { describe, expect, test } from "bun:test"
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { tailLog } from "../../src/util/logs-tail.ts"
import { createLogger } from "../../src/util/log.ts"

function logFile(lines: string[]) {
  const file = join(mkdtempSync(join(tmpdir(), "gw-log-")), "g.jsonl")
  writeFileSync(file, lines.map((l) => `${l}\n`).join(""))
  return file
}

describe("tailLog", () => {
  test("without a cursor returns the last lines and a cursor at the end", () => {
    const file = logFile(["a", "b", "c", "d"])
    const r = tailLog(file, { limit: 2, maxBytes: 1000 })
    expect(r.lines).toEqual(["c", "d"])
    expect(r.cursor).toBe(8)
    expect(r.size).toBe(8)
  })
  test("a cursor returns only what came after it", () => {
    const file = logFile(["a", "b"])
    const first = tailLog(file, { limit: 10, maxBytes: 1000 })
    appendFileSync(file, "c\nd\n")
    const next = tailLog(file, { cursor: first.cursor, limit: 10, maxBytes: 1000 })
    expect(next.lines).toEqual(["c", "d"])
    expect(tailLog(file, { cursor: next.cursor, limit: 10, maxBytes: 1000 }).lines).toEqual([])
  })
  test("a half-written last line waits for its newline", () => {
    const file = logFile(["a"])
    appendFileSync(file, "partial")
    const r = tailLog(file, { cursor: 0, limit: 10, maxBytes: 1000 })
    expect(r.lines).toEqual(["a"])
    expect(r.cursor).toBe(2)
  })
  test("limits mark the result truncated and the next call continues", () => {
    const file = logFile(["1", "2", "3", "4", "5"])
    const r = tailLog(file, { cursor: 0, limit: 2, maxBytes: 1000 })
    expect(r.lines).toEqual(["1", "2"])
    expect(r.truncated).toBe(true)
    expect(tailLog(file, { cursor: r.cursor, limit: 2, maxBytes: 1000 }).lines).toEqual(["3", "4"])
    const bytes = tailLog(file, { cursor: 0, limit: 100, maxBytes: 5 })
    expect(bytes.lines).toEqual(["1", "2"])
    expect(bytes.truncated).toBe(true)
  })
  test("a cursor past the end (rotation) resets", () => {
    const file = logFile(["x"])
    const r = tailLog(file, { cursor: 500, limit: 10, maxBytes: 1000 })
    expect(r.reset).toBe(true)
    expect(r.lines).toEqual(["x"])
  })
  test("a missing file is empty, not an error", () => {
    expect(tailLog("/nonexistent/file.jsonl", { limit: 10, maxBytes: 10 }).lines).toEqual([])
  })
})

describe("logger", () => {
  test("writes JSONL with level filtering and rotates", () => {
    const file = join(mkdtempSync(join(tmpdir(), "gw-log-")), "g.jsonl")
    const log = createLogger({ file, maxFileBytes: 65_536, level: "info", console: "off" })
    log.debug("hidden")
    log.child("ws").info("shown", { n: 1 })
    const r = tailLog(file, { limit: 10, maxBytes: 10_000 })
    expect(r.lines.length).toBe(1)
    const rec = JSON.parse(r.lines[0]!)
    expect(rec).toMatchObject({ level: "info", subsystem: "ws", message: "shown", n: 1 })
    for (let i = 0; i < 1000; i++) log.info("x".repeat(100))
    log.close()
    expect(tailLog(`${file}.1`, { limit: 1, maxBytes: 10_000 }).lines.length).toBe(1)
  })
})
