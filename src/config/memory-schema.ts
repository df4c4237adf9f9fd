/** Config of agent memory: which Markdown files are indexed, the embedding provider, chunking and search weights. */
import { z } from "zod"

export const MemoryProvider = z
  .strictObject({
    kind: z
      .enum(["none", "openai", "gemini", "ollama", "openai-compatible"])
      .default("none")
      .describe("Embedding provider; 'none' = keyword search only (FTS5, no vectors)"),
    baseUrl: z
      .url()
      .optional()
      .describe(
        "API base: default https://api.openai.com/v1, https://generativelanguage.googleapis.com/v1beta, http://127.0.0.1:11434; required for openai-compatible (…/v1)",
      ),
    apiKey: z.string().optional().describe("API key (prefer apiKeyEnv so the key stays out of the file)"),
    apiKeyEnv: z.string().optional().describe("Environment variable holding the API key (default OPENAI_API_KEY / GEMINI_API_KEY for those kinds)"),
    model: z.string().optional().describe("Embedding model; default text-embedding-3-small (openai), gemini-embedding-001 (gemini), nomic-embed-text (ollama)"),
    dimensions: z.number().int().min(1).max(8192).optional().describe("Vector size; sent to providers that can shorten vectors, and checked on every answer"),
    batchSize: z.number().int().min(1).max(2048).default(64).describe("Texts per embeddings request"),
    timeoutMs: z.number().int().min(1000).default(60_000).describe("Timeout of one embeddings request"),
  })
  .describe("Embedding provider for vector search")

export const Memory = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Index the workspace's memory files and offer memory_search / memory_get to the agent"),
    sources: z
      .array(z.string().min(1))
      .default(["MEMORY.md", "memory.md", "memory"])
      .describe("Files or directories (relative to the workspace) whose .md files are indexed"),
    provider: MemoryProvider.prefault({}),
    chunk: z
      .strictObject({
        tokens: z.number().int().min(32).max(8000).default(400).describe("Target chunk size in tokens (about 4 characters each)"),
        overlap: z.number().int().min(0).max(2000).default(80).describe("Tokens of the previous chunk repeated at the start of the next"),
      })
      .prefault({}),
    search: z
      .strictObject({
        vectorWeight: z.number().min(0).max(1).default(0.7).describe("Weight of vector similarity in hybrid scores"),
        textWeight: z.number().min(0).max(1).default(0.3).describe("Weight of the keyword (BM25) score in hybrid scores"),
        candidateMultiplier: z.number().int().min(1).max(50).default(4).describe("Candidates fetched from each index per result wanted"),
        minScore: z.number().min(0).max(1).default(0.2).describe("Results scoring below this are dropped"),
        maxResults: z.number().int().min(1).max(100).default(6).describe("Results returned when the caller does not say"),
        snippetChars: z.number().int().min(50).max(10_000).default(700).describe("Longest snippet returned per result"),
        temporalDecay: z
          .strictObject({
            enabled: z.boolean().default(false).describe("Dated notes (memory/YYYY-MM-DD.md) score less as they age; MEMORY.md and undated files never do"),
            halfLifeDays: z.number().min(1).max(3650).default(30).describe("Age at which a dated note's score is halved"),
          })
          .prefault({}),
        mmr: z
          .strictObject({
            enabled: z.boolean().default(false).describe("Diversify results (maximal marginal relevance) so near-duplicates do not crowd out the rest"),
            lambda: z.number().min(0).max(1).default(0.7).describe("1 = score only, 0 = diversity only"),
          })
          .prefault({}),
      })
      .prefault({}),
    sessions: z
      .strictObject({
        enabled: z.boolean().default(false).describe("Also index session transcripts (user and assistant text, secrets masked) as source 'sessions'"),
        syncIntervalSeconds: z.number().int().min(5).max(86_400).default(60).describe("How often transcripts are checked for new messages"),
      })
      .prefault({})
      .describe("Session transcripts as a memory source"),
    watchDebounceMs: z.number().int().min(0).max(60_000).default(1500).describe("Quiet time after a file change before it is reindexed"),
  })
  .describe("Agent memory: Markdown files in the workspace, indexed for keyword and vector search")

export type MemoryConfig = z.infer<typeof Memory>
export type MemoryProviderConfig = z.infer<typeof MemoryProvider>
