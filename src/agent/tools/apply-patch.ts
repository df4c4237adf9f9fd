/**
 * apply_patch: multi-file edits in the `*** Begin Patch` format (Add File / Update File with @@ hunks and optional
 * Move to / Delete File). All or nothing: every hunk of every file is checked in memory before anything is written.
 */
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import { z } from "zod"
import { readTextForEdit, statOrUndefined } from "./fs-tools.ts"
import type { ToolPolicy } from "./policy.ts"
import { defineTool, ToolError, type ToolDef } from "./tool.ts"

export interface PatchChunk {
  /** Text after `@@ ` used to find the place (a line of the file), if any. */
  header?: string
  /** Context and removed lines, in order (what must be found). */
  oldLines: string[]
  /** Context and added lines, in order (what replaces it). */
  newLines: string[]
  /** `*** End of File`: the hunk must match at the end of the file. */
  eof: boolean
}

export type PatchOp =
  | { kind: "add"; path: string; content: string }
  | { kind: "delete"; path: string }
  | { kind: "update"; path: string; moveTo?: string; chunks: PatchChunk[] }

const BEGIN = "*** Begin Patch"
const END = "*** End Patch"
const ADD = "*** Add File: "
const DELETE = "*** Delete File: "
const UPDATE = "*** Update File: "
const MOVE = "*** Move to: "
const EOF_MARK = "*** End of File"

function patchError(msg: string): ToolError {
  return new ToolError({ message: `apply_patch: ${msg} No files were changed.` })
}

const isFileHeader = (l: string) => l.startsWith(ADD) || l.startsWith(DELETE) || l.startsWith(UPDATE) || l.trim() === END

