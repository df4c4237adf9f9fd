/**
 * Repository of the memory index: files, chunks (with their FTS5 word and trigram rows and their vec0 row), the
 * embedding cache and the index state. Each file is replaced in one transaction, so a search between two writes
 * sees a file either before or after its reindex, never half of it.
 */
import { and, eq, isNull, sql } from "drizzle-orm"
import type { Store } from "./index.ts"
import { memoryChunks, memoryEmbeddingCache, memoryFiles, memoryState } from "./schema/memory.sql.ts"

export type MemoryFileRow = typeof memoryFiles.$inferSelect

export interface NewChunk {
  startLine: number
  endLine: number
  hash: string
  text: string
  /** Normalised vector, or null when none could be made. */
  embedding: Float32Array | null
}

export interface ScoredId {
  id: number
  score: number
}

export interface ChunkRow {
  id: number
  path: string
  source: string
  startLine: number
  endLine: number
  text: string
}

const toBlob = (v: Float32Array) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
/** Copies: a blob's bytes need not be 4-byte aligned. */
export const fromBlob = (b: Uint8Array) => new Float32Array(new Uint8Array(b).buffer)

/** vec0 table of a generation; the name is derived from the generation so two generations never share one. */
export function vecTableOf(gen: string): string {
  return `memory_vec_${new Bun.CryptoHasher("sha256").update(gen).digest("hex").slice(0, 16)}`
}

/** Quotes a token for an FTS5 MATCH expression (a phrase, so punctuation inside cannot become syntax). */
const ftsQuote = (t: string) => `"${t.replace(/"/g, '""')}"`

export class MemoryRepo {
  constructor(private store: Store) {}

  private get db() {
    return this.store.db
  }
  private get sqlite() {
    return this.store.sqlite
  }
  get vecLoaded(): boolean {
    return this.store.vec.loaded
  }

  // ---- state --------------------------------------------------------------------------------------------------

  getState(key: string): string | undefined {
    return this.db.select().from(memoryState).where(eq(memoryState.key, key)).get()?.value
  }

  setState(key: string, value: string): void {
    this.db
      .insert(memoryState)
      .values({ key, value, updatedAt: Date.now() })
      .onConflictDoUpdate({ target: memoryState.key, set: { value, updatedAt: Date.now() } })
      .run()
  }

  deleteState(key: string): void {
    this.db.delete(memoryState).where(eq(memoryState.key, key)).run()
  }

  // ---- files and chunks ---------------------------------------------------------------------------------------

  files(gen: string): MemoryFileRow[] {
    return this.db.select().from(memoryFiles).where(eq(memoryFiles.gen, gen)).all()
  }

  touchFile(gen: string, path: string, mtime: number, size: number): void {
    this.db
      .update(memoryFiles)
      .set({ mtime, size })
      .where(and(eq(memoryFiles.gen, gen), eq(memoryFiles.path, path)))
      .run()
  }

  private ensureVecTable(gen: string, dims: number): string | undefined {
    if (!this.vecLoaded) return undefined
    const table = vecTableOf(gen)
    // Cosine distance on normalised vectors: 1 - distance is the same similarity the exact scan computes.
    this.sqlite.run(`CREATE VIRTUAL TABLE IF NOT EXISTS ${table} USING vec0(embedding float[${dims}] distance_metric=cosine)`)
    return table
  }

  private hasTable(name: string): boolean {
    return !!this.sqlite.query<{ n: string }, [string]>("select name as n from sqlite_master where name = ?").get(name)
  }

  private deleteChunkRows(ids: number[], gen: string): void {
    if (ids.length === 0) return
    const list = ids.join(",")
    this.sqlite.run(`DELETE FROM memory_fts WHERE rowid IN (${list})`)
    this.sqlite.run(`DELETE FROM memory_fts_trigram WHERE rowid IN (${list})`)
    const table = vecTableOf(gen)
    if (this.vecLoaded && this.hasTable(table)) this.sqlite.run(`DELETE FROM ${table} WHERE rowid IN (${list})`)
    this.sqlite.run(`DELETE FROM memory_chunks WHERE id IN (${list})`)
  }

