/**
 * Tool policy: which tools exist for the model (tools.allow / tools.deny), where file tools may read and write
 * (tools.fs.roots, no escape by `..` or symlinks) and whether a shell command may run (tools.exec.mode).
 *
 * The config is read through a getter on every check, so a live config reload applies to the next call.
 */
import { existsSync, lstatSync, realpathSync, statSync } from "node:fs"
import { homedir } from "node:os"
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path"
import type { Config } from "../../config/schema.ts"
import { ToolError } from "./tool.ts"

export type ToolsConfig = Config["tools"]

export type ExecDecision = { decision: "allow" | "deny" | "ask"; reason: string }

/** Tool groups usable in tools.allow / tools.deny (OpenClaw's names). */
export const TOOL_GROUPS: Record<string, string[]> = {
  "group:fs": ["read", "write", "edit", "ls", "apply_patch"],
  "group:runtime": ["exec", "process"],
  "group:web": ["web_fetch"],
}

/** Characters and sequences that make a command more than one plain program invocation. */
const SHELL_OPERATORS: [string, string][] = [
  [";", ";"],
  ["|", "|"],
  ["&", "&"],
  ["`", "`"],
  ["$(", "$("],
  ["(", "("],
  [")", ")"],
  [">", ">"],
  ["<", "<"],
  ["\n", "newline"],
  ["\r", "carriage return"],
]

/** Environment variables that change which program runs or what it loads; not settable on auto-allowed commands. */
const DANGEROUS_ENV = /^(PATH|IFS|ENV|BASH_ENV|SHELLOPTS|BASHOPTS|PS4|LD_.*|DYLD_.*|NODE_OPTIONS|PYTHONPATH|PYTHONSTARTUP|PERL5LIB|PERL5OPT|RUBYOPT|GIT_.*)$/i

