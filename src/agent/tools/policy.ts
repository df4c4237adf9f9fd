/**
 * Tool policy: which tools exist for the model (tools.allow / tools.deny), where file tools may read and write
 * (tools.fs.roots, no escape by `..` or symlinks) and whether a shell command may run (tools.exec.mode; the decision
 * itself is exec-check.ts), with the HOME and environment exec gives it.
 *
 * The config is read through a getter on every check, so a live config reload applies to the next call.
 */
import { existsSync, lstatSync, realpathSync, statSync } from "node:fs"
import { homedir } from "node:os"
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path"
import type { Config } from "../../config/schema.ts"
import { checkExecCommand } from "./exec-check.ts"
import { defaultExecHome, ensureExecHome, inheritedEnv, scrubbedEnv, stateHomeOf } from "./exec-env.ts"
import { gitEnv } from "./git-env.ts"
import { parseCommand } from "./shell-words.ts"
import { ToolError } from "./tool.ts"

export type ToolsConfig = Config["tools"]

export type ExecDecision = {
  decision: "allow" | "deny" | "ask"
  reason: string
  /** For a command the allowlist accepted: the words to run, without a shell (exactly what was checked). */
  argv?: string[]
}

export interface ToolPolicyOptions {
  /** The commands' HOME (default: defaultExecHome of the workspace, i.e. <state home>/exec-home for the daemon). */
  execHome?: string
  /** Folders the read tool may read besides the roots (the folders of eligible skills, whose SKILL.md the prompt lists). */
  readRoots?: () => string[]
}

/** Tool groups usable in tools.allow / tools.deny (OpenClaw's names). */
export const TOOL_GROUPS: Record<string, string[]> = {
  "group:fs": ["read", "write", "edit", "ls", "apply_patch"],
  "group:runtime": ["exec", "process"],
  "group:web": ["web_search", "web_fetch"],
  "group:ui": ["browser", "canvas"],
}

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

/** The first word of a command (its quoting removed), or undefined for an empty command. */
export function programName(command: string): string | undefined {
  return parseCommand(command).words[0]?.text
}

/** The shell operators found outside quotes (named for messages); empty when it is one plain invocation. */
export function shellOperators(command: string): string[] {
  return parseCommand(command).operators
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
  private readonly options: ToolPolicyOptions

  constructor(config: ToolsConfig | (() => ToolsConfig), workspace: string, options: ToolPolicyOptions = {}) {
    this.getConfig = typeof config === "function" ? config : () => config
    this.workspace = resolve(expandHome(workspace))
    this.options = options
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

  /** The allowed roots, symlinks resolved. */
  realRoots(): string[] {
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

  /**
   * resolvePath for reading: also inside readRoots (skill folders outside tools.fs.roots), symlinks resolved the same
   * way, so a skill's SKILL.md and its files can be read but never written.
   */
  resolveReadPath(p: string): string {
    try {
      return this.resolvePath(p)
    } catch (err) {
      const extra = this.options.readRoots?.() ?? []
      if (!extra.length || typeof p !== "string" || p.includes("\0")) throw err
      const real = realpathDeep(resolve(this.workspace, expandHome(p.trim())))
      const realExtra = extra.map((r) => (existsSync(r) ? realpathSync(r) : r))
      if (!realExtra.some((r) => isInside(real, r))) throw err
      refuseHardLinked(p, real)
      return real
    }
  }

  /**
   * Like resolvePath, but the result must be an existing directory (exec's working directory). In exec mode full
   * (unsandboxed) any existing directory is accepted: the command could `cd` anywhere anyway, so the roots check would
   * only refuse what it cannot prevent. Other modes keep it, since their checks judge paths relative to the workdir.
   */
  resolveDir(p: string | undefined): string {
    const exec = this.config.exec
    const anywhere = exec.mode === "full" && exec.sandbox === "off" && p !== undefined && p.trim() !== "" && !p.includes("\0")
    const dir = anywhere ? realpathDeep(resolve(this.workspace, expandHome(p.trim()))) : this.resolvePath(p ?? this.workspace)
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

  /** Whether a path (absolute) is inside the roots once symlinks are resolved. */
  isInsideRoots(abs: string): boolean {
    try {
      const real = realpathDeep(abs)
      return this.realRoots().some((r) => isInside(real, r))
    } catch {
      return false
    }
  }

  /**
   * Why a path named in a command's arguments must not be used without asking: outside the roots (symlinks
   * resolved), a broken symlink, or a hard-linked file (the file tools' reasons). Undefined when it is fine.
   */
  commandPathProblem(abs: string): string | undefined {
    let real: string
    try {
      real = realpathDeep(abs)
    } catch (err) {
      return (err as Error).message
    }
    if (!this.realRoots().some((r) => isInside(real, r))) return `${real} is outside the allowed directories (tools.fs.roots: ${this.roots().join(", ")})`
    try {
      refuseHardLinked(abs, real)
    } catch (err) {
      return (err as Error).message
    }
    return undefined
  }

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

  /** The commands' HOME: gateway-owned, never in the workspace. */
  execHome(): string {
    return this.options.execHome ?? defaultExecHome(this.workspace)
  }

  /**
   * The environment a command starts with (before the variables the call passes): scrubbed, HOME the gateway's
   * (created 0700 on first use), and in allowlist and ask modes git's protections. Throws a ToolError when HOME is
   * not private.
   */
  execEnv(): Record<string, string> {
    const exec = this.config.exec
    if (exec.mode === "full" && exec.fullModeEnv === "inherit") return inheritedEnv(process.env)
    const env = scrubbedEnv({ base: process.env, home: ensureExecHome(this.execHome()), passEnv: exec.passEnv, untrustedDirs: this.realRoots() })
    return exec.mode === "full" ? env : { ...env, ...gitEnv(this.realRoots()) }
  }

  /** Directories the bwrap sandbox hides: the state home (token, database, config), the user's home. */
  sandboxHidden(): string[] {
    const state = stateHomeOf(this.workspace)
    return [...new Set([homedir(), ...(state ? [state] : [])])].filter((d) => d !== "/")
  }

  /**
   * Whether a shell command may run: allow, deny (with the reason written for the model) or ask the operator.
   * `env` are the variables the call sets; `cwd` the directory it runs in (default: the workspace), against which
   * relative paths in its arguments resolve.
   */
  checkExec(command: string, env?: Record<string, string>, cwd?: string): ExecDecision {
    return checkExecCommand(this, command, env ?? {}, cwd ?? this.workspace)
  }
}