  private chunkIds(gen: string, path: string): number[] {
    return this.sqlite
      .query<{ id: number }, [string, string]>("select id from memory_chunks where gen = ? and path = ?")
      .all(gen, path)
      .map((r) => r.id)
  }

  /** Replaces a file's chunks (and its file row) in one transaction. */
  replaceFile(o: { gen: string; path: string; source: string; hash: string; mtime: number; size: number; model: string | null; chunks: NewChunk[] }): void {
    const dims = o.chunks.find((c) => c.embedding)?.embedding?.length
    const vecTable = dims ? this.ensureVecTable(o.gen, dims) : undefined
    const now = Date.now()
    this.sqlite.transaction(() => {
      this.deleteChunkRows(this.chunkIds(o.gen, o.path), o.gen)
      const insert = this.sqlite.prepare<{ id: number }, [string, string, string, number, number, string, string | null, string, Uint8Array | null, number]>(
        "insert into memory_chunks (gen, path, source, start_line, end_line, hash, model, text, embedding, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id",
      )
      for (const c of o.chunks) {
        const id = insert.get(
          o.gen,
          o.path,
          o.source,
          c.startLine,
          c.endLine,
          c.hash,
          c.embedding ? o.model : null,
          c.text,
          c.embedding ? toBlob(c.embedding) : null,
          now,
        )!.id
        this.indexChunk(id, c.text, c.embedding, vecTable)
      }
      this.db
        .insert(memoryFiles)
        .values({ gen: o.gen, path: o.path, source: o.source, hash: o.hash, mtime: o.mtime, size: o.size, indexedAt: now })
        .onConflictDoUpdate({
          target: [memoryFiles.gen, memoryFiles.path],
          set: { hash: o.hash, mtime: o.mtime, size: o.size, indexedAt: now, source: o.source },
        })
        .run()
    })()
  }

  private indexChunk(id: number, text: string, embedding: Float32Array | null, vecTable: string | undefined): void {
    this.sqlite.run("insert into memory_fts (rowid, text) values (?, ?)", [id, text])
    this.sqlite.run("insert into memory_fts_trigram (rowid, text) values (?, ?)", [id, text])
    if (embedding && vecTable) this.sqlite.run(`insert into ${vecTable} (rowid, embedding) values (?, ?)`, [id, toBlob(embedding)])
  }

  deleteFile(gen: string, path: string): void {
    this.sqlite.transaction(() => {
      this.deleteChunkRows(this.chunkIds(gen, path), gen)
      this.db
        .delete(memoryFiles)
        .where(and(eq(memoryFiles.gen, gen), eq(memoryFiles.path, path)))
        .run()
    })()
  }

  /** Chunks that still lack a vector (the provider was unreachable when they were indexed). */
  chunksWithoutEmbedding(gen: string, limit = 1000): { id: number; hash: string; text: string }[] {
    return this.db
      .select({ id: memoryChunks.id, hash: memoryChunks.hash, text: memoryChunks.text })
      .from(memoryChunks)
      .where(and(eq(memoryChunks.gen, gen), isNull(memoryChunks.embedding)))
      .limit(limit)
      .all()
  }

  setEmbeddings(gen: string, model: string, rows: { id: number; embedding: Float32Array }[]): void {
    if (rows.length === 0) return
    const vecTable = this.ensureVecTable(gen, rows[0]!.embedding.length)
    this.sqlite.transaction(() => {
      for (const r of rows) {
        this.sqlite.run("update memory_chunks set embedding = ?, model = ? where id = ?", [toBlob(r.embedding), model, r.id])
        if (vecTable) this.sqlite.run(`insert or replace into ${vecTable} (rowid, embedding) values (?, ?)`, [r.id, toBlob(r.embedding)])
      }
    })()
  }

  /** Removes a whole generation (after a rebuild replaced it). */
  dropGen(gen: string): void {
    this.sqlite.transaction(() => {
      const ids = this.sqlite.query<{ id: number }, [string]>("select id from memory_chunks where gen = ?").all(gen)
      for (let i = 0; i < ids.length; i += 500)
        this.deleteChunkRows(
          ids.slice(i, i + 500).map((r) => r.id),
          gen,
        )
      this.db.delete(memoryFiles).where(eq(memoryFiles.gen, gen)).run()
    })()
    const table = vecTableOf(gen)
    if (this.vecLoaded && this.hasTable(table)) this.sqlite.run(`DROP TABLE ${table}`)
  }

