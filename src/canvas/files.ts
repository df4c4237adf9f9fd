/**
 * The canvas: HTML/CSS/JS files the agent writes under `<workspace>/canvas/` for a person to open in a browser
 * (served at /__openclaw__/canvas/). Every path is relative, stays inside the folder (no `..`, no dotfiles, no
 * symlink leading out) and has a web file extension, because the HTTP route serves exactly what this module allows.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, extname, join, relative, sep } from "node:path"

export const CANVAS_DIR = "canvas"
export const CANVAS_URL_PREFIX = "/__openclaw__/canvas/"
export const CANVAS_MAX_FILE_BYTES = 2 * 1024 * 1024
const MAX_LIST = 500

/** Content types of the files a canvas may hold (anything else is refused on write and on serve). */
export const CANVAS_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".htm": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
}

export class CanvasPathError extends Error {
  override name = "CanvasPathError"
}

export function canvasRoot(workspace: string): string {
  return join(workspace, CANVAS_DIR)
}

/** Checks a relative canvas path and returns its normalised form ("a/b.html"); throws CanvasPathError. */
export function normaliseCanvasPath(rel: string): string {
  if (rel.includes("\0")) throw new CanvasPathError("the path contains a NUL byte")
  if (rel.includes("\\")) throw new CanvasPathError("use forward slashes in canvas paths")
  const parts = rel.split("/").filter((p) => p !== "" && p !== ".")
  if (parts.length === 0) throw new CanvasPathError("the path is empty; name a file such as index.html")
  if (rel.startsWith("/")) throw new CanvasPathError(`'${rel}' is absolute; give a path relative to the canvas folder, such as index.html`)
  for (const p of parts) {
    if (p === "..") throw new CanvasPathError(`'${rel}' leaves the canvas folder ('..' is not allowed)`)
    if (p.startsWith(".")) throw new CanvasPathError(`'${rel}' names a hidden file or folder; canvas files cannot start with '.'`)
  }
  const norm = parts.join("/")
  if (!CANVAS_TYPES[extname(norm).toLowerCase()]) {
    throw new CanvasPathError(`'${rel}' has an unsupported extension; use one of ${Object.keys(CANVAS_TYPES).join(" ")}`)
  }
  return norm
}

/** The real directory of the canvas, created on demand; undefined when it is not a directory. */
function realRoot(workspace: string, create: boolean): string | undefined {
  const root = canvasRoot(workspace)
  if (create) mkdirSync(root, { recursive: true })
  try {
    const st = lstatSync(root)
    if (!st.isDirectory()) return undefined
    return realpathSync(root)
  } catch {
    return undefined
  }
}

/** True when `p` (after resolving symlinks of its existing part) lies inside `root`. */
function inside(root: string, p: string): boolean {
  let probe = p
  // Resolve the longest existing prefix: a symlinked folder on the way out is what we must catch.
  for (;;) {
    try {
      const real = realpathSync(probe)
      const rest = relative(probe, p)
      const full = rest ? join(real, rest) : real
      return full === root || full.startsWith(root + sep)
    } catch {
      const up = dirname(probe)
      if (up === probe) return false
      probe = up
    }
  }
}

export interface CanvasFile {
  path: string
  size: number
  mtimeMs: number
}

/** Writes a canvas file atomically; returns its normalised path. */
export function writeCanvasFile(workspace: string, rel: string, content: string): CanvasFile {
  const path = normaliseCanvasPath(rel)
  const bytes = Buffer.byteLength(content)
  if (bytes > CANVAS_MAX_FILE_BYTES) throw new CanvasPathError(`the content is ${bytes} bytes; a canvas file holds at most ${CANVAS_MAX_FILE_BYTES}`)
  const root = realRoot(workspace, true)
  if (!root) throw new CanvasPathError(`${canvasRoot(workspace)} is not a directory`)
  const target = join(root, path)
  if (!inside(root, target)) throw new CanvasPathError(`'${rel}' resolves outside the canvas folder (a symlink?)`)
  mkdirSync(dirname(target), { recursive: true })
  if (!inside(root, target)) throw new CanvasPathError(`'${rel}' resolves outside the canvas folder (a symlink?)`)
  try {
    if (lstatSync(target).isSymbolicLink()) throw new CanvasPathError(`'${rel}' is a symlink; canvas files must be regular files`)
  } catch (err) {
    if (err instanceof CanvasPathError) throw err
  }
  const tmp = join(dirname(target), `.${path.split("/").at(-1)}.tmp-${crypto.randomUUID().slice(0, 8)}`)
  try {
    writeFileSync(tmp, content)
    renameSync(tmp, target)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
  const st = statSync(target)
  return { path, size: st.size, mtimeMs: st.mtimeMs }
}

/** A canvas file's bytes and type, or undefined when it does not exist (or is not a servable regular file inside). */
export function readCanvasFile(workspace: string, rel: string): { path: string; body: Uint8Array<ArrayBuffer>; type: string; mtimeMs: number } | undefined {
  const path = normaliseCanvasPath(rel)
  const root = realRoot(workspace, false)
  if (!root) return undefined
  const target = join(root, path)
  if (!inside(root, target)) throw new CanvasPathError(`'${rel}' resolves outside the canvas folder (a symlink?)`)
  let st: ReturnType<typeof statSync>
  try {
    st = statSync(target)
  } catch {
    return undefined
  }
  if (!st.isFile()) return undefined
  if (st.size > CANVAS_MAX_FILE_BYTES) throw new CanvasPathError(`'${path}' is ${st.size} bytes; canvas files are at most ${CANVAS_MAX_FILE_BYTES}`)
  return { path, body: new Uint8Array(readFileSync(target)), type: CANVAS_TYPES[extname(path).toLowerCase()]!, mtimeMs: st.mtimeMs }
}

/** Every servable file of the canvas (hidden entries, symlinks and other extensions skipped), sorted by path. */
export function listCanvasFiles(workspace: string): CanvasFile[] {
  const root = realRoot(workspace, false)
  if (!root) return []
  const out: CanvasFile[] = []
  const walk = (dir: string, depth: number) => {
    if (depth > 8 || out.length >= MAX_LIST) return
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith(".") || out.length >= MAX_LIST) continue
      const full = join(dir, e.name)
      if (e.isDirectory()) walk(full, depth + 1)
      else if (e.isFile() && CANVAS_TYPES[extname(e.name).toLowerCase()]) {
        const st = statSync(full)
        out.push({ path: relative(root, full).split(sep).join("/"), size: st.size, mtimeMs: st.mtimeMs })
      }
    }
  }
  walk(root, 0)
  return out.sort((a, b) => a.path.localeCompare(b.path))
}
