/**
 * Applies the embedded drizzle-kit migrations. Keeps drizzle's own bookkeeping table (__drizzle_migrations with
 * hash and created_at = the journal's `when`) so drizzle-kit and this runner agree on what has been applied.
 */
import type { Database } from "bun:sqlite"
import { createHash } from "node:crypto"

export interface Migration {
  tag: string
  when: number
  sql: string
}

export function applyMigrations(db: Database, migrations: Migration[]): string[] {
  db.run(`CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)`)
  const last = db.query<{ created_at: number | null }, []>(`SELECT created_at FROM "__drizzle_migrations" ORDER BY created_at DESC LIMIT 1`).get()
  const lastWhen = Number(last?.created_at ?? 0)
  const pending = migrations.filter((m) => m.when > lastWhen).sort((a, b) => a.when - b.when)
  if (pending.length === 0) return []
  const insert = db.prepare(`INSERT INTO "__drizzle_migrations" ("hash", "created_at") VALUES (?, ?)`)
  db.transaction(() => {
    for (const m of pending) {
      for (const statement of m.sql.split("--> statement-breakpoint")) {
        if (statement.trim()) db.run(statement)
      }
      insert.run(createHash("sha256").update(m.sql).digest("hex"), m.when)
    }
  })()
  return pending.map((m) => m.tag)
}