  /** Generations present besides the given ones (leftovers of an interrupted rebuild). */
  otherGens(keep: string[]): string[] {
    return this.sqlite
      .query<{ gen: string }, []>("select distinct gen from memory_files union select distinct gen from memory_chunks")
      .all()
      .map((r) => r.gen)
      .filter((g) => !keep.includes(g))
  }

  /** Whether any chunk of the generation has a vector (cheaper than counting, asked on every search). */
  hasEmbeddings(gen: string): boolean {
    return !!this.sqlite.query<{ x: number }, [string]>("select 1 as x from memory_chunks where gen = ? and embedding is not null limit 1").get(gen)
  }

  counts(gen: string): { files: number; chunks: number; embedded: number } {
    const files = this.db.select({ n: sql<number>`count(*)` }).from(memoryFiles).where(eq(memoryFiles.gen, gen)).get()?.n ?? 0
    const row = this.sqlite
      .query<{ chunks: number; embedded: number }, [string]>(
        "select count(*) as chunks, coalesce(sum(embedding is not null), 0) as embedded from memory_chunks where gen = ?",
      )
      .get(gen)
    return { files, chunks: row?.chunks ?? 0, embedded: row?.embedded ?? 0 }
  }

  /** Dimensions of the vectors stored for a generation (status after a restart, before the provider answered). */
  storedDims(gen: string): number | null {
    const row = this.sqlite
      .query<{ n: number }, [string]>("select length(embedding) / 4 as n from memory_chunks where gen = ? and embedding is not null limit 1")
      .get(gen)
    return row?.n ?? null
  }

  /** Drops cached embeddings older than `before` that no chunk uses. */
  pruneCache(before: number): number {
    return this.sqlite.run("delete from memory_embedding_cache where updated_at < ? and hash not in (select hash from memory_chunks)", [before]).changes
  }

  /** Session transcripts with user or assistant messages: one row per (session key, transcript id). */
  transcripts(): { sessionKey: string; sessionId: string; lastId: number; count: number }[] {
    return this.sqlite
      .query<{ sessionKey: string; sessionId: string; lastId: number; count: number }, []>(
        `select session_key as sessionKey, session_id as sessionId, max(id) as lastId, count(*) as count
         from messages where role in ('user', 'assistant') group by session_key, session_id`,
      )
      .all()
  }

  transcriptMessages(sessionKey: string, sessionId: string): { role: string; body: string }[] {
    return this.sqlite
      .query<{ role: string; body: string }, [string, string]>(
        "select role, body from messages where session_key = ? and session_id = ? and role in ('user', 'assistant') order by id",
      )
      .all(sessionKey, sessionId)
  }

  chunks(ids: number[]): ChunkRow[] {
    if (ids.length === 0) return []
    return this.sqlite
      .query<ChunkRow, []>(
        `select id, path, source, start_line as startLine, end_line as endLine, text from memory_chunks where id in (${ids.map(Number).join(",")})`,
      )
      .all()
  }

  // ---- embedding cache ----------------------------------------------------------------------------------------