/** Parses the patch text; throws a ToolError naming the offending line. */
export function parsePatch(input: string): PatchOp[] {
  let lines = input.trim().split(/\r?\n/)
  // Tolerate a shell heredoc wrapper (apply_patch <<'EOF' ... EOF).
  if (lines.length > 2 && /^(apply_patch\s*)?<<\s*['"]?EOF['"]?\s*$/.test(lines[0]!.trim()) && lines.at(-1)!.trim() === "EOF") lines = lines.slice(1, -1)
  if (lines[0]?.trim() !== BEGIN) throw patchError(`the patch must start with the line "${BEGIN}".`)
  if (lines.at(-1)?.trim() !== END) throw patchError(`the patch must end with the line "${END}".`)
  const ops: PatchOp[] = []
  let i = 1
  const last = lines.length - 1
  while (i < last) {
    const line = lines[i]!
    const lineNo = i + 1
    if (line.trim() === "") {
      i++
      continue
    }
    if (line.startsWith(ADD)) {
      const path = line.slice(ADD.length).trim()
      const body: string[] = []
      i++
      while (i < last && !isFileHeader(lines[i]!)) {
        const l = lines[i]!
        if (l.startsWith("+")) body.push(l.slice(1))
        else if (l === "") body.push("")
        else throw patchError(`line ${i + 1}: every line of an added file must start with "+" (got ${JSON.stringify(l.slice(0, 60))}).`)
        i++
      }
      ops.push({ kind: "add", path, content: body.length ? `${body.join("\n")}\n` : "" })
    } else if (line.startsWith(DELETE)) {
      ops.push({ kind: "delete", path: line.slice(DELETE.length).trim() })
      i++
    } else if (line.startsWith(UPDATE)) {
      const path = line.slice(UPDATE.length).trim()
      i++
      let moveTo: string | undefined
      if (i < last && lines[i]!.startsWith(MOVE)) {
        moveTo = lines[i]!.slice(MOVE.length).trim()
        i++
      }
      const chunks: PatchChunk[] = []
      let cur: PatchChunk | undefined
      while (i < last && !isFileHeader(lines[i]!)) {
        const l = lines[i]!
        if (l.startsWith("@@")) {
          const header = l.replace(/^@@\s?/, "").replace(/\s*@@\s*$/, "")
          cur = { header: header.trim() ? header : undefined, oldLines: [], newLines: [], eof: false }
          chunks.push(cur)
        } else if (l.trim() === EOF_MARK) {
          if (!cur) throw patchError(`line ${i + 1}: "${EOF_MARK}" must follow a hunk.`)
          cur.eof = true
        } else {
          if (!cur) {
            // The first hunk may omit its @@ line.
            cur = { oldLines: [], newLines: [], eof: false }
            chunks.push(cur)
          }
          const tag = l[0]
          const rest = l.slice(1)
          if (tag === " " || l === "") {
            cur.oldLines.push(rest)
            cur.newLines.push(rest)
          } else if (tag === "-") cur.oldLines.push(rest)
          else if (tag === "+") cur.newLines.push(rest)
          else
            throw patchError(
              `line ${i + 1}: in an Update File section every line must start with " " (context), "-" (remove), "+" (add) or "@@" (new hunk); got ${JSON.stringify(l.slice(0, 60))}.`,
            )
        }
        i++
      }
      if (!chunks.length && !moveTo) throw patchError(`line ${lineNo}: "${UPDATE}${path}" has no hunks. Add @@ hunks with the lines to change.`)
      ops.push({ kind: "update", path, moveTo, chunks })
    } else {
      throw patchError(`line ${lineNo}: expected "${ADD}", "${UPDATE}", "${DELETE}" or "${END}", got ${JSON.stringify(line.slice(0, 60))}.`)
    }
  }
  if (!ops.length) throw patchError("the patch contains no file operations.")
  for (const op of ops) if (!op.path) throw patchError(`an operation has an empty file path.`)
  return ops
}

/** First index ≥ start where `pattern` occurs: exact, then ignoring trailing, then surrounding whitespace. */
function seek(lines: string[], pattern: string[], start: number, eof: boolean): number {
  if (pattern.length === 0) return start
  if (pattern.length > lines.length) return -1
  const norms: ((s: string) => string)[] = [(s) => s, (s) => s.trimEnd(), (s) => s.trim()]
  for (const norm of norms) {
    const p = pattern.map(norm)
    const matchAt = (i: number) => p.every((x, k) => norm(lines[i + k]!) === x)
    if (eof) {
      const i = lines.length - pattern.length
      if (i >= start && matchAt(i)) return i
    }
    for (let i = start; i <= lines.length - pattern.length; i++) if (matchAt(i)) return i
  }
  return -1
}

/** Applies an Update File's hunks to the text; throws a ToolError naming the hunk that does not fit. */
export function applyChunks(text: string, chunks: PatchChunk[], shown: string): string {
  const eol = text.includes("\r\n") ? "\r\n" : "\n"
  const lines = text.split(/\r?\n/)
  if (lines.at(-1) === "") lines.pop()
  const repl: { at: number; del: number; add: string[] }[] = []
  let cursor = 0
  chunks.forEach((c, n) => {
    const which = `hunk ${n + 1} of ${chunks.length} for ${shown}`
    if (c.header) {
      const h = seek(lines, [c.header], cursor, false)
      if (h === -1)
        throw patchError(
          `${which}: the @@ line ${JSON.stringify(c.header)} matches no line of the file (after line ${cursor}). Use an existing line (e.g. a function signature) or omit it.`,
        )
      cursor = h + 1
    }
    if (c.oldLines.length === 0) {
      repl.push({ at: c.header ? cursor : lines.length, del: 0, add: c.newLines })
      return
    }
    let old = c.oldLines
    let add = c.newLines
    let at = seek(lines, old, cursor, c.eof)
    if (at === -1 && old.at(-1) === "") {
      old = old.slice(0, -1)
      add = add.at(-1) === "" ? add.slice(0, -1) : add
      at = seek(lines, old, cursor, c.eof)
    }
    if (at === -1) {
      const shownOld = c.oldLines.map((l) => `  ${l}`).join("\n")
      throw patchError(
        `${which}: these lines (context and "-" lines) were not found${cursor ? ` after line ${cursor}` : ""}:\n${shownOld}\nRead the file and rewrite the hunk with lines copied exactly from it, in file order.`,
      )
    }
    repl.push({ at, del: old.length, add })
    cursor = at + old.length
  })
  for (const r of repl.reverse()) lines.splice(r.at, r.del, ...r.add)
  return lines.length ? lines.join(eol) + eol : ""
}

const ApplyPatchParams = z.object({
  input: z
    .string()
    .describe(
      "The whole patch: '*** Begin Patch', then sections '*** Add File: <path>' (lines prefixed +), '*** Update File: <path>' (optional '*** Move to: <path>', then hunks starting with '@@' or '@@ <a line to anchor on>', lines prefixed ' ' context / '-' remove / '+' add) or '*** Delete File: <path>', then '*** End Patch'",
    ),
})

export function createApplyPatchTool(policy: ToolPolicy): ToolDef<typeof ApplyPatchParams> {
  return defineTool({
    name: "apply_patch",
    description: [
      "Edit, create, delete or rename several files in one call with a patch. Format:",
      "*** Begin Patch",
      "*** Add File: path/new.txt",
      "+first line",
      "*** Update File: path/existing.ts",
      "@@ function anchor() {",
      " unchanged context line",
      "-removed line",
      "+added line",
      "*** Delete File: path/old.txt",
      "*** End Patch",
      "Give about 3 lines of unchanged context around each change, copied exactly. All or nothing: if any hunk does not fit, no file is changed and the error names the hunk.",
    ].join("\n"),
    parameters: ApplyPatchParams,
    async execute(args) {
      const ops = parsePatch(args.input)
      /** Staged new content per absolute path; null = delete. */
      const staged = new Map<string, string | null>()
      const exists = (abs: string) => (staged.has(abs) ? staged.get(abs) !== null : statOrUndefined(abs) !== undefined)
      const current = (abs: string, shown: string) => {
        const s = staged.get(abs)
        if (s === null) throw patchError(`${shown} was deleted earlier in this patch.`)
        return s ?? readTextForEdit(abs, shown, "patch")
      }
      const summary: string[] = []
      const errors: string[] = []
      for (const op of ops) {
        try {
          const abs = policy.resolvePath(op.path)
          const shown = policy.display(abs)
          if (op.kind === "add") {
            if (exists(abs)) throw patchError(`cannot add ${shown}: it already exists. Use "${UPDATE}${op.path}" to change it.`)
            staged.set(abs, op.content)
            summary.push(`A ${shown}`)
          } else if (op.kind === "delete") {
            if (!exists(abs)) throw patchError(`cannot delete ${shown}: it does not exist.`)
            if (statOrUndefined(abs)?.isDirectory()) throw patchError(`cannot delete ${shown}: it is a directory.`)
            staged.set(abs, null)
            summary.push(`D ${shown}`)
          } else {
            if (!exists(abs)) throw patchError(`cannot update ${shown}: it does not exist. Use "${ADD}${op.path}" to create it.`)
            const next = applyChunks(current(abs, shown), op.chunks, shown)
            if (op.moveTo) {
              const dest = policy.resolvePath(op.moveTo)
              const destShown = policy.display(dest)
              if (dest !== abs && exists(dest)) throw patchError(`cannot move ${shown} to ${destShown}: the destination already exists.`)
              staged.set(abs, null)
              staged.set(dest, next)
              summary.push(`M ${shown} -> ${destShown}`)
            } else {
              staged.set(abs, next)
              summary.push(`M ${shown}`)
            }
          }
        } catch (err) {
          if (!(err instanceof ToolError)) throw err
          errors.push(err.message.replace(/^apply_patch: /, "").replace(/ No files were changed\.$/, ""))
        }
      }
      if (errors.length) throw new ToolError({ message: `apply_patch failed; no files were changed.\n- ${errors.join("\n- ")}` })

      // Write every new content to a temp file first, then rename them all, then delete.
      const temps: [string, string][] = []
      try {
        for (const [abs, content] of staged) {
          if (content === null) continue
          const old = statOrUndefined(abs)
          if (old?.isDirectory()) throw new Error(`${policy.display(abs)} is a directory`)
          mkdirSync(dirname(abs), { recursive: true })
          const tmp = join(dirname(abs), `.${basename(abs)}.patch-${crypto.randomUUID().slice(0, 8)}`)
          temps.push([tmp, abs])
          writeFileSync(tmp, content)
          if (old) chmodSync(tmp, old.mode & 0o7777)
        }
      } catch (err) {
        for (const [tmp] of temps) rmSync(tmp, { force: true })
        throw new ToolError({ message: `apply_patch could not write the files (${(err as Error).message}); no files were changed.` })
      }
      for (const [tmp, abs] of temps) renameSync(tmp, abs)
      for (const [abs, content] of staged) if (content === null) rmSync(abs, { force: true })
      return { output: `Applied the patch:\n${summary.join("\n")}`, meta: { files: summary } }
    },
  })
}
