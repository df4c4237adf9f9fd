/**
 * The only code that opens SQLite: one database in the state home, WAL with a busy timeout (the CLI may read while
 * the daemon writes), foreign keys on, sqlite-vec loaded, embedded migrations applied.
 */
import { Database } from "bun:sqlite"
import { chmodSync, mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite"
import { applyMigrations } from "./migrate.ts"
import { MIGRATIONS } from "./migrations.generated.ts"
import * as schema from "./schema/index.ts"
import { loadVec, type VecStatus } from "./vec.ts"

export type Db = BunSQLiteDatabase<typeof schema>

export interface Store {
  db: Db
  sqlite: Database
  sqliteVersion: string
  vec: VecStatus
  appliedMigrations: string[]
  close(): void
}

export interface OpenStoreOptions {
  /** Database file, or ":memory:". */
  file: string
  /** Where the embedded sqlite-vec library is extracted to. */
  cacheDir: string
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  if (opts.file !== ":memory:") mkdirSync(dirname(opts.file), { recursive: true, mode: 0o700 })
  const sqlite = new Database(opts.file, { create: true, strict: true })
  // Transcripts live here: owner-only, whatever the umask was when the file was first created.
  if (opts.file !== ":memory:") chmodSync(opts.file, 0o600)
  sqlite.run("PRAGMA busy_timeout = 5000")
  if (opts.file !== ":memory:") sqlite.run("PRAGMA journal_mode = WAL")
  sqlite.run("PRAGMA synchronous = NORMAL")
  sqlite.run("PRAGMA foreign_keys = ON")
  // Before migrations: later migrations may create vec0 virtual tables.
  const vec = await loadVec(sqlite, opts.cacheDir)
  const appliedMigrations = applyMigrations(sqlite, MIGRATIONS)
  const sqliteVersion = sqlite.query<{ v: string }, []>("select sqlite_version() as v").get()?.v ?? "unknown"
  return {
    db: drizzle({ client: sqlite, schema }),
    sqlite,
    sqliteVersion,
    vec,
    appliedMigrations,
    close: () => sqlite.close(),
  }
}

export { schema }
