/**
 * File tools confined to the allowed roots (tools.fs.roots, default the workspace): read, write, edit, ls.
 * Writes are atomic (temp file + rename in the same directory). apply_patch lives in apply-patch.ts.
 */
import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  type Stats,
} from "node:fs"
import { basename, dirname, join, relative } from "node:path"
import { z } from "zod"
import type { ToolPolicy } from "./policy.ts"
import { defineTool, ToolError, type ToolDef } from "./tool.ts"

export const READ_MAX_LINES = 2000
export const READ_MAX_BYTES = 50 * 1024
const READ_MAX_LINE_CHARS = 2000
/** Files above this are streamed and their line count is not reported. */
const READ_COUNT_ALL_BELOW = 8 * 1024 * 1024
/** Files edit / apply_patch load into memory. */
export const EDIT_MAX_BYTES = 10 * 1024 * 1024

// ---- shared helpers ----

export function statOrUndefined(p: string): Stats | undefined {
  try {
    return statSync(p)
  } catch {
    return undefined
  }
}

/** True when the first 8 KB contain a NUL byte. */
export function looksBinary(p: string): boolean {
  const fd = openSync(p, "r")
  try {
    const buf = Buffer.alloc(8192)
    const n = readSync(fd, buf, 0, buf.length, 0)
    return buf.subarray(0, n).includes(0)
  } finally {
    closeSync(fd)
  }
}