  cached(provider: string, model: string, hashes: string[]): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>()
    const q = this.sqlite.prepare<{ embedding: Uint8Array }, [string, string, string]>(
      "select embedding from memory_embedding_cache where provider = ? and model = ? and hash = ?",
    )
    for (const h of new Set(hashes)) {
      const row = q.get(provider, model, h)
      if (row) out.set(h, fromBlob(row.embedding))
    }
    return out
  }

  cache(provider: string, model: string, entries: { hash: string; embedding: Float32Array }[]): void {
    const now = Date.now()
    this.sqlite.transaction(() => {
      for (const e of entries) {
        this.db
          .insert(memoryEmbeddingCache)
          .values({ provider, model, hash: e.hash, dims: e.embedding.length, embedding: Buffer.from(toBlob(e.embedding)), updatedAt: now })
          .onConflictDoNothing()
          .run()
      }
    })()
  }

  // ---- search -------------------------------------------------------------------------------------------------

  /**
   * Keyword candidates scored in [0, 1]: BM25 of the word index and of the trigram index (substrings, for scripts
   * without spaces), each normalised by its best hit, the better of the two per chunk. Tokens shorter than a trigram
   * (two-character Chinese or Korean words) are found with LIKE.
   */
  keyword(gen: string, query: string, limit: number): ScoredId[] {
    const tokens = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [])]
    if (tokens.length === 0) return []
    const best = new Map<number, number>()
    const take = (rows: { id: number; rank: number }[]) => {
      const top = Math.max(...rows.map((r) => -r.rank), 0)
      if (top <= 0) return
      for (const r of rows) best.set(r.id, Math.max(best.get(r.id) ?? 0, -r.rank / top))
    }
    const ftsQuery = (table: string, words: string[]) =>
      this.sqlite
        .query<{ id: number; rank: number }, [string, string, number]>(
          `select f.rowid as id, bm25(${table}) as rank from ${table} f join memory_chunks c on c.id = f.rowid
           where ${table} match ? and c.gen = ? order by rank limit ?`,
        )
        .all(words.map(ftsQuote).join(" OR "), gen, limit)
    const words = ftsQuery("memory_fts", tokens)
    take(words)
    // Trigrams cost more (every substring is a term): needed for scripts without spaces, and for parts of words
    // (restart in restarted) when whole words did not already fill the candidates.
    const long = tokens.filter((t) => [...t].length >= 3 && (words.length < limit || !/^[\p{Script=Latin}\p{N}_]+$/u.test(t)))
    if (long.length) take(ftsQuery("memory_fts_trigram", long))
    const short = tokens.filter((t) => [...t].length < 3 && /[^\p{Script=Latin}\p{N}_]/u.test(t))
    if (short.length) {
      // Matches of short tokens count as a weaker hit than a full BM25 match.
      const rows = this.sqlite
        .query<{ id: number; n: number }, [string]>(
          `select id, (${short.map(() => "(instr(lower(text), ?) > 0)").join(" + ")}) as n from memory_chunks where gen = ? and n > 0 order by n desc limit ${Number(limit)}`,
        )
        .all(...([...short, gen] as unknown as [string]))
      for (const r of rows) best.set(r.id, Math.max(best.get(r.id) ?? 0, (0.6 * r.n) / short.length))
    }
    return [...best.entries()]
      .map(([id, score]) => ({ id, score }))
      .sort((a, b) => b.score - a.score)
      .slice(0, limit)
  }

  /** Nearest chunks by cosine similarity: vec0 KNN when sqlite-vec is loaded (and not bypassed), else an exact scan. */
  vector(gen: string, query: Float32Array, limit: number, mode: "sqlite-vec" | "scan"): ScoredId[] {
    const table = vecTableOf(gen)
    if (mode === "sqlite-vec" && this.vecLoaded && this.hasTable(table)) {
      return this.sqlite
        .query<{ id: number; distance: number }, [Uint8Array, number]>(`select rowid as id, distance from ${table} where embedding match ? and k = ?`)
        .all(toBlob(query), limit)
        .map((r) => ({ id: r.id, score: 1 - r.distance }))
    }
    const rows = this.sqlite
      .query<{ id: number; embedding: Uint8Array }, [string]>("select id, embedding from memory_chunks where gen = ? and embedding is not null")
      .all(gen)
    return rows
      .map((r) => ({ id: r.id, score: dot(query, fromBlob(r.embedding)) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, limit)
  }

  /** Exact similarity of given chunks to the query (keyword hits that were not among the vector candidates). */
  similarity(ids: number[], query: Float32Array): Map<number, number> {
    const out = new Map<number, number>()
    if (ids.length === 0) return out
    const rows = this.sqlite
      .query<{ id: number; embedding: Uint8Array | null }, []>(`select id, embedding from memory_chunks where id in (${ids.map(Number).join(",")})`)
      .all()
    for (const r of rows) if (r.embedding) out.set(r.id, dot(query, fromBlob(r.embedding)))
    return out
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}
