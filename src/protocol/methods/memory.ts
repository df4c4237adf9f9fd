/** Memory methods: memory.status, memory.search and memory.reindex (the operator's view of the agent's memory index). */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { method, NoParams } from "./define.ts"

export const VectorMode = lazy(() =>
  z.enum(["sqlite-vec", "scan", "keyword-only"]).describe("sqlite-vec: vec0 KNN; scan: exact scan of stored vectors; keyword-only: FTS5 only"),
)

export const MemorySearchResult = lazy(() =>
  z.object({
    path: z.string().describe("Workspace-relative path"),
    startLine: z.number().int(),
    endLine: z.number().int(),
    score: z.number(),
    snippet: z.string(),
    source: z.string(),
  }),
)

export const memoryStatus = method("memory.status", "operator.read", NoParams, () =>
  z.object({
    enabled: z.boolean(),
    workspace: z.string(),
    sources: z.array(z.string()),
    files: z.number().int(),
    chunks: z.number().int(),
    embedded: z.number().int().describe("Chunks with a vector"),
    provider: z.string().nullable(),
    model: z.string().nullable(),
    dims: z.number().int().nullable(),
    mode: VectorMode(),
    modeReason: z.string().optional().describe("Why vectors are not used (or why the exact scan is)"),
    lastSyncAt: z.number().nullable(),
    lastSyncMs: z.number().nullable(),
    lastError: z.string().optional(),
    rebuilding: z.boolean().describe("A changed provider, model, dimensions or chunking is being built; search answers from the old index"),
    syncing: z.boolean(),
    skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
  }),
)

export const memorySearch = method(
  "memory.search",
  "operator.read",
  () =>
    z.strictObject({
      query: z.string().min(1).max(2000),
      maxResults: z.number().int().min(1).max(100).optional(),
      minScore: z.number().min(0).max(1).optional(),
    }),
  () =>
    z.object({
      results: z.array(MemorySearchResult()),
      mode: VectorMode(),
      provider: z.string().nullable(),
      model: z.string().nullable(),
      fallback: z.string().optional().describe("Why this query ran keyword-only"),
    }),
)

export const memoryReindex = method(
  "memory.reindex",
  "operator.write",
  () =>
    z
      .strictObject({ full: z.boolean().optional().describe("Re-read and re-chunk every file, not only changed ones") })
      .optional()
      .default({}),
  () =>
    z.object({
      gen: z.string().describe("Index generation: provider, model, dimensions and chunking"),
      indexed: z.number().int(),
      unchanged: z.number().int(),
      removed: z.number().int(),
      skipped: z.number().int(),
      embedded: z.number().int(),
      ms: z.number(),
    }),
)
