/**
 * Where skills come from and which copy wins: workspace `skills/` > managed `$GATEWAY_HOME/skills` > bundled (in the
 * binary) > `skills.load.extraDirs`, as OpenClaw orders them. Each root holds one folder per skill with a SKILL.md.
 * A broken SKILL.md becomes an entry in `errors` naming its file; the other skills still load.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs"
import { homedir } from "node:os"
import { join, relative, resolve, sep } from "node:path"
import { BUNDLED_ROOT, BUNDLED_SKILLS } from "./bundled.ts"
import { scanPipeToShell, type SkillFlag } from "./danger.ts"
import { MAX_SKILL_MD_BYTES, parseSkillMd, type SkillMeta } from "./frontmatter.ts"

/** OpenClaw's source names, so clients that group by source see the same values. */
export type SkillSource = "openclaw-workspace" | "openclaw-managed" | "openclaw-bundled" | "openclaw-extra"

/** Highest precedence first. */
export const SOURCE_ORDER: readonly SkillSource[] = ["openclaw-workspace", "openclaw-managed", "openclaw-bundled", "openclaw-extra"]

/** At most this many folders are looked at per root (a home directory given by mistake stays cheap). */
export const MAX_CANDIDATES_PER_ROOT = 300

export interface LoadedSkill extends SkillMeta {
  source: SkillSource
  /** Absolute path of SKILL.md (bundled: <bundled>/<name>/SKILL.md). */
  filePath: string
  baseDir: string
  /** Name the config keys it by: metadata skillKey, else the name. */
  key: string
  flags: SkillFlag[]
  /** Lower-precedence copies with the same name that this one hides (commandTool: the hidden copy's, if it dispatches). */
  shadows: { source: SkillSource; filePath: string; commandTool?: string }[]
}

export interface SkillLoadError {
  source: SkillSource
  filePath: string
  message: string
}

export interface SkillRoots {
  workspaceDir: string
  managedDir: string
  extraDirs: string[]
}

export interface LoadResult {
  skills: LoadedSkill[]
  errors: SkillLoadError[]
}

export function expandHome(p: string): string {
  return p === "~" ? homedir() : p.startsWith("~/") ? join(homedir(), p.slice(2)) : p
}

/** The directories scanned, with their source (bundled has none). */
export function skillRootDirs(roots: SkillRoots): { source: SkillSource; dir: string }[] {
  return [
    { source: "openclaw-workspace", dir: join(roots.workspaceDir, "skills") },
    { source: "openclaw-managed", dir: roots.managedDir },
    ...roots.extraDirs.map((d) => ({ source: "openclaw-extra" as const, dir: resolve(roots.workspaceDir, expandHome(d)) })),
  ]
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child)
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep))
}

type Candidate = { ok: Omit<LoadedSkill, "shadows"> } | { err: SkillLoadError }

function fromText(text: string, dirName: string, source: SkillSource, filePath: string, baseDir: string): Candidate {
  try {
    const { meta } = parseSkillMd(text, dirName)
    return { ok: { ...meta, source, filePath, baseDir, key: meta.skillKey ?? meta.name, flags: scanPipeToShell(text) } }
  } catch (err) {
    return { err: { source, filePath, message: (err as Error).message } }
  }
}

/** The skill folders of one root directory (missing root: none). */
function scanDir(dir: string, source: SkillSource): Candidate[] {
  let names: string[]
  try {
    names = readdirSync(dir).sort()
  } catch {
    return []
  }
  let realRoot: string
  try {
    realRoot = realpathSync(dir)
  } catch {
    return []
  }
  const out: Candidate[] = []
  for (const name of names.slice(0, MAX_CANDIDATES_PER_ROOT)) {
    if (name.startsWith(".")) continue
    const baseDir = join(dir, name)
    const filePath = join(baseDir, "SKILL.md")
    try {
      if (!statSync(baseDir).isDirectory()) continue
      if (!statSync(filePath).isFile()) continue
    } catch {
      continue
    }
    // A folder or SKILL.md that is a link out of the root is refused: it would load files nobody put there.
    try {
      const real = realpathSync(filePath)
      if (!isInside(real, realRoot)) {
        out.push({
          err: { source, filePath, message: `SKILL.md resolves outside ${dir} (${real}); symbolic links out of a skills directory are not followed` },
        })
        continue
      }
      if (lstatSync(filePath).size > MAX_SKILL_MD_BYTES) {
        out.push({ err: { source, filePath, message: `SKILL.md is larger than ${MAX_SKILL_MD_BYTES / 1024} KB` } })
        continue
      }
      out.push(fromText(readFileSync(filePath, "utf8"), name, source, filePath, baseDir))
    } catch (err) {
      out.push({ err: { source, filePath, message: `cannot read: ${(err as Error).message}` } })
    }
  }
  return out
}

/** Every skill from every source; the first (highest-precedence) copy of a name wins. */
export function loadSkills(roots: SkillRoots): LoadResult {
  const bySource = new Map<SkillSource, Candidate[]>()
  for (const { source, dir } of skillRootDirs(roots)) bySource.set(source, [...(bySource.get(source) ?? []), ...scanDir(dir, source)])
  bySource.set(
    "openclaw-bundled",
    BUNDLED_SKILLS.map((b) => fromText(b.text, b.dirName, "openclaw-bundled", `${BUNDLED_ROOT}/${b.dirName}/SKILL.md`, `${BUNDLED_ROOT}/${b.dirName}`)),
  )
  const winners = new Map<string, LoadedSkill>()
  const errors: SkillLoadError[] = []
  for (const source of SOURCE_ORDER) {
    for (const c of bySource.get(source) ?? []) {
      if ("err" in c) {
        errors.push(c.err)
        continue
      }
      const existing = winners.get(c.ok.name)
      if (existing) existing.shadows.push({ source: c.ok.source, filePath: c.ok.filePath, ...(c.ok.commandTool ? { commandTool: c.ok.commandTool } : {}) })
      else winners.set(c.ok.name, { ...c.ok, shadows: [] })
    }
  }
  const skills = [...winners.values()].sort((a, b) => a.name.localeCompare(b.name))
  return { skills, errors }
}
