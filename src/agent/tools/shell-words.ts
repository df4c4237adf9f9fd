/**
 * A command line read the way /bin/sh reads it, for the exec policy: words with quotes and backslashes removed,
 * comments dropped, and whatever makes it more than one plain invocation (operators, command substitution, parameter
 * expansion) reported instead of interpreted. A command the allowlist accepts runs as exactly these words, with no
 * shell in between, so what the policy checked is what runs; globs and `~` are expanded here for the same reason.
 */
import { lstatSync, readdirSync, statSync } from "node:fs"
import { resolve } from "node:path"

export interface Word {
  /** The word with its quoting removed. */
  text: string
  /** Per character of text: whether it was quoted (a quoted `*` is a plain star, a quoted `~` no home). */
  quoted: boolean[]
}

export interface ParsedCommand {
  words: Word[]
  /** Operators and substitutions found outside single quotes, named for messages (";", "|", "$(", "newline", …). */
  operators: string[]
  /** Parameter expansions found outside single quotes ("$HOME", "${x}", "$'"). */
  expansions: string[]
  /** A quote that never closes. */
  unterminated: boolean
}

/** Operators in the order messages list them. */
const OPERATOR_ORDER = [";", "|", "&", "`", "$(", "(", ")", ">", "<", "newline", "carriage return"]
const OPERATOR_CHARS: Record<string, string> = {
  ";": ";",
  "|": "|",
  "&": "&",
  "`": "`",
  "(": "(",
  ")": ")",
  ">": ">",
  "<": "<",
  "\n": "newline",
  "\r": "carriage return",
}
/** Inside double quotes a backslash escapes only these. */
const DQ_ESCAPABLE = new Set(["$", "`", '"', "\\", "\n"])
const SPECIAL_PARAMS = new Set(["@", "*", "#", "?", "$", "!", "-"])

/** Splits a command into shell words; never throws. */
export function parseCommand(command: string): ParsedCommand {
  const words: Word[] = []
  const operators = new Set<string>()
  const expansions = new Set<string>()
  let unterminated = false
  let cur: Word | undefined
  const push = (ch: string, quoted: boolean) => {
    cur ??= { text: "", quoted: [] }
    cur.text += ch
    cur.quoted.push(quoted)
  }
  const end = () => {
    if (cur) words.push(cur)
    cur = undefined
  }
  /** A `$` at i (outside single quotes): an expansion, a substitution, or a literal dollar. Returns the next index. */
  const dollar = (s: string, i: number, inDouble: boolean): number => {
    const next = s[i + 1]
    if (next === "(") {
      operators.add("$(")
      return i + 2
    }
    if (next === "{") {
      const close = s.indexOf("}", i + 2)
      expansions.add(close === -1 ? "${" : s.slice(i, close + 1))
      return close === -1 ? s.length : close + 1
    }
    if (next !== undefined && /[A-Za-z_]/.test(next)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i + 1))!
      expansions.add(`$${m[0]}`)
      return i + 1 + m[0].length
    }
    if (next !== undefined && (/[0-9]/.test(next) || SPECIAL_PARAMS.has(next))) {
      expansions.add(`$${next}`)
      return i + 2
    }
    // bash's $'…' and $"…" quoting: dash reads them differently, so neither reading is safe to assume.
    if (!inDouble && (next === "'" || next === '"')) {
      expansions.add(`$${next}`)
      return i + 1
    }
    push("$", inDouble)
    return i + 1
  }

  const s = command
  let i = 0
  while (i < s.length) {
    const c = s[i]!
    if (c === " " || c === "\t") {
      end()
      i++
    } else if (c === "#" && cur === undefined) {
      // A comment runs to the end of the line (the newline itself is still an operator).
      while (i < s.length && s[i] !== "\n") i++
    } else if (c === "\\") {
      if (s[i + 1] === "\n") i += 2
      else if (i + 1 < s.length) {
        push(s[i + 1]!, true)
        i += 2
      } else {
        push("\\", true)
        i++
      }
    } else if (c === "'") {
      const close = s.indexOf("'", i + 1)
      if (close === -1) {
        unterminated = true
        break
      }
      cur ??= { text: "", quoted: [] }
      for (const ch of s.slice(i + 1, close)) push(ch, true)
      i = close + 1
    } else if (c === '"') {
      cur ??= { text: "", quoted: [] }
      i++
      let closed = false
      while (i < s.length) {
        const d = s[i]!
        if (d === '"') {
          closed = true
          i++
          break
        }
        if (d === "\\" && i + 1 < s.length && DQ_ESCAPABLE.has(s[i + 1]!)) {
          if (s[i + 1] !== "\n") push(s[i + 1]!, true)
          i += 2
        } else if (d === "`") {
          operators.add("`")
          i++
        } else if (d === "$") {
          i = dollar(s, i, true)
        } else {
          push(d, true)
          i++
        }
      }
      if (!closed) {
        unterminated = true
        break
      }
    } else if (c === "$") {
      i = dollar(s, i, false)
    } else if (OPERATOR_CHARS[c]) {
      operators.add(OPERATOR_CHARS[c]!)
      end()
      i++
    } else {
      push(c, false)
      i++
    }
  }
  end()
  return { words, operators: OPERATOR_ORDER.filter((o) => operators.has(o)), expansions: [...expansions], unterminated }
}

