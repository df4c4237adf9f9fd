/**
 * Reads an awk program as tokens (strings, regex literals and comments skipped) to find what runs a command or touches
 * a file the arguments do not name: system(), a pipe to or from a command (`|`, gawk's `|&`), getline from a file,
 * output redirection in print/printf (`>` or `>>` outside parentheses, which awk reads as a file name, not a
 * comparison), gawk's @load/@include and indirect calls (`@f()`, which can reach system), and ARGV/ARGC changes
 * (another file to read). Deliberately coarse: a false refusal is better than a missed command.
 */

export interface AwkFinding {
  switch: string
  why: string
}

/** After these tokens a `/` starts a regex literal; after anything else it divides. */
const REGEX_AFTER = new Set([
  "",
  "(",
  ",",
  "{",
  "}",
  ";",
  "\n",
  "!",
  "~",
  "&&",
  "||",
  "?",
  ":",
  "=",
  "==",
  "!=",
  "<",
  "<=",
  ">",
  ">=",
  "+",
  "-",
  "*",
  "%",
  "^",
  "in",
  "print",
  "printf",
  "return",
  "case",
])

/** The first thing in an awk program that runs a command or reaches another file, or undefined. */
export function awkProgramFinding(src: string): AwkFinding | undefined {
  let i = 0
  let prev = ""
  /** Paren depth, and the depth at which the current print/printf statement started (-1 when not in one). */
  let depth = 0
  let printDepth = -1
  while (i < src.length) {
    const c = src[i]!
    if (c === " " || c === "\t" || c === "\r") {
      i++
      continue
    }
    if (c === "\\" && src[i + 1] === "\n") {
      i += 2
      continue
    }
    if (c === "#") {
      while (i < src.length && src[i] !== "\n") i++
      continue
    }
    if (c === '"') {
      i++
      while (i < src.length && src[i] !== '"') i += src[i] === "\\" ? 2 : 1
      i++
      prev = "string"
      continue
    }
    if (c === "/" && REGEX_AFTER.has(prev)) {
      i++
      let inBracket = false
      while (i < src.length && src[i] !== "\n") {
        const ch = src[i]
        if (ch === "\\") {
          i += 2
          continue
        }
        if (ch === "[") inBracket = true
        else if (ch === "]") inBracket = false
        else if (ch === "/" && !inBracket) break
        i++
      }
      i++
      prev = "regex"
      continue
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))
    if (word) {
      const w = word[0]
      i += w.length
      if (w === "system") return { switch: "system()", why: "runs a shell command" }
      if (w === "ARGV" || w === "ARGC") return { switch: w, why: "changes which files awk reads" }
      if (w === "getline") {
        let j = i
        while (src[j] === " " || src[j] === "\t") j++
        // getline var? < file
        const after = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\s*/.exec(src.slice(j))
        if (src[j] === "<" || (after && src[j + after[0].length] === "<")) return { switch: "getline <", why: "reads a file the arguments do not name" }
      }
      if (w === "print" || w === "printf") printDepth = depth
      prev = w
      continue
    }
    const num = /^[0-9][0-9.eE]*/.exec(src.slice(i))
    if (num) {
      i += num[0].length
      prev = "number"
      continue
    }
    const op = /^(\|\||&&|==|!=|<=|>=|>>|\+\+|--|\+=|-=|\*=|\/=|%=|\^=|!~|.)/s.exec(src.slice(i))![0]
    i += op.length
    if (op === "|") return { switch: "`|`", why: "pipes to or from a shell command" }
    if (op === "@") return { switch: "`@` (gawk @load, @include, indirect calls)", why: "loads code or calls a function by name (system included)" }
    if ((op === ">" || op === ">>") && printDepth !== -1 && depth === printDepth)
      return { switch: `\`${op}\` in print`, why: "writes a file the arguments do not name" }
    if (op === "(" || op === "[") depth++
    else if (op === ")" || op === "]") depth--
    else if (op === ";" || op === "\n" || op === "}" || op === "{") printDepth = -1
    prev = op === "++" || op === "--" ? "number" : op === ")" || op === "]" || op === "$" ? "operand" : op
  }
  return undefined
}
