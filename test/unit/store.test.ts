import { describe, expect, test } from "bun:test"
import { Database } from "bun:sqlite"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { eq } from "drizzle-orm"
import { openStore, schema } from "../../src/store/index.ts"
import { applyMigrations } from "../../src/store/migrate.ts"
import { MIGRATIONS } from "../../src/store/migrations.generated.ts"
import { renderMigrationsModule } from "../../src/store/gen-migrations.ts"

const root = resolve(import.meta.dir, "../..")

describe("store", () => {
  test("opens with WAL, foreign keys, migrations and sqlite-vec", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-store-"))
    const store = await openStore({ file: join(dir, "g.db"), cacheDir: join(dir, "cache") })
    expect(store.sqlite.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe("wal")
    expect(store.sqlite.query<{ foreign_keys: number }, []>("PRAGMA foreign_keys").get()?.foreign_keys).toBe(1)
    expect(store.appliedMigrations).toEqual(MIGRATIONS.map((m) => m.tag))
    expect(store.vec.loaded).toBe(true)
    expect(store.vec.version).toMatch(/^v\d+\.\d+/)
    // A real vec0 query, not just the version function.
    store.sqlite.run("create virtual table v using vec0(embedding float[2])")
    store.sqlite.run("insert into v(rowid, embedding) values (1, '[1,0]'), (2, '[0,1]')")
    const near = store.sqlite.query<{ rowid: number }, []>("select rowid from v where embedding match '[0.9,0.1]' order by distance limit 1").get()
    expect(near?.rowid).toBe(1)
    store.db.insert(schema.meta).values({ key: "k", value: "v", updatedAt: 1 }).run()
    expect(store.db.select().from(schema.meta).where(eq(schema.meta.key, "k")).get()?.value).toBe("v")
    store.close()
    const again = await openStore({ file: join(dir, "g.db"), cacheDir: join(dir, "cache") })
    expect(again.appliedMigrations).toEqual([])
    again.close()
  })

  test("migrations are applied once and in order, atomically", () => {
    const db = new Database(":memory:")
    const ms = [
      { tag: "b", when: 2, sql: "create table b(x);" },
      { tag: "a", when: 1, sql: "create table a(x);--> statement-breakpoint\ninsert into a values (1);" },
    ]
    expect(applyMigrations(db, ms)).toEqual(["a", "b"])
    expect(applyMigrations(db, ms)).toEqual([])
    expect(() => applyMigrations(db, [...ms, { tag: "c", when: 3, sql: "create table c(x); syntax error here" }])).toThrow()
    expect(db.query("select name from sqlite_master where name = 'c'").get()).toBeNull()
  })

  test("the embedded migration list matches drizzle/ (run `bun run db:generate` if this fails)", () => {
    expect(readFileSync(join(root, "src/store/migrations.generated.ts"), "utf8")).toBe(renderMigrationsModule(root))
  })
})
