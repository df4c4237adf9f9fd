/** Shapes shared by the memory service, its tools and the memory.* methods. */

export type VectorMode = "sqlite-vec" | "scan" | "keyword-only"

export interface MemorySearchResult {
  path: string
  startLine: number
  endLine: number
  score: number
  snippet: string
  source: string
}

export interface MemorySearchResponse {
  results: MemorySearchResult[]
  mode: VectorMode
  provider: string | null
  model: string | null
  /** Why vectors were not used for this query, when they were not. */
  fallback?: string
}

export interface MemoryStatus {
  enabled: boolean
  workspace: string
  sources: string[]
  files: number
  chunks: number
  /** Chunks with a vector. */
  embedded: number
  provider: string | null
  model: string | null
  dims: number | null
  mode: VectorMode
  /** A sentence saying why search is keyword-only (no provider, unreachable, sqlite-vec missing…). */
  modeReason?: string
  lastSyncAt: number | null
  lastSyncMs: number | null
  lastError?: string
  /** A rebuild for changed provider/model/dimensions/chunking is running; search answers from the old index. */
  rebuilding: boolean
  syncing: boolean
  /** Files that could not be indexed (not text), with the reason. */
  skipped: { path: string; reason: string }[]
}
