/**
 * Finds and loads the sqlite-vec extension. SQLite cannot dlopen a file inside the binary's virtual filesystem, so
 * the embedded copy is extracted once to <cache>/ext/<sha256>/vec0.<ext> (0700 dir, temp file + rename) and loaded
 * from there. Failure is reported, never fatal: vector search degrades, the gateway keeps running.
 */
import type { Database } from "bun:sqlite"
import { createRequire } from "node:module"
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { EMBEDDED_VEC0 } from "./vec0-embedded.ts"

export interface VecStatus {
  loaded: boolean
  version: string | null
  path: string | null
  error: string | null
}

const libExt = process.platform === "darwin" ? "dylib" : process.platform === "win32" ? "dll" : "so"

function fromNodeModules(): string {
  const pkg = `sqlite-vec-${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`
  return createRequire(import.meta.url).resolve(`${pkg}/vec0.${libExt}`)
}

async function extractEmbedded(embedded: string, cacheDir: string): Promise<string> {
  const bytes = new Uint8Array(await Bun.file(embedded).arrayBuffer())
  const digest = new Bun.CryptoHasher("sha256").update(bytes).digest("hex").slice(0, 32)
  const dir = join(cacheDir, "ext", digest)
  // The file name matters: SQLite derives the init symbol (sqlite3_vec0_init) from it.
  const target = join(dir, `vec0.${libExt}`)
  if (existsSync(target)) return target
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const tmp = `${target}.${process.pid}.tmp`
  writeFileSync(tmp, bytes, { mode: 0o700 })
  chmodSync(tmp, 0o700)
  renameSync(tmp, target)
  return target
}

export async function locateVec0(cacheDir: string): Promise<string> {
  if (EMBEDDED_VEC0) return extractEmbedded(EMBEDDED_VEC0, cacheDir)
  return fromNodeModules()
}

export async function loadVec(db: Database, cacheDir: string): Promise<VecStatus> {
  let path: string | null = null
  try {
    path = await locateVec0(cacheDir)
    db.loadExtension(path)
    const row = db.query<{ v: string }, []>("select vec_version() as v").get()
    return { loaded: true, version: row?.v ?? null, path, error: null }
  } catch (err) {
    return { loaded: false, version: null, path, error: (err as Error).message }
  }
}
