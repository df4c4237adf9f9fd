/**
 * The environment exec runs commands in. Inherited variables pass only from a short keep-list (PATH, locale, terminal,
 * time zone, user name, proxies, plus tools.exec.passEnv), so the gateway's own GIT_*, LD_*, PAGER, NODE_OPTIONS and
 * the like never reach a command; HOME is a gateway-owned directory (never the workspace), and in allowlist and ask
 * modes git gets its protective settings (git-env.ts).
 */
import { lstatSync, mkdirSync } from "node:fs"
import { basename, dirname, isAbsolute, join, relative, sep } from "node:path"
import { GATEWAY_SECRETS } from "./hook-env.ts"
import { ToolError } from "./tool.ts"

/** Inherited as they are: they describe the user's locale, terminal and network, and load nothing. */
const KEEP =
  /^(PATH|LANG|LANGUAGE|LC_[A-Z_]+|TERM|COLORTERM|NO_COLOR|TZ|USER|LOGNAME|HOSTNAME|SSL_CERT_FILE|SSL_CERT_DIR|(HTTP|HTTPS|FTP|ALL|NO)_PROXY|(http|https|ftp|all|no)_proxy)$/

export interface ExecEnvOptions {
  /** The gateway's environment. */
  base: NodeJS.ProcessEnv
  /** The command's HOME. */
  home: string
  /** Extra variable names kept from base (tools.exec.passEnv). */
  passEnv: readonly string[]
  /** Directories commands must not find programs in (the roots: the agent can write there). */
  untrustedDirs: readonly string[]
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child)
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel))
}

/**
 * PATH without entries a command could be steered through: empty and relative entries (they mean the working
 * directory) and directories inside the roots (the agent could put a `git` there).
 */
export function trustedPath(path: string | undefined, untrusted: readonly string[]): string {
  return (path ?? "/usr/local/bin:/usr/bin:/bin")
    .split(":")
    .filter((d) => d !== "" && isAbsolute(d) && !untrusted.some((u) => isInside(d, u)))
    .join(":")
}

/** The scrubbed environment: the keep-list and passEnv from base, HOME, a plain SHELL, a trusted PATH. */
export function scrubbedEnv(o: ExecEnvOptions): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(o.base)) {
    if (v === undefined || GATEWAY_SECRETS.includes(k)) continue
    if (KEEP.test(k) || o.passEnv.includes(k)) env[k] = v
  }
  env.PATH = trustedPath(o.base.PATH, o.untrustedDirs)
  env.HOME = o.home
  env.SHELL = "/bin/sh"
  return env
}

/** The gateway's own environment minus its secrets (tools.exec.fullModeEnv "inherit"). */
export function inheritedEnv(base: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !GATEWAY_SECRETS.includes(k)) env[k] = v
  return env
}

/**
 * Where commands' HOME lives by default: <state home>/exec-home for the daemon's <state home>/workspace; for any
 * other workspace a hidden sibling named after it, so two workspaces never share one and it is never inside either.
 */
export function defaultExecHome(workspace: string): string {
  const parent = dirname(workspace)
  return basename(workspace) === "workspace" ? join(parent, "exec-home") : join(parent, `.${basename(workspace)}.exec-home`)
}

/** The state home the daemon's workspace sits in, or undefined for a workspace laid out otherwise. */
export function stateHomeOf(workspace: string): string | undefined {
  return basename(workspace) === "workspace" ? dirname(workspace) : undefined
}

/**
 * Creates HOME (0700) if missing and makes sure it is a private directory of ours: a HOME others can write (or a
 * symlink) could hold a .gitconfig or .bashrc someone else planted.
 */
export function ensureExecHome(home: string): string {
  try {
    mkdirSync(home, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new ToolError({ message: `Could not create the commands' HOME ${home}: ${(err as Error).message}` })
  }
  const st = lstatSync(home)
  const uid = process.getuid?.()
  const problem = !st.isDirectory()
    ? "is not a directory"
    : uid !== undefined && st.uid !== uid
      ? `belongs to uid ${st.uid}, not the gateway's user (${uid})`
      : st.mode & 0o022
        ? `can be written by others (mode ${(st.mode & 0o777).toString(8)})`
        : undefined
  if (problem)
    throw new ToolError({
      message: `exec will not run commands with HOME ${home}: it ${problem}. The gateway's operator should remove it (the gateway recreates it, private) or make it a directory only the gateway's user can write (chmod 700).`,
    })
  return home
}
