/**
 * Before an allowlisted git runs: the repository it will use, and whether its configuration (which the agent can
 * write: .git/config is a file in the workspace) names a command git would run. Settings with fixed names are
 * neutralised by git-env.ts; the ones refused here have names of the writer's choosing (a filter or diff driver, an
 * alias, a remote's upload-pack), so no override can reach them. Git itself reads the config (same environment, same
 * repository options), so includes, worktree config and .git files pointing elsewhere count exactly as git counts
 * them; reading config runs nothing.
 */
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"

/** Keys (lower-cased as `git config --list` prints them) that make git run a command or work outside the repository. */
const DANGEROUS: [RegExp, string][] = [
  [/^alias\./, "an alias (a `!` alias runs a shell command)"],
  [/^filter\..+\.(clean|smudge|process)$/, "a filter driver runs a command on file contents"],
  [/^diff\..+\.(textconv|command)$/, "a diff driver runs a command"],
  [/^diff\.external$/, "an external diff program"],
  [/^merge\..+\.driver$/, "a merge driver runs a command"],
  [/^remote\..+\.(uploadpack|receivepack)$/, "the program run for fetch or push"],
  [/^remote\..+\.vcs$/, "a remote helper program"],
  [/^core\.(gitproxy|alternaterefscommand)$/, "a command git runs"],
  [/^core\.worktree$/, "the work tree may be outside the allowed directories"],
  [/^credential\..+\.helper$/, "a credential helper runs a command"],
  [/^gpg\.ssh\.defaultkeycommand$/, "a command git runs to pick a signing key"],
  [/^submodule\..+\.update$/, "a submodule update may be a `!` command"],
]

export interface GitProbe {
  cwd: string
  /** git's global options that choose the repository (-C, --git-dir, --work-tree, --bare), as given. */
  repoArgs: string[]
  /** The environment the real command gets. */
  env: Record<string, string>
  /** Whether a path is inside tools.fs.roots. */
  inside(path: string): boolean
}

function git(p: GitProbe, args: string[], cwd = p.cwd): { ok: boolean; out: string } {
  const r = Bun.spawnSync(["git", ...args], { cwd, env: p.env, stdin: "ignore", stdout: "pipe", stderr: "ignore" })
  return { ok: r.exitCode === 0, out: r.stdout.toString() }
}

/** `git config --list -z` output as [key, scope] pairs (scope when --show-scope was given). */
function keysOf(out: string, scoped: boolean): { key: string; scope: string }[] {
  const fields = out.split("\0").filter((f) => f !== "")
  const res: { key: string; scope: string }[] = []
  if (scoped) {
    // --show-scope -z: scope\0key\nvalue\0
    for (let i = 0; i + 1 < fields.length; i += 2) res.push({ scope: fields[i]!, key: fields[i + 1]!.split("\n")[0]! })
  } else for (const f of fields) res.push({ scope: "file", key: f.split("\n")[0]! })
  return res
}

function firstDangerous(keys: { key: string }[]): { key: string; why: string } | undefined {
  for (const { key } of keys) {
    const lower = key.toLowerCase()
    const hit = DANGEROUS.find(([re]) => re.test(lower))
    if (hit) return { key, why: hit[1] }
  }
  return undefined
}

/** Config files of submodules git may run in: <gitdir>/modules/**\/config (bounded). */
function moduleConfigs(gitDir: string): string[] {
  const found: string[] = []
  const walk = (dir: string, depth: number) => {
    if (depth > 6 || found.length >= 100) return
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      return
    }
    if (names.includes("config") && dir !== gitDir) found.push(join(dir, "config"))
    for (const n of names) {
      const sub = join(dir, n)
      try {
        if (statSync(sub).isDirectory() && n !== "objects" && n !== "refs" && n !== "logs") walk(sub, depth + 1)
      } catch {}
    }
  }
  walk(join(gitDir, "modules"), 0)
  return found
}

/** Checked-out submodules with their own .git directory inside the work tree (the old layout). */
function embeddedConfigs(p: GitProbe, top: string): string[] {
  if (!existsSync(join(top, ".gitmodules"))) return []
  const r = git(p, ["config", "--file", join(top, ".gitmodules"), "-z", "--get-regexp", "^submodule\\..*\\.path$"], top)
  const out: string[] = []
  for (const entry of r.out.split("\0")) {
    const path = entry.split("\n")[1]
    if (!path) continue
    const config = join(top, path, ".git", "config")
    if (existsSync(config)) out.push(config)
  }
  return out
}

/** Why git must not run here, or undefined when the repository (if any) is safe to use. */
export function gitRepoRefusal(p: GitProbe): string | undefined {
  const dir = git(p, [...p.repoArgs, "rev-parse", "--absolute-git-dir"])
  if (!dir.ok) return undefined // not in a repository: git will say so itself
  const gitDir = dir.out.trim()
  if (!p.inside(gitDir)) return `the repository's git directory ${gitDir} is outside the allowed directories (tools.fs.roots)`
  const list = git(p, [...p.repoArgs, "config", "--list", "--includes", "--show-scope", "-z"])
  // Command-scope entries are the gateway's own overrides.
  const own = keysOf(list.out, true).filter((k) => k.scope !== "command")
  const bad = firstDangerous(own)
  if (bad) return `its configuration sets ${bad.key} (${bad.why})`
  const top = git(p, [...p.repoArgs, "rev-parse", "--show-toplevel"])
  const files = [...moduleConfigs(gitDir), ...(top.ok ? embeddedConfigs(p, top.out.trim()) : [])]
  for (const file of files) {
    const r = git(p, ["config", "--file", file, "--list", "--includes", "-z"])
    const hit = firstDangerous(keysOf(r.out, false))
    if (hit) return `the submodule config ${file} sets ${hit.key} (${hit.why})`
  }
  return undefined
}
