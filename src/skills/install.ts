/**
 * Installs a skill into the managed directory ($GATEWAY_HOME/skills) from a local folder, a .tar.gz/.tgz/.zip (URL or
 * file) or a git repository, without running anything from it: the files are read into memory under a size and file
 * count cap, links and paths out of the folder are refused, git clones with hooks switched off, and the folder is
 * written with plain modes. A SHA-256 over the files (sorted `<sha256>  <path>` lines, as sha256sum prints them) is
 * recorded in .skills-manifest.json with the source, so `update` can re-fetch and say what changed. An expected hash
 * that does not match refuses the install.
 */
import { createHash, randomUUID } from "node:crypto"
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, dirname, join, resolve } from "node:path"
import { type ArchiveFile, type ArchiveLimits, gunzipCapped, readTar, readZip } from "./archive.ts"
import { scanPipeToShell, type SkillFlag } from "./danger.ts"
import { SkillInstallError, UnsafeArchiveError } from "./errors.ts"
import { parseSkillMd } from "./frontmatter.ts"
import { MANIFEST, readManifest, type SourceKind, writeManifest } from "./manifest.ts"

export interface InstallLimits extends ArchiveLimits {
  timeoutMs: number
}

export interface FileChanges {
  added: string[]
  removed: string[]
  changed: string[]
}

export interface InstallResult {
  name: string
  dir: string
  source: string
  sourceKind: SourceKind
  sha256: string
  files: number
  bytes: number
  /** An installed copy was replaced (--force or update). */
  replaced: boolean
  /** The same content was already installed: nothing written. */
  unchanged: boolean
  previousSha256?: string
  changes?: FileChanges
  flags: SkillFlag[]
}

export interface InstallRequest {
  source: string
  managedDir: string
  limits: InstallLimits
  sha256?: string
  force?: boolean
  /** Relative local paths resolve against this (the CLI's cwd is not the daemon's). */
  cwd?: string
}

export function classifySource(source: string): SourceKind {
  if (/^git\+/.test(source) || /^(git|ssh):\/\//.test(source) || /^[\w.-]+@[\w.-]+:/.test(source)) return "git"
  if (/^(https?|file):\/\//.test(source)) {
    const path = source.replace(/[?#].*$/, "")
    if (/\.git\/?$/.test(path)) return "git"
    // A repository page on a well-known forge (https://github.com/owner/repo) is a git URL, not a download.
    const m = /^https:\/\/(github\.com|gitlab\.com|codeberg\.org|bitbucket\.org)\/[^/]+\/[^/]+\/?$/.exec(path)
    return m && !/\.(tar\.gz|tgz|zip)$/i.test(path) ? "git" : "archive"
  }
  if (/\.(tar\.gz|tgz|zip)$/i.test(source)) return "archive"
  return "dir"
}

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex")

/** The content hash of a file set: sha256 of its sorted `<sha256>  <path>\n` lines. */
export function contentHash(files: { path: string; data: Uint8Array }[]): { hash: string; perFile: Record<string, string> } {
  const perFile: Record<string, string> = {}
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) perFile[f.path] = sha256(f.data)
  const lines = Object.entries(perFile)
    .map(([p, h]) => `${h}  ${p}\n`)
    .join("")
  return { hash: sha256(lines), perFile }
}

/** Reads a local folder: regular files only, links refused, `.git` skipped, capped like an archive. */
function readFolder(root: string, limits: ArchiveLimits): ArchiveFile[] {
  const files: ArchiveFile[] = []
  let bytes = 0
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name === ".git") continue
      const abs = join(dir, name)
      const r = rel ? `${rel}/${name}` : name
      const st = lstatSync(abs)
      if (st.isSymbolicLink()) throw new UnsafeArchiveError(`symbolic link in the skill folder: ${r} (links are not allowed in skills)`)
      if (st.isDirectory()) {
        walk(abs, r)
        continue
      }
      if (!st.isFile()) throw new UnsafeArchiveError(`special file in the skill folder: ${r}`)
      if (st.nlink > 1) throw new UnsafeArchiveError(`hard-linked file in the skill folder: ${r} (it may be a file outside the folder)`)
      if (files.length + 1 > limits.maxFiles) throw new UnsafeArchiveError(`more than ${limits.maxFiles} files (skills.install.maxFiles)`)
      bytes += st.size
      if (bytes > limits.maxBytes) throw new UnsafeArchiveError(`folder size over ${limits.maxBytes} bytes at ${r} (skills.install.maxBytes)`)
      files.push({ path: r, data: readFileSync(abs), mode: st.mode & 0o777 })
    }
  }
  walk(root, "")
  return files
}

