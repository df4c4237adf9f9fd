/**
 * The state home must be writable: checked once before anything is created (so a read-only or foreign directory
 * costs one clear line, not a stack trace from the first chmod), and file-system errors met later are turned into
 * the same kind of line, naming the file and what to do.
 */
import { accessSync, constants, existsSync } from "node:fs"
import { dirname } from "node:path"
import { NamedError } from "../util/named-error.ts"
import type { Paths } from "./paths.ts"

/** A file the gateway needs cannot be written; `gateway run` exits 78 on it (retrying will not help). */
export const StateHomeError = NamedError.create("StateHomeError", (z) => z.object({ path: z.string(), code: z.string(), message: z.string() }))
export type StateHomeError = InstanceType<typeof StateHomeError>

/** errno codes that mean "this place cannot be written", in words. */
const REASONS: Record<string, string> = {
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "it is a directory",
  ELOOP: "too many symbolic links",
  SQLITE_CANTOPEN: "SQLite cannot open it",
  SQLITE_READONLY: "SQLite cannot write it",
}

/** The errno code and its words for a file-system (or SQLite open) failure, else undefined. */
export function fsFailure(err: unknown): { code: string; reason: string; path?: string } | undefined {
  const e = err as { code?: unknown; path?: unknown } | undefined
  const code = typeof e?.code === "string" ? e.code : undefined
  if (!code || !REASONS[code]) return undefined
  return { code, reason: REASONS[code]!, path: typeof e?.path === "string" ? e.path : undefined }
}

function homeMessage(home: string, reason: string, code: string): string {
  return `cannot write to the state home ${home}: ${reason} (${code}). Point --home or GATEWAY_HOME at a writable directory, or make it writable`
}

/** The nearest directory that exists at or above `path` (the one a mkdir -p would write into). */
function nearestExisting(path: string): string {
  let cur = path
  while (!existsSync(cur) && dirname(cur) !== cur) cur = dirname(cur)
  return cur
}

/**
 * Throws StateHomeError unless the state home is (or can be created) writable. access(2) answers EROFS and EACCES
 * exactly as a write would (root included), and creates nothing: a refused start leaves no trace.
 */
export function checkStateHome(paths: Paths): void {
  const target = nearestExisting(paths.home)
  try {
    accessSync(target, constants.W_OK | constants.X_OK)
  } catch (err) {
    const f = fsFailure(err) ?? { code: "EACCES", reason: REASONS.EACCES! }
    throw new StateHomeError({ path: paths.home, code: f.code, message: homeMessage(paths.home, f.reason, f.code) }, { cause: err })
  }
}

/**
 * A file-system failure during start-up as a StateHomeError naming the file (the database when SQLite gives no
 * path); anything else is returned unchanged.
 */
export function asStateHomeError(err: unknown, paths: Paths): unknown {
  if (StateHomeError.isInstance(err)) return err
  const f = fsFailure(err)
  if (!f) return err
  const path = f.path ?? (f.code.startsWith("SQLITE_") ? paths.database : paths.home)
  const message =
    path === paths.home
      ? homeMessage(paths.home, f.reason, f.code)
      : `cannot write ${path}: ${f.reason} (${f.code}). Make ${dirname(path)} writable, or point --home or GATEWAY_HOME at a writable directory`
  return new StateHomeError({ path, code: f.code, message }, { cause: err })
}

/** What a CLI edit of a file in the state home says when the write fails (config set, token new --write). */
export function fileWriteError(err: unknown, file: string): StateHomeError | undefined {
  const f = fsFailure(err)
  if (!f) return undefined
  return new StateHomeError(
    {
      path: file,
      code: f.code,
      message: `cannot write ${file}: ${f.reason} (${f.code}). Make ${dirname(file)} writable, or use another state home (--home or GATEWAY_HOME)`,
    },
    { cause: err },
  )
}
