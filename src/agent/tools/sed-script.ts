/**
 * Reads a sed script the way GNU sed compiles it, far enough to find the commands that run a program or touch a file
 * the arguments do not name: `e` (and the s///e flag) run a shell command, `w`/`W` (and s///w) write a file, `r`/`R`
 * read one. Text that is only data (a/i/c text, regexes, replacements, labels) is skipped as sed skips it. Anything
 * this reader cannot follow is refused: a script it misreads must never pass.
 */

export interface SedFinding {
  /** How the refusal names it: "the `e` command", "the `w` flag of s". */
  switch: string
  why: string
}

const WHY: Record<string, string> = {
  e: "runs a shell command",
  w: "writes a file the arguments do not name",
  W: "writes a file the arguments do not name",
  r: "reads a file the arguments do not name",
  R: "reads a file the arguments do not name",
}

const SIMPLE = new Set(["=", "d", "D", "g", "G", "h", "H", "n", "N", "p", "P", "x", "z", "F"])
const WITH_NUMBER = new Set(["l", "L", "q", "Q"])

class Unreadable extends Error {}

/** The first dangerous command in a sed script, or undefined when it has none. */
export function sedScriptFinding(script: string): SedFinding | undefined {
  try {
    return scan(script)
  } catch (err) {
    if (err instanceof Unreadable)
      return { switch: "this script", why: `cannot be read safely by the exec policy (${err.message}); simplify it or split it into plain commands` }
    throw err
  }
}

function scan(s: string): SedFinding | undefined {
  let i = 0
  const at = () => s[i]
  const skipBlanks = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++
  }
  /** Text up to an unescaped delimiter; i ends just past it. Newlines may not appear unescaped. */
  const delimited = (delim: string, what: string) => {
    for (;;) {
      if (i >= s.length) throw new Unreadable(`unterminated ${what}`)
      const c = s[i]!
      if (c === "\\") {
        i += 2
        continue
      }
      if (c === "\n") throw new Unreadable(`newline inside ${what}`)
      i++
      if (c === delim) return
    }
  }
  /** One address, if there is one here. */
  const address = (): boolean => {
    const c = at()
    if (c !== undefined && /[0-9]/.test(c)) {
      while (i < s.length && /[0-9]/.test(s[i]!)) i++
      if (at() === "~") {
        i++
        while (i < s.length && /[0-9]/.test(s[i]!)) i++
      }
      return true
    }
    if (c === "$") {
      i++
      return true
    }
    if (c === "/" || c === "\\") {
      let delim = "/"
      if (c === "\\") {
        i++
        delim = s[i] ?? ""
        if (!delim || delim === "\n" || delim === "\\") throw new Unreadable("bad regex delimiter")
      }
      i++
      delimited(delim, "address regex")
      while (at() === "I" || at() === "M") i++
      return true
    }
    return false
  }
  /** The end of a command: blanks, then end, `;`, newline, `}` or `#`. */
  const endOfCommand = () => {
    skipBlanks()
    const c = at()
    if (c === undefined || c === ";" || c === "\n" || c === "}" || c === "#") return
    throw new Unreadable(`unexpected "${c}" after a command`)
  }
  /** Skips to the end of the line, honouring backslash-newline continuations (a/i/c text). */
  const restOfText = () => {
    while (i < s.length && s[i] !== "\n") i += s[i] === "\\" ? 2 : 1
  }
  /** A label ends at blanks or `;` (ending it early only makes more of the script be read as commands). */
  const label = () => {
    skipBlanks()
    while (i < s.length && !" \t;\n".includes(s[i]!)) i++
  }

  while (i < s.length) {
    const c = at()!
    if (c === " " || c === "\t" || c === "\n" || c === ";") {
      i++
      continue
    }
    if (c === "#") {
      while (i < s.length && s[i] !== "\n") i++
      continue
    }
    if (address()) {
      skipBlanks()
      if (at() === ",") {
        i++
        skipBlanks()
        if (at() === "+" || at() === "~") {
          i++
          while (i < s.length && /[0-9]/.test(s[i]!)) i++
        } else if (!address()) throw new Unreadable("missing second address")
      }
    }
    skipBlanks()
    while (at() === "!") {
      i++
      skipBlanks()
    }
    const cmd = at()
    if (cmd === undefined) throw new Unreadable("missing command")
    i++
    if (WHY[cmd]) return { switch: `the \`${cmd}\` command`, why: WHY[cmd]! }
    if (cmd === "{" || cmd === "}") continue
    if (SIMPLE.has(cmd)) {
      endOfCommand()
      continue
    }
    if (WITH_NUMBER.has(cmd)) {
      skipBlanks()
      while (i < s.length && /[0-9]/.test(s[i]!)) i++
      endOfCommand()
      continue
    }
    if (cmd === ":" || cmd === "b" || cmd === "t" || cmd === "T") {
      label()
      endOfCommand()
      continue
    }
    if (cmd === "a" || cmd === "i" || cmd === "c") {
      restOfText()
      continue
    }
    if (cmd === "v") {
      label()
      endOfCommand()
      continue
    }
    if (cmd === "s" || cmd === "y") {
      const delim = s[i]
      if (!delim || delim === "\n" || delim === "\\") throw new Unreadable(`bad ${cmd} delimiter`)
      i++
      delimited(delim, `${cmd} pattern`)
      delimited(delim, `${cmd} replacement`)
      if (cmd === "s") {
        for (;;) {
          const f = at()
          if (f === "e" || f === "w") return { switch: `the \`${f}\` flag of s`, why: WHY[f]! }
          if (f !== undefined && /[gpiImM0-9]/.test(f)) {
            i++
            continue
          }
          break
        }
      }
      endOfCommand()
      continue
    }
    throw new Unreadable(`unknown command "${cmd}"`)
  }
  return undefined
}