/** `*` wildcard match, case-insensitive. */
export function matchesPattern(name: string, pattern: string): boolean {
  const re = new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`, "i")
  return re.test(name)
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
}

function matchesAny(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    const group = TOOL_GROUPS[p.toLowerCase()]
    return group ? group.includes(name.toLowerCase()) : matchesPattern(name, p)
  })
}

/** The first word of a command (quotes around it removed), or undefined for an empty command. */
export function programName(command: string): string | undefined {
  const first = command.trim().split(/\s+/)[0]
  if (!first) return undefined
  const m = /^(["'])(.*)\1$/.exec(first)
  return m ? m[2] : first
}

/** The shell operators found in a command (named for messages); empty when it is one plain invocation. */
export function shellOperators(command: string): string[] {
  return SHELL_OPERATORS.filter(([op]) => command.includes(op)).map(([, name]) => name)
}

function expandHome(p: string): string {
  if (p === "~") return homedir()
  if (p.startsWith("~/")) return join(homedir(), p.slice(2))
  return p
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child)
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel))
}

/**
 * A file with more than one hard link may be the same inode as a file outside the roots (a link made inside the
 * workspace points at it, and realpath cannot tell): reading or writing it would cross the boundary.
 */
function refuseHardLinked(given: string, real: string): void {
  let st: ReturnType<typeof statSync> | undefined
  try {
    st = statSync(real)
  } catch {
    return // does not exist yet: nothing to be linked to
  }
  if (st.isFile() && st.nlink > 1) {
    throw new ToolError({
      message: `${given} has ${st.nlink} hard links, so it may be a file outside the allowed directories under another name; file tools refuse hard-linked files. Copy its content to a new file if you need it.`,
    })
  }
}

/** realpath of the deepest existing ancestor plus the rest of the path; throws for a dangling symlink. */
function realpathDeep(abs: string): string {
  const rest: string[] = []
  let cur = abs
  for (;;) {
    let exists = false
    try {
      lstatSync(cur)
      exists = true
    } catch {}
    if (exists) {
      let real: string
      try {
        real = realpathSync(cur)
      } catch {
        throw new ToolError({ message: `${cur} is a broken symbolic link (its target does not exist). Use a different path.` })
      }
      return rest.length ? join(real, ...rest.reverse()) : real
    }
    const parent = dirname(cur)
    if (parent === cur) return abs
    rest.push(basename(cur))
    cur = parent
  }
}

export class ToolPolicy {
  readonly workspace: string
  private readonly getConfig: () => ToolsConfig

  constructor(config: ToolsConfig | (() => ToolsConfig), workspace: string) {
    this.getConfig = typeof config === "function" ? config : () => config
    this.workspace = resolve(expandHome(workspace))
  }

  get config(): ToolsConfig {
    return this.getConfig()
  }

  // ---- tool names ----

  /** tools.allow (default: everything) minus tools.deny; `*` wildcards and group:* names; deny wins; case-insensitive. */
  isAllowed(name: string): boolean {
    const { allow, deny } = this.config
    if (matchesAny(name, deny)) return false
    if (allow === undefined) return true
    return matchesAny(name, allow)
  }

  // ---- paths ----

  /** The allowed roots, absolute (not symlink-resolved). */
  roots(): string[] {
    const roots = this.config.fs.roots
    if (!roots || roots.length === 0) return [this.workspace]
    return roots.map((r) => resolve(this.workspace, expandHome(r)))
  }

  private realRoots(): string[] {
    return this.roots().map((r) => (existsSync(r) ? realpathSync(r) : r))
  }

  /**
   * Resolves a path given by the model (relative paths against the workspace) and confines it to the allowed roots.
   * Returns the symlink-free absolute path. Throws a ToolError naming the roots for anything outside them.
   */
  resolvePath(p: string): string {
    if (typeof p !== "string" || p.trim() === "")
      throw new ToolError({ message: "The path is empty. Pass a file path relative to the workspace or an absolute path inside it." })
    if (p.includes("\0")) throw new ToolError({ message: "The path contains a NUL character. Pass a plain file path." })
    const abs = resolve(this.workspace, expandHome(p.trim()))
    const real = realpathDeep(abs)
    // Only the symlink-free path decides; the lexical one just explains a refusal.
    if (!this.realRoots().some((r) => isInside(real, r))) {
      const lexicalOk = this.roots().some((r) => isInside(abs, r))
      const why = lexicalOk ? ` (a symbolic link on the way leads to ${real})` : ""
      throw new ToolError({
        message: `Path ${p} is outside the allowed directories${why}. File tools may only touch ${this.roots().join(", ")} (tools.fs.roots). Use a path inside ${this.roots().length > 1 ? "one of them" : "it"}, e.g. a path relative to the workspace.`,
      })
    }
    refuseHardLinked(p, real)
    return real
  }

  /** Like resolvePath, but the result must be an existing directory (exec's working directory). */
  resolveDir(p: string | undefined): string {
    const dir = this.resolvePath(p ?? this.workspace)
    let ok = false
    try {
      ok = statSync(dir).isDirectory()
    } catch {}
    if (!ok)
      throw new ToolError({
        message: `Working directory ${p ?? dir} does not exist or is not a directory. Pass an existing directory inside the workspace (or omit workdir).`,
      })
    return dir
  }

  /** A path for messages: relative to the workspace when inside it, else absolute. */
  display(abs: string): string {
    const ws = existsSync(this.workspace) ? realpathSync(this.workspace) : this.workspace
    if (isInside(abs, ws)) return relative(ws, abs) || "."
    return abs
  }

  // ---- exec ----

  /** Whether a program (as written in the command) is on tools.exec.allowlist. */
  isProgramAllowlisted(program: string | undefined): boolean {
    if (!program) return false
    const list = this.config.exec.allowlist
    const realOf = (p: string) => {
      try {
        return realpathSync(p)
      } catch {
        return p
      }
    }
    for (const entry of list) {
      if (isAbsolute(entry)) {
        if (isAbsolute(program)) {
          if (program === entry || realOf(program) === realOf(entry)) return true
        } else if (!program.includes("/")) {
          const found = Bun.which(program)
          if (found && realOf(found) === realOf(entry)) return true
        }
      } else if (program === entry) {
        return true
      } else if (isAbsolute(program) && basename(program) === entry) {
        // "/usr/bin/git" matches "git" only when it is the git found on PATH, so a look-alike
        // program written into the workspace does not pass as an allowlisted one.
        const found = Bun.which(entry)
        if (found && realOf(found) === realOf(program)) return true
      }
    }
    return false
  }

  /**
   * Whether a shell command may run: allow, deny (with the reason written for the model) or ask the operator.
   * `env` are the variables the call sets; those that change which program runs make an auto-allow an ask/deny.
   */
  checkExec(command: string, env?: Record<string, string>): ExecDecision {
    const { mode, allowlist } = this.config.exec
    if (!command.trim()) return { decision: "deny", reason: "The command is empty. Pass the shell command to run." }
    if (mode === "deny")
      return {
        decision: "deny",
        reason: 'exec is disabled by the gateway\'s tool policy (tools.exec.mode is "deny"). Do the task with the other tools, or ask the user to enable exec.',
      }
    if (mode === "full") return { decision: "allow", reason: "tools.exec.mode is full" }
    const program = programName(command)
    const ops = shellOperators(command)
    const listed = this.isProgramAllowlisted(program)
    const badEnv = Object.keys(env ?? {}).filter((k) => DANGEROUS_ENV.test(k))
    if (mode === "allowlist") {
      if (ops.length)
        return {
          decision: "deny",
          reason: `Shell operators (${ops.join(" ")}) are not allowed: tools.exec.mode is "allowlist", which runs one allowlisted program per call. Split the command into separate exec calls without pipes, redirects, substitutions or chaining.`,
        }
      if (!listed)
        return {
          decision: "deny",
          reason: `Program "${program}" is not on tools.exec.allowlist (allowed: ${allowlist.length ? allowlist.join(", ") : "none"}). Use one of the allowed programs or another tool.`,
        }
      if (badEnv.length)
        return { decision: "deny", reason: `Setting ${badEnv.join(", ")} is not allowed in allowlist mode. Run the command without these env variables.` }
      return { decision: "allow", reason: `${program} is allowlisted` }
    }
    // ask
    if (listed && !ops.length && !badEnv.length) return { decision: "allow", reason: `${program} is allowlisted` }
    const why = !listed ? `${program} is not allowlisted` : ops.length ? `the command uses shell operators (${ops.join(" ")})` : `it sets ${badEnv.join(", ")}`
    return { decision: "ask", reason: `operator approval needed: ${why}` }
  }
}