/** `NAME=value` as a first word: sh would set a variable for the program, not run a program of that name. */
export function isAssignment(w: Word): boolean {
  const m = /^[A-Za-z_][A-Za-z0-9_]*=/.exec(w.text)
  return !!m && !w.quoted[m[0].length - 1]
}

function hasGlob(w: Word): boolean {
  for (let i = 0; i < w.text.length; i++) if (!w.quoted[i] && "*?[".includes(w.text[i]!)) return true
  return false
}

/**
 * The words a shell would pass for one word: `~` and `~/…` become home, unquoted `*`, `?` and `[…]` match names in
 * the file system (sorted; a pattern that matches nothing stays as written, as in sh). Throws for `~user`.
 */
export function expandWord(w: Word, cwd: string, home: string): string[] {
  let word = w
  if (w.text.startsWith("~") && !w.quoted[0]) {
    const slash = w.text.indexOf("/")
    const prefix = slash === -1 ? w.text : w.text.slice(0, slash)
    if (prefix !== "~") throw new Error(`${prefix} (another user's home directory) is not expanded; write the path out`)
    word = { text: home + w.text.slice(1), quoted: [...Array(home.length).fill(true), ...w.quoted.slice(1)] }
  }
  if (!hasGlob(word)) return [word.text]
  const matches = globMatches(word, cwd)
  return matches.length ? matches : [word.text]
}

interface Segment {
  text: string
  quoted: boolean[]
}

function splitSegments(w: Word): Segment[] {
  const segs: Segment[] = [{ text: "", quoted: [] }]
  for (let i = 0; i < w.text.length; i++) {
    if (w.text[i] === "/") segs.push({ text: "", quoted: [] })
    else {
      segs.at(-1)!.text += w.text[i]
      segs.at(-1)!.quoted.push(w.quoted[i]!)
    }
  }
  return segs
}

const escapeRe = (ch: string) => ch.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")

/** A regular expression for one path segment of a sh pattern. */
function segmentRegExp(seg: Segment): RegExp {
  let re = ""
  const { text, quoted } = seg
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (quoted[i]) re += escapeRe(ch)
    else if (ch === "*") re += ".*"
    else if (ch === "?") re += "."
    else if (ch === "[") {
      // A bracket expression: [abc], [a-z], [!x] / [^x]; a "]" right after the opening is literal.
      let j = i + 1
      let negate = false
      if (!quoted[j] && (text[j] === "!" || text[j] === "^")) {
        negate = true
        j++
      }
      let body = ""
      let first = true
      let closed = -1
      for (; j < text.length; j++) {
        const b = text[j]!
        if (b === "]" && !quoted[j] && !first) {
          closed = j
          break
        }
        body += b === "-" && !quoted[j] && !first && text[j + 1] !== "]" ? "-" : escapeRe(b)
        first = false
      }
      if (closed === -1) re += "\\["
      else {
        re += `[${negate ? "^" : ""}${body}]`
        i = closed
      }
    } else re += escapeRe(ch)
  }
  return new RegExp(`^${re}$`, "s")
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort()
  } catch {
    return []
  }
}

function exists(p: string, dirOnly: boolean): boolean {
  try {
    if (dirOnly) return statSync(p).isDirectory()
    lstatSync(p)
    return true
  } catch {
    return false
  }
}

function globMatches(w: Word, cwd: string): string[] {
  const segs = splitSegments(w)
  const absolute = w.text.startsWith("/")
  let paths = [absolute ? "/" : ""]
  const join = (base: string, name: string) => (base === "" ? name : base.endsWith("/") ? base + name : `${base}/${name}`)
  for (const [n, seg] of segs.entries()) {
    if (absolute && n === 0) continue
    const last = n === segs.length - 1
    if (!hasGlob(seg)) {
      paths = paths.map((p) => (last && seg.text === "" ? `${p}/` : join(p, seg.text)))
      continue
    }
    const re = segmentRegExp(seg)
    // Names starting with a dot match only a pattern that starts with a literal dot.
    const dotOk = seg.text.startsWith(".")
    const next: string[] = []
    for (const p of paths) {
      for (const name of listDir(resolve(cwd, p || "."))) {
        if (name.startsWith(".") && !dotOk) continue
        if (re.test(name)) next.push(join(p, name))
      }
    }
    paths = next
    if (!paths.length) return []
  }
  return paths.filter((p) => exists(resolve(cwd, p), p.endsWith("/"))).sort()
}