/** Writes a file atomically: a temp file in the same directory, then rename (keeps the old file's mode). */
export function writeFileAtomic(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true })
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${crypto.randomUUID().slice(0, 8)}`)
  const old = statOrUndefined(path)
  try {
    writeFileSync(tmp, content)
    if (old) chmodSync(tmp, old.mode & 0o7777)
    renameSync(tmp, path)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
}

/** Reads a text file for editing, with model-readable errors. */
export function readTextForEdit(abs: string, shown: string, tool: string): string {
  const st = statOrUndefined(abs)
  if (!st) throw new ToolError({ message: `${shown} does not exist. Check the path with ls${tool === "edit" ? ", or create the file with write" : ""}.` })
  if (st.isDirectory()) throw new ToolError({ message: `${shown} is a directory, not a file. Pass a file path.` })
  if (st.size > EDIT_MAX_BYTES)
    throw new ToolError({ message: `${shown} is too large to ${tool} (${st.size} bytes, limit ${EDIT_MAX_BYTES}). Use exec with a stream editor instead.` })
  if (looksBinary(abs)) throw new ToolError({ message: `${shown} looks like a binary file; ${tool} only changes text files.` })
  return readFileSync(abs, "utf8")
}

function countOccurrences(haystack: string, needle: string): number {
  let n = 0
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) n++
  return n
}

function lineOf(text: string, index: number): number {
  let n = 1
  for (let i = text.indexOf("\n"); i !== -1 && i < index; i = text.indexOf("\n", i + 1)) n++
  return n
}

// ---- read ----

const ReadParams = z.object({
  path: z.string().describe("File to read: relative to the workspace, or absolute inside the allowed directories"),
  offset: z.number().int().min(1).optional().describe("Line number to start at, 1-based (default 1)"),
  limit: z.number().int().min(1).max(READ_MAX_LINES).optional().describe(`Maximum number of lines to return (default and maximum ${READ_MAX_LINES})`),
})

/** Streams a file's lines from `offset`, stopping at the line and byte caps. */
async function readLines(abs: string, offset: number, limit: number, size: number) {
  const decoder = new TextDecoder()
  const reader = Bun.file(abs).stream().getReader()
  const out: string[] = []
  let bytes = 0
  let lineNo = 0
  let partial = ""
  let stoppedBy: "lines" | "bytes" | undefined
  let more = false
  let total: number | undefined
  const countAll = size <= READ_COUNT_ALL_BELOW
  const take = (line: string): boolean => {
    lineNo++
    if (lineNo < offset) return true
    if (stoppedBy) {
      more = true
      return countAll
    }
    if (out.length >= limit) {
      stoppedBy = "lines"
      more = true
      return countAll
    }
    const shownLine =
      line.length > READ_MAX_LINE_CHARS ? `${line.slice(0, READ_MAX_LINE_CHARS)} [... line truncated, ${line.length} characters in total]` : line
    const formatted = `${String(lineNo).padStart(6)}\t${shownLine}`
    const b = Buffer.byteLength(formatted) + 1
    if (bytes + b > READ_MAX_BYTES && out.length > 0) {
      stoppedBy = "bytes"
      more = true
      return countAll
    }
    bytes += b
    out.push(formatted)
    return true
  }
  let go = true
  try {
    while (go) {
      const { value, done } = await reader.read()
      if (done) break
      partial += decoder.decode(value, { stream: true })
      let nl: number
      while (go && (nl = partial.indexOf("\n")) !== -1) {
        const line = partial.slice(0, nl).replace(/\r$/, "")
        partial = partial.slice(nl + 1)
        go = take(line)
      }
    }
    if (go) {
      partial += decoder.decode()
      if (partial.length) go = take(partial.replace(/\r$/, ""))
      if (go) total = lineNo
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
  return { lines: out, stoppedBy, more, total, lastShown: offset + out.length - 1 }
}

export function createReadTool(policy: ToolPolicy): ToolDef<typeof ReadParams> {
  return defineTool({
    name: "read",
    description: [
      `Read a text file. Returns numbered lines ("  line\\tcontent"), at most ${READ_MAX_LINES} lines or ${READ_MAX_BYTES / 1024} KB per call;`,
      "use offset/limit to read further in large files. Lines longer than 2000 characters are cut. Binary files are refused; use ls for directories.",
    ].join(" "),
    parameters: ReadParams,
    maxOutputChars: READ_MAX_BYTES + 1000,
    async execute(args) {
      const abs = policy.resolveReadPath(args.path)
      const shown = policy.display(abs)
      const st = statOrUndefined(abs)
      if (!st) throw new ToolError({ message: `${shown} does not exist. Check the path (ls lists a directory).` })
      if (st.isDirectory()) throw new ToolError({ message: `${shown} is a directory. Use ls to list it, then read a file inside it.` })
      if (!st.isFile()) throw new ToolError({ message: `${shown} is not a regular file.` })
      if (st.size === 0) return { output: `(${shown} is empty)` }
      if (looksBinary(abs))
        throw new ToolError({
          message: `${shown} looks like a binary file (${st.size} bytes); read only returns text. Use exec (e.g. file, xxd) to inspect it.`,
        })
      const offset = args.offset ?? 1
      const limit = args.limit ?? READ_MAX_LINES
      const r = await readLines(abs, offset, limit, st.size)
      if (r.lines.length === 0) {
        const total = r.total ?? "fewer"
        throw new ToolError({
          message: `offset ${offset} is past the end of ${shown} (${total} lines). Use an offset between 1 and ${r.total ?? "the line count"}.`,
        })
      }
      let note = ""
      if (r.more) {
        const why = r.stoppedBy === "bytes" ? `the ${READ_MAX_BYTES / 1024} KB output cap` : `the ${limit}-line limit`
        note = `\n\n[Showing lines ${offset}-${r.lastShown}${r.total !== undefined ? ` of ${r.total}` : ""} (stopped at ${why}). Call read with offset=${r.lastShown + 1} to continue.]`
      } else if (offset > 1) {
        note = `\n\n[End of file: lines ${offset}-${r.lastShown} of ${r.total ?? r.lastShown}.]`
      }
      return { output: r.lines.join("\n") + note, meta: { path: abs, totalLines: r.total, lastLine: r.lastShown } }
    },
  })
}

// ---- write ----

const WriteParams = z.object({
  path: z.string().describe("File to create or overwrite: relative to the workspace, or absolute inside the allowed directories"),
  content: z.string().describe("The complete new content of the file"),
})

export function createWriteTool(policy: ToolPolicy): ToolDef<typeof WriteParams> {
  return defineTool({
    name: "write",
    description: "Create a file or replace its whole content (parent directories are created). For small changes to an existing file prefer edit.",
    parameters: WriteParams,
    async execute(args) {
      const abs = policy.resolvePath(args.path)
      const shown = policy.display(abs)
      const st = statOrUndefined(abs)
      if (st?.isDirectory()) throw new ToolError({ message: `${shown} is a directory. Pass a file path (e.g. ${shown}/name.txt).` })
      try {
        writeFileAtomic(abs, args.content)
      } catch (err) {
        const e = err as NodeJS.ErrnoException
        if (e.code === "ENOTDIR" || e.code === "EEXIST")
          throw new ToolError({ message: `Cannot create ${shown}: a parent path component is a file, not a directory.` })
        if (e.code === "EACCES" || e.code === "EPERM") throw new ToolError({ message: `Permission denied writing ${shown}.` })
        throw err
      }
      const lines = args.content === "" ? 0 : args.content.split("\n").length - (args.content.endsWith("\n") ? 1 : 0)
      return {
        output: `${st ? "Overwrote" : "Created"} ${shown} (${Buffer.byteLength(args.content)} bytes, ${lines} lines).`,
        meta: { path: abs, created: !st },
      }
    },
  })
}

// ---- edit ----

const EditParams = z.object({
  path: z.string().describe("File to change: relative to the workspace, or absolute inside the allowed directories"),
  oldText: z.string().describe("Exact text to replace, including whitespace and indentation; include enough surrounding lines to make it unique"),
  newText: z.string().describe("Text to put in its place (empty string deletes oldText)"),
  replaceAll: z.boolean().optional().describe("Replace every occurrence instead of requiring exactly one (default false)"),
})

export function createEditTool(policy: ToolPolicy): ToolDef<typeof EditParams> {
  return defineTool({
    name: "edit",
    description:
      "Replace an exact text span in a file. oldText must match exactly once (whitespace included) unless replaceAll is true; read the file first and copy the text without the line-number prefix.",
    parameters: EditParams,
    async execute(args) {
      const abs = policy.resolvePath(args.path)
      const shown = policy.display(abs)
      if (args.oldText === "") throw new ToolError({ message: "oldText is empty. Pass the exact text to replace (to create or overwrite a file, use write)." })
      if (args.oldText === args.newText) throw new ToolError({ message: "oldText and newText are identical, so there is nothing to change." })
      const text = readTextForEdit(abs, shown, "edit")
      let oldText = args.oldText
      let newText = args.newText
      let count = countOccurrences(text, oldText)
      // A CRLF file edited with LF text: match in the file's line ending.
      if (count === 0 && text.includes("\r\n") && !oldText.includes("\r\n") && oldText.includes("\n")) {
        const crlf = (s: string) => s.replace(/\r?\n/g, "\r\n")
        const c = countOccurrences(text, crlf(oldText))
        if (c > 0) {
          oldText = crlf(oldText)
          newText = crlf(newText)
          count = c
        }
      }
      if (count === 0) {
        const trimmed = args.oldText.trim()
        const hint =
          trimmed && text.includes(trimmed)
            ? " The text exists with different leading/trailing whitespace or line breaks; copy it exactly."
            : " Read the file again and copy the text exactly (without the line-number prefix read adds)."
        throw new ToolError({ message: `oldText was not found in ${shown}.${hint}` })
      }
      if (count > 1 && !args.replaceAll)
        throw new ToolError({
          message: `oldText matches ${count} times in ${shown}. Include more surrounding lines so it matches exactly once, or set replaceAll: true to change all ${count}.`,
        })
      const first = text.indexOf(oldText)
      const updated = args.replaceAll ? text.split(oldText).join(newText) : text.slice(0, first) + newText + text.slice(first + oldText.length)
      writeFileAtomic(abs, updated)
      return {
        output: `Edited ${shown}: replaced ${args.replaceAll ? count : 1} occurrence${count > 1 && args.replaceAll ? "s" : ""} (first at line ${lineOf(text, first)}).`,
        meta: { path: abs, replacements: args.replaceAll ? count : 1 },
      }
    },
  })
}

// ---- ls ----

const LsParams = z.object({
  path: z.string().optional().describe("Directory to list (default: the workspace)"),
  recursive: z.boolean().optional().describe("List subdirectories too (skips the contents of .git and node_modules)"),
  limit: z.number().int().min(1).max(5000).optional().describe("Maximum number of entries (default 500)"),
})

const LS_SKIP = new Set([".git", "node_modules"])

export function createLsTool(policy: ToolPolicy): ToolDef<typeof LsParams> {
  return defineTool({
    name: "ls",
    description:
      "List a directory: names sorted, directories end with /, files show their size, symlinks show their target. recursive lists the whole tree (up to limit entries).",
    parameters: LsParams,
    async execute(args) {
      const abs = policy.resolvePath(args.path ?? ".")
      const shown = policy.display(abs)
      const st = statOrUndefined(abs)
      if (!st) throw new ToolError({ message: `${shown} does not exist. List its parent directory to see what is there.` })
      const limit = args.limit ?? 500
      if (!st.isDirectory()) return { output: `${basename(abs)}  ${st.size} bytes (a file; use read to see its content)` }
      const out: string[] = []
      let truncated = false
      const walk = (dir: string, depth: number): void => {
        let names: string[]
        try {
          names = readdirSync(dir).sort((a, b) => a.localeCompare(b))
        } catch (err) {
          out.push(`${relative(abs, dir) || "."}/ [unreadable: ${(err as NodeJS.ErrnoException).code}]`)
          return
        }
        for (const name of names) {
          if (out.length >= limit) {
            truncated = true
            return
          }
          const full = join(dir, name)
          const rel = relative(abs, full)
          let l: Stats
          try {
            l = lstatSync(full)
          } catch {
            continue
          }
          if (l.isSymbolicLink()) {
            let target = "?"
            try {
              target = readlinkSync(full)
            } catch {}
            out.push(`${rel} -> ${target}`)
          } else if (l.isDirectory()) {
            const skip = args.recursive && LS_SKIP.has(name)
            out.push(`${rel}/${skip ? " (contents not listed)" : ""}`)
            if (args.recursive && !skip) walk(full, depth + 1)
          } else {
            out.push(`${rel}  ${l.size} bytes`)
          }
        }
      }
      walk(abs, 0)
      if (!out.length) return { output: `${shown}/ is empty.` }
      const more = truncated ? `\n[stopped at ${limit} entries; pass a larger limit (max 5000) or list a subdirectory]` : ""
      return { output: `${shown}/\n${out.join("\n")}${more}`, meta: { entries: out.length, truncated } }
    },
  })
}