/** Downloads with the size cap enforced while reading (Content-Length is only a hint). */
async function download(url: string, limits: InstallLimits): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(limits.timeoutMs), redirect: "follow" }).catch((err) => {
    throw new SkillInstallError(`download of ${url} failed: ${(err as Error).message}`)
  })
  if (!res.ok) throw new SkillInstallError(`download of ${url} failed: HTTP ${res.status}`)
  const declared = Number(res.headers.get("content-length") ?? 0)
  if (declared > limits.maxBytes) throw new UnsafeArchiveError(`archive is ${declared} bytes, over ${limits.maxBytes} (skills.install.maxBytes)`)
  const chunks: Uint8Array[] = []
  let total = 0
  const reader = res.body?.getReader()
  if (!reader) return new Uint8Array()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.length
    if (total > limits.maxBytes) {
      await reader.cancel().catch(() => {})
      throw new UnsafeArchiveError(`archive is over ${limits.maxBytes} bytes (skills.install.maxBytes)`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

function unpack(data: Uint8Array, source: string, limits: ArchiveLimits): ArchiveFile[] {
  if (data[0] === 0x1f && data[1] === 0x8b) return readTar(gunzipCapped(data, limits.maxBytes), limits)
  if (data[0] === 0x50 && data[1] === 0x4b) return readZip(data, limits)
  throw new SkillInstallError(`${source} is neither a .tar.gz nor a .zip archive`)
}

/** `git clone --depth 1` into a temporary folder with hooks, prompts and submodules off; returns its files. */
async function cloneGit(source: string, limits: InstallLimits): Promise<ArchiveFile[]> {
  const url = source.replace(/^git\+/, "")
  const tmp = mkdtempSync(join(tmpdir(), "gateway-skill-git-"))
  try {
    const proc = Bun.spawn(
      [
        "git",
        "-c",
        "core.hooksPath=/dev/null",
        "-c",
        "core.fsmonitor=false",
        "-c",
        "protocol.ext.allow=never",
        "clone",
        "--depth",
        "1",
        "--no-tags",
        "--quiet",
        "--",
        url,
        join(tmp, "repo"),
      ],
      {
        stdout: "ignore",
        stderr: "pipe",
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmp, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" },
      },
    )
    const timer = setTimeout(() => proc.kill(), limits.timeoutMs)
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
    clearTimeout(timer)
    if (code !== 0) throw new SkillInstallError(`git clone ${url} failed (exit ${code}): ${stderr.trim().split("\n").slice(-2).join(" ")}`)
    return readFolder(join(tmp, "repo"), limits)
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") throw new SkillInstallError("git is not installed (needed to install from a git URL)")
    throw err
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

/** The files of the source, as read (before locating SKILL.md). */
async function fetchSource(source: string, kind: SourceKind, limits: InstallLimits, cwd: string): Promise<ArchiveFile[]> {
  if (kind === "git") return cloneGit(source, limits)
  if (kind === "archive") {
    if (/^https?:\/\//.test(source)) return unpack(await download(source, limits), source, limits)
    const path = source.startsWith("file://") ? new URL(source).pathname : resolve(cwd, source)
    const st = lstatSync(path)
    if (st.size > limits.maxBytes) throw new UnsafeArchiveError(`archive is ${st.size} bytes, over ${limits.maxBytes} (skills.install.maxBytes)`)
    return unpack(readFileSync(path), source, limits)
  }
  const dir = resolve(cwd, source)
  if (!existsSync(dir) || !lstatSync(dir).isDirectory())
    throw new SkillInstallError(`${source}: no such folder (give a folder with SKILL.md, a .tar.gz/.zip URL or a git URL)`)
  return readFolder(dir, limits)
}

/** Files relative to the skill's folder: SKILL.md at the top, or inside one top-level folder (GitHub's repo-main/). */
function skillRoot(files: ArchiveFile[]): { files: ArchiveFile[]; dirName?: string } {
  if (files.some((f) => f.path === "SKILL.md")) return { files }
  const tops = new Set(files.map((f) => f.path.split("/")[0]!))
  if (tops.size === 1) {
    const top = [...tops][0]!
    if (files.some((f) => f.path === `${top}/SKILL.md`)) return { files: files.map((f) => ({ ...f, path: f.path.slice(top.length + 1) })), dirName: top }
  }
  throw new SkillInstallError("no SKILL.md at the top of the source or in its single top-level folder")
}

export function diffFiles(before: Record<string, string>, after: Record<string, string>): FileChanges {
  const added = Object.keys(after).filter((p) => !(p in before))
  const removed = Object.keys(before).filter((p) => !(p in after))
  const changed = Object.keys(after).filter((p) => p in before && before[p] !== after[p])
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort() }
}

function sourceBaseName(source: string): string {
  const path = source.replace(/[?#].*$/, "").replace(/\/+$/, "")
  return basename(path).replace(/\.(tar\.gz|tgz|zip|git)$/i, "")
}

/** A relative folder or archive path made absolute against `cwd`; URLs (http, file, git) as given. */
function absoluteLocal(source: string, kind: SourceKind, cwd: string): string {
  if (kind === "git" || /^(https?|file):\/\//.test(source)) return source
  return resolve(cwd, source)
}

/** Writes the folder next to its final place, then swaps it in, so a failure never leaves half a skill. */
function writeSkill(managedDir: string, name: string, files: ArchiveFile[]): string {
  mkdirSync(managedDir, { recursive: true, mode: 0o700 })
  const target = join(managedDir, name)
  const staging = join(managedDir, `.staging-${name}-${randomUUID()}`)
  try {
    for (const f of files) {
      const abs = join(staging, f.path)
      mkdirSync(dirname(abs), { recursive: true, mode: 0o700 })
      // Owner read/write, and the owner's execute bit where the source had one (scripts); never set-id bits.
      writeFileSync(abs, f.data, { mode: 0o600 | (f.mode & 0o100), flag: "wx" })
    }
    const old = join(managedDir, `.old-${name}-${randomUUID()}`)
    if (existsSync(target)) renameSync(target, old)
    renameSync(staging, target)
    rmSync(old, { recursive: true, force: true })
    return target
  } catch (err) {
    rmSync(staging, { recursive: true, force: true })
    throw err
  }
}

/**
 * Installs (or, with `update`, re-installs from the recorded source) one skill. Refuses an existing skill of the
 * same name unless `force`; refuses a hash other than `sha256` when given.
 */
export async function installSkill(req: InstallRequest, update?: { name: string }): Promise<InstallResult> {
  const prev = update ? readManifest(req.managedDir)[update.name] : undefined
  if (update && !prev) throw new SkillInstallError(`${update.name} was not installed by 'skills install' (no record in ${join(req.managedDir, MANIFEST)})`)
  const kind = prev?.sourceKind ?? classifySource(req.source)
  // A local path is recorded absolute: update runs in the daemon, whose cwd is not the installing CLI's.
  const source = prev?.source ?? absoluteLocal(req.source, kind, req.cwd ?? process.cwd())
  const raw = await fetchSource(source, kind, req.limits, req.cwd ?? process.cwd())
  // Read after the fetch, with no await from here to the write: two installs in flight cannot drop each other's record.
  const manifest = readManifest(req.managedDir)
  const { files, dirName } = skillRoot(raw)
  const md = files.find((f) => f.path === "SKILL.md")!
  const mdText = new TextDecoder().decode(md.data)
  let name: string
  try {
    name = parseSkillMd(mdText, dirName ?? sourceBaseName(source)).meta.name
  } catch (err) {
    throw new SkillInstallError(`SKILL.md: ${(err as Error).message}`)
  }
  if (update && name !== update.name) throw new SkillInstallError(`the source now holds skill '${name}', not '${update.name}'`)
  const { hash, perFile } = contentHash(files)
  const expected = req.sha256?.toLowerCase()
  if (expected && expected !== hash) throw new SkillInstallError(`SHA-256 mismatch for ${source}: expected ${expected}, got ${hash}; nothing installed`)
  const flags: SkillFlag[] = []
  for (const f of files) {
    if (f.data.length > 512 * 1024 || !/\.(md|txt|sh|bash|zsh|ps1|py|js|ts|json|ya?ml|toml)$|^[^.]+$/i.test(f.path)) continue
    flags.push(...scanPipeToShell(new TextDecoder().decode(f.data), f.path))
  }
  const bytes = files.reduce((n, f) => n + f.data.length, 0)
  const target = join(req.managedDir, name)
  const existing = manifest[name]
  const result: InstallResult = {
    name,
    dir: target,
    source,
    sourceKind: kind,
    sha256: hash,
    files: files.length,
    bytes,
    replaced: false,
    unchanged: false,
    flags,
  }
  if (existing) {
    result.previousSha256 = existing.sha256
    result.changes = diffFiles(existing.files, perFile)
  }
  if (existing?.sha256 === hash && existsSync(target)) return { ...result, unchanged: true }
  if (existsSync(target) && !req.force && !update)
    throw new SkillInstallError(`a skill named ${name} is already installed in ${target}; pass --force to replace it (or run 'gateway skills update ${name}')`)
  result.replaced = existsSync(target)
  writeSkill(req.managedDir, name, files)
  const now = new Date().toISOString()
  manifest[name] = { name, source, sourceKind: kind, sha256: hash, files: perFile, installedAt: existing?.installedAt ?? now, updatedAt: now }
  writeManifest(req.managedDir, manifest)
  return result
}

export { readManifest, SkillInstallError, type SourceKind, UnsafeArchiveError }
