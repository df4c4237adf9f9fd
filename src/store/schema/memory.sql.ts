/**
 * Agent memory index: Markdown files of the workspace split into chunks, with their embeddings. Every row belongs to
 * a generation (provider, model, dimensions and chunking together): a changed setting builds a new generation
 * beside the live one, so search keeps answering from the old index until the new one is complete. The FTS5 tables
 * (word and trigram tokenizers) are in a hand-written migration; the vec0 table is created at run time, sized to the
 * model's dimensions, and only when sqlite-vec loaded.
 */
import { blob, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core"

/** A memory file as last indexed: unchanged mtime and size skip the read, an unchanged hash skips re-chunking. */
export const memoryFiles = sqliteTable(
  "memory_files",
  {
    gen: text("gen").notNull(),
    path: text("path").notNull(),
    source: text("source").notNull(),
    hash: text("hash").notNull(),
    mtime: integer("mtime").notNull(),
    size: integer("size").notNull(),
    indexedAt: integer("indexed_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.gen, t.path] })],
)

/** One chunk of a file; rowid is shared with the FTS5 and vec0 rows of the chunk. */
export const memoryChunks = sqliteTable(
  "memory_chunks",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    gen: text("gen").notNull(),
    path: text("path").notNull(),
    source: text("source").notNull(),
    startLine: integer("start_line").notNull(),
    endLine: integer("end_line").notNull(),
    hash: text("hash").notNull(),
    /** Embedding model, or null while the chunk has no vector (keyword-only, or the provider was unreachable). */
    model: text("model"),
    text: text("text").notNull(),
    /** Normalised float32 vector: the exact-scan fallback reads it when sqlite-vec is unavailable. */
    embedding: blob("embedding", { mode: "buffer" }),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("memory_chunks_gen_path").on(t.gen, t.path)],
)

/** Embeddings by (provider, model, text hash): unchanged chunks, renamed files and rebuilds are not re-embedded. */
export const memoryEmbeddingCache = sqliteTable(
  "memory_embedding_cache",
  {
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    hash: text("hash").notNull(),
    dims: integer("dims").notNull(),
    embedding: blob("embedding", { mode: "buffer" }).notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.model, t.hash] })],
)

/** Small facts about the index: the live generation, the last sync. */
export const memoryState = sqliteTable("memory_state", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at").notNull(),
})
