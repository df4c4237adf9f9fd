/**
 * Which files are memory: the configured sources (files or directories, relative to the workspace), .md files only,
 * symlinks, dot-directories and node_modules skipped, nothing outside the workspace. Paths are workspace-relative
 * with forward slashes, as the agent and the operator see them.
 */
import { lstatSync, readdirSync, type Stats } from "node:fs"
import { isAbsolute, join, relative, resolve, sep } from "node:path"

export interface MemoryFile {
  path: string
  abs: string
  mtime: number
  size: number
}

const toRel = (workspace: string, abs: string) => relative(workspace, abs).split(sep).join("/")

function inside(workspace: string, abs: string): boolean {
  const rel = relative(workspace, abs)
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel)
}

function statOrNull(abs: string): Stats | null {
  try {
    return lstatSync(abs)
  } catch {
    return null
  }
}

export function listMemoryFiles(workspace: string, sources: string[]): MemoryFile[] {
  const out = new Map<string, MemoryFile>()
  const add = (abs: string, st: Stats) => {
    const path = toRel(workspace, abs)
    out.set(path, { path, abs, mtime: Math.floor(st.mtimeMs), size: st.size })
  }
  const walk = (dir: string, depth: number) => {
    if (depth > 16) return
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      return
    }
    for (const name of names.sort()) {
      if (name.startsWith(".") || name === "node_modules") continue
      const abs = join(dir, name)
      const st = statOrNull(abs)
      if (!st || st.isSymbolicLink()) continue
      if (st.isDirectory()) walk(abs, depth + 1)
      else if (st.isFile() && name.toLowerCase().endsWith(".md")) add(abs, st)
    }
  }
  for (const src of sources) {
    const abs = resolve(workspace, src)
    if (!inside(workspace, abs)) continue
    const st = statOrNull(abs)
    if (!st || st.isSymbolicLink()) continue
    if (st.isDirectory()) walk(abs, 0)
    else if (st.isFile() && abs.toLowerCase().endsWith(".md")) add(abs, st)
  }
  return [...out.values()].sort((a, b) => a.path.localeCompare(b.path))
}

/** Whether a workspace-relative path is (or would be) a memory file: memory_get reads nothing else. */
export function isMemoryPath(workspace: string, sources: string[], path: string): boolean {
  const abs = resolve(workspace, path)
  if (!inside(workspace, abs) || !abs.toLowerCase().endsWith(".md")) return false
  return sources.some((s) => {
    const src = resolve(workspace, s)
    return abs === src || abs.startsWith(src + sep)
  })
}

/** Whether a changed path (relative to the workspace, from the watcher) may affect the index. */
export function touchesSources(workspace: string, sources: string[], changed: string): boolean {
  const abs = resolve(workspace, changed)
  return sources.some((s) => {
    const src = resolve(workspace, s)
    return abs === src || abs.startsWith(src + sep) || src.startsWith(abs + sep)
  })
}

/** A file's text: invalid UTF-8 (a corrupt or half-written file) becomes U+FFFD instead of failing the sync. */
export function decodeText(bytes: Uint8Array): string | undefined {
  // NUL bytes: not a text file (a binary dropped into memory/); indexing it would only add noise.
  if (bytes.includes(0)) return undefined
  return new TextDecoder("utf-8", { fatal: false }).decode(bytes)
}
