/** Cursor-based reading of the JSONL log file for logs.tail: byte offsets, whole lines only. */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs"

export interface TailOptions {
  cursor?: number
  limit: number
  maxBytes: number
}

export interface TailResult {
  file: string
  cursor: number
  size: number
  lines: string[]
  truncated: boolean
  reset: boolean
}

function readRange(file: string, start: number, length: number): Buffer {
  const fd = openSync(file, "r")
  try {
    const buf = Buffer.alloc(length)
    const n = readSync(fd, buf, 0, length, start)
    return buf.subarray(0, n)
  } finally {
    closeSync(fd)
  }
}

/**
 * Without a cursor: the last `limit` lines (within maxBytes). With one: lines after it, oldest first, up to the
 * limits; `truncated` says more remain. A cursor past the end means the file was rotated: start over (`reset`).
 */
export function tailLog(file: string, opts: TailOptions): TailResult {
  const size = existsSync(file) ? statSync(file).size : 0
  let reset = false
  let start: number
  if (opts.cursor === undefined) start = Math.max(0, size - opts.maxBytes)
  else if (opts.cursor > size) {
    reset = true
    start = 0
  } else start = opts.cursor
  if (size === 0 || start >= size) return { file, cursor: size, size, lines: [], truncated: false, reset }

  const length = Math.min(size - start, opts.maxBytes)
  const buf = readRange(file, start, length)
  let text = buf.toString("utf8")
  let offset = start
  // A window that starts mid-line (no cursor, or after a reset) drops the partial first line.
  if (start > 0 && opts.cursor === undefined) {
    const nl = text.indexOf("\n")
    offset += nl + 1
    text = text.slice(nl + 1)
  }
  const lastNl = text.lastIndexOf("\n")
  if (lastNl < 0 && length === opts.maxBytes) {
    // One line longer than the whole window: hand it over cut, rather than stalling a follower forever.
    return { file, cursor: start + length, size, lines: [text], truncated: true, reset }
  }
  const complete = lastNl >= 0 ? text.slice(0, lastNl) : ""
  let lines = complete ? complete.split("\n") : []
  let truncated = start + length < size
  if (opts.cursor === undefined) {
    if (lines.length > opts.limit) lines = lines.slice(-opts.limit)
    return { file, cursor: offset + Buffer.byteLength(complete) + (complete ? 1 : 0), size, lines, truncated: false, reset }
  }
  if (lines.length > opts.limit) {
    lines = lines.slice(0, opts.limit)
    truncated = true
  }
  const consumed = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)
  return { file, cursor: offset + consumed, size, lines, truncated, reset }
}
