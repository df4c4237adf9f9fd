/**
 * The memory service: keeps the index of the workspace's Markdown memory in step with the files (a debounced
 * watcher, reindexing only what changed), answers hybrid searches and reads memory files for memory_get.
 *
 * Index generations: provider, model, dimensions and chunking together name a generation. When they change, the new
 * generation is built beside the live one and swapped in when complete, so search keeps answering meanwhile (with the
 * old provider's vectors while this process still holds it, keyword-only after a restart mid-rebuild).
 */
import { readFileSync, realpathSync } from "node:fs"
import { relative, resolve } from "node:path"
import type { MemoryConfig } from "../config/memory-schema.ts"
import { MemoryRepo, type ScoredId } from "../store/memory.ts"
import type { Store } from "../store/index.ts"
import type { Logger } from "../util/log.ts"
import { type Chunk, chunkMarkdown, sha256 } from "./chunker.ts"
import { createEmbeddingProvider, type EmbeddingProvider } from "./embeddings.ts"
import { decodeText, isMemoryPath, listMemoryFiles } from "./files.ts"
import { fuse } from "./hybrid.ts"
import { applyDecay, mmr } from "./rerank.ts"
import type { MemorySearchResponse, MemoryStatus, VectorMode } from "./types.ts"
import { messageLine, parseTranscriptPath, transcriptPath } from "./transcripts.ts"
import { MemoryWatcher } from "./watcher.ts"

export interface MemoryServiceDeps {
  store: Store
  config: () => MemoryConfig
  workspace: string
  env: NodeJS.ProcessEnv
  log: Logger
  fetch?: typeof fetch
  /** "scan" bypasses sqlite-vec even when it loaded (tests compare the two; an operator escape hatch). */
  vectorMode?: "sqlite-vec" | "scan"
}

export interface SyncReport {
  gen: string
  indexed: number
  unchanged: number
  removed: number
  skipped: number
  embedded: number
  ms: number
}

type Built = { provider: EmbeddingProvider; reason?: undefined } | { provider?: undefined; reason: string }

/** The generation name is stored and shown (memory.reindex): a password in the base URL must not be part of it. */
function withoutCredentials(url: string | undefined): string {
  if (!url) return ""
  const u = new URL(url)
  u.username = ""
  u.password = ""
  return u.toString().replace(/\/+$/, "")
}

/** Lines `from` (1-based) to `from + lines - 1` of a text. */
function sliceLines(path: string, text: string, from: number, lines?: number) {
  const all = text.replace(/\r\n?/g, "\n").split("\n")
  const start = Math.max(1, from)
  const end = Math.min(all.length, lines ? start + lines - 1 : all.length)
  return { path, from: start, to: end, totalLines: all.length, text: all.slice(start - 1, end).join("\n") }
}

const ACTIVE = "active_gen"
const LAST_SYNC = "last_sync"
const PROVIDER_BACKOFF_MS = 30_000
/** Cached embeddings no chunk uses any more are kept this long (a file renamed back, a reverted edit), then pruned. */
const CACHE_KEEP_MS = 30 * 86_400_000

export class MemoryService {
  readonly repo: MemoryRepo
  private watcher: MemoryWatcher | undefined
  private debounce: Timer | undefined
  /** Transcripts change in the database, not on disk: with memory.sessions on they are checked on this timer. */
  private sessionTimer: Timer | undefined
  private running: Promise<SyncReport> | undefined
  private queued: { full: boolean; promise: Promise<SyncReport>; resolve(r: SyncReport): void; reject(e: unknown): void } | undefined
  private providerKey: string | undefined
  private providerNow: Built | undefined
  private byGen = new Map<string, Built>()
  private lastSyncAt: number | null = null
  private lastSyncMs: number | null = null
  private lastError: string | undefined
  private embedError: string | undefined
  /** After a failed embeddings call, searches skip the query embedding until then (each would wait out the retries). */
  private downUntil = 0
  private rebuilding = false
  private skipped: { path: string; reason: string }[] = []
  private stopped = false

  constructor(private deps: MemoryServiceDeps) {
    this.repo = new MemoryRepo(deps.store)
  }

  private get cfg(): MemoryConfig {
    return this.deps.config()
  }

  /** The generation the config asks for, with its provider (or why there is none). */
  private current(): { gen: string } & Built {
    const cfg = this.cfg
    const keyEnv = cfg.provider.apiKeyEnv
    const key = JSON.stringify([cfg.provider, keyEnv ? this.deps.env[keyEnv] : undefined, this.deps.env.OPENAI_API_KEY, this.deps.env.GEMINI_API_KEY])
    if (key !== this.providerKey || !this.providerNow) {
      this.providerKey = key
      this.providerNow = createEmbeddingProvider(cfg.provider, this.deps.env, this.deps.fetch)
    }
    const p = this.providerNow
    const chunking = `${cfg.chunk.tokens}/${cfg.chunk.overlap}`
    const gen = p.provider
      ? `${p.provider.kind}|${withoutCredentials(cfg.provider.baseUrl)}|${p.provider.model}|${cfg.provider.dimensions ?? "auto"}|${chunking}`
      : `none|${chunking}`
    this.byGen.set(gen, p)
    return { gen, ...p }
  }

  /** The generation searches read: the live one, or the one being built when there is none yet. */
  private activeGen(): string {
    return this.repo.getState(ACTIVE) ?? this.current().gen
  }

  // ---- sync ---------------------------------------------------------------------------------------------------

  /** Reindexes changed files (all files with `full`). Calls during a sync are merged into one follow-up sync. */
  sync(opts: { full?: boolean } = {}): Promise<SyncReport> {
    if (!this.running) {
      this.running = this.runSync(!!opts.full).finally(() => {
        this.running = undefined
        const q = this.queued
        this.queued = undefined
        if (q && !this.stopped) this.sync({ full: q.full }).then(q.resolve, q.reject)
      })
      return this.running
    }
    if (!this.queued) {
      let resolve!: (r: SyncReport) => void
      let reject!: (e: unknown) => void
      const promise = new Promise<SyncReport>((a, b) => {
        resolve = a
        reject = b
      })
      this.queued = { full: false, promise, resolve, reject }
    }
    this.queued.full ||= !!opts.full
    return this.queued.promise
  }

  private async runSync(full: boolean): Promise<SyncReport> {
    const started = performance.now()
    const target = this.current()
    let active = this.repo.getState(ACTIVE)
    if (!active) {
      active = target.gen
      this.repo.setState(ACTIVE, active)
    }
    const building = active !== target.gen
    this.rebuilding = building
    try {
      const report = await this.indexGen(target.gen, target.provider, full)
      // A changed setting was being built: it is complete, so it goes live and the old generation goes.
      if (building) {
        this.repo.setState(ACTIVE, target.gen)
        this.deps.log.info(`memory: rebuilt the index for ${target.gen}`)
      }
      for (const g of this.repo.otherGens([target.gen])) this.repo.dropGen(g)
      this.repo.pruneCache(Date.now() - CACHE_KEEP_MS)
      for (const g of this.byGen.keys()) if (g !== target.gen) this.byGen.delete(g)
      this.lastError = undefined
      report.ms = Math.round(performance.now() - started)
      this.lastSyncAt = Date.now()
      this.lastSyncMs = report.ms
      // Kept across restarts, so `memory status` right after a start still says when the index was last brought up to date.
      this.repo.setState(LAST_SYNC, JSON.stringify({ at: this.lastSyncAt, ms: report.ms }))
      return report
    } catch (err) {
      this.lastError = (err as Error).message
      this.deps.log.warn(`memory: sync failed: ${this.lastError}`)
      throw err
    } finally {
      this.rebuilding = false
    }
  }

  private async indexGen(gen: string, provider: EmbeddingProvider | undefined, full: boolean): Promise<SyncReport> {
    const cfg = this.cfg
    const report: SyncReport = { gen, indexed: 0, unchanged: 0, removed: 0, skipped: 0, embedded: 0, ms: 0 }
    const known = new Map(this.repo.files(gen).map((f) => [f.path, f]))
    const skipped: { path: string; reason: string }[] = []
    // One failed embeddings call per sync is enough: the rest is indexed for keyword search and retried next time.
    const embed = { down: false }
    for (const f of this.documents()) {
      if (this.stopped) break
      const row = known.get(f.path)
      known.delete(f.path)
      if (!full && row && row.mtime === f.mtime && row.size === f.size) {
        report.unchanged++
        continue
      }
      const text = f.read()
      if (text === null) {
        // Gone between listing and reading: treated as deleted.
        if (row) this.repo.deleteFile(gen, f.path)
        continue
      }
      if (text === undefined) {
        skipped.push({ path: f.path, reason: "not a text file (contains NUL bytes)" })
        if (row) this.repo.deleteFile(gen, f.path)
        report.skipped++
        continue
      }
      const hash = sha256(text)
      if (!full && row && row.hash === hash) {
        this.repo.touchFile(gen, f.path, f.mtime, f.size)
        report.unchanged++
        continue
      }
      const chunks = chunkMarkdown(text, cfg.chunk)
      const vectors = provider ? await this.embedChunks(provider, chunks, embed) : chunks.map(() => null)
      report.embedded += vectors.filter(Boolean).length
      this.repo.replaceFile({
        gen,
        path: f.path,
        source: f.source,
        hash,
        mtime: f.mtime,
        size: f.size,
        model: provider?.model ?? null,
        chunks: chunks.map((c, i) => ({ ...c, embedding: vectors[i] ?? null })),
      })
      report.indexed++
      // bun:sqlite is synchronous: let requests through between files of a big keyword-only sync.
      await new Promise((r) => setImmediate(r))
    }
    for (const path of known.keys()) {
      this.repo.deleteFile(gen, path)
      report.removed++
    }
    if (provider && !embed.down) report.embedded += await this.backfill(gen, provider, embed)
    this.skipped = skipped
    return report
  }

  /**
   * Everything to index: memory files, then (opt-in) session transcripts. read() gives the text, undefined when it
   * is not text, null when it is gone.
   */
  private documents(): { path: string; source: string; mtime: number; size: number; read(): string | undefined | null }[] {
    const cfg = this.cfg
    if (!cfg.enabled) return []
    const files = listMemoryFiles(this.deps.workspace, cfg.sources).map((f) => ({
      ...f,
      source: "memory",
      read() {
        try {
          return decodeText(readFileSync(f.abs))
        } catch {
          return null
        }
      },
    }))
    if (!cfg.sessions.enabled) return files
    const transcripts = this.repo.transcripts().map((t) => ({
      path: transcriptPath(t.sessionKey, t.sessionId),
      source: "sessions",
      mtime: t.lastId,
      size: t.count,
      read: () => this.transcriptText(t.sessionKey, t.sessionId),
    }))
    return [...files, ...transcripts]
  }

  private transcriptText(sessionKey: string, sessionId: string): string {
    return this.repo
      .transcriptMessages(sessionKey, sessionId)
      .flatMap((m) => {
        const line = messageLine(m.role, m.body)
        return line ? [line] : []
      })
      .join("\n")
  }

  /** Two OpenAI-compatible servers may serve different models under one name: the base URL is part of the key. */
  private cacheProvider(p: EmbeddingProvider): string {
    return `${p.kind}@${withoutCredentials(this.cfg.provider.baseUrl)}`
  }

  private cacheModel(p: EmbeddingProvider): string {
    return `${p.model}#${this.cfg.provider.dimensions ?? "auto"}`
  }

  /** Vectors for chunks: from the cache where known, the rest from the provider; null where it failed. */
  private async embedChunks(p: EmbeddingProvider, chunks: Chunk[], embed: { down: boolean }): Promise<(Float32Array | null)[]> {
    const cached = this.repo.cached(
      this.cacheProvider(p),
      this.cacheModel(p),
      chunks.map((c) => c.hash),
    )
    const missing = [...new Map(chunks.filter((c) => !cached.has(c.hash)).map((c) => [c.hash, c.text])).entries()]
    if (missing.length && !embed.down) {
      try {
        const vecs = await p.embed(missing.map(([, t]) => t))
        const entries = missing.map(([hash], i) => ({ hash, embedding: vecs[i]! }))
        this.repo.cache(this.cacheProvider(p), this.cacheModel(p), entries)
        for (const e of entries) cached.set(e.hash, e.embedding)
        this.embedError = undefined
        this.downUntil = 0
      } catch (err) {
        embed.down = true
        this.embedError = (err as Error).message
        this.downUntil = Date.now() + PROVIDER_BACKOFF_MS
        this.deps.log.warn(`memory: embeddings failed, indexing for keyword search only: ${this.embedError}`)
      }
    }
    return chunks.map((c) => cached.get(c.hash) ?? null)
  }

  /** Chunks indexed while the provider was unreachable get their vectors once it answers again. */
  private async backfill(gen: string, p: EmbeddingProvider, embed: { down: boolean }): Promise<number> {
    let done = 0
    for (;;) {
      const rows = this.repo.chunksWithoutEmbedding(gen, 256)
      if (rows.length === 0 || embed.down) return done
      const vecs = await this.embedChunks(
        p,
        rows.map((r) => ({ startLine: 0, endLine: 0, text: r.text, hash: r.hash })),
        embed,
      )
      const ok = rows.flatMap((r, i) => (vecs[i] ? [{ id: r.id, embedding: vecs[i]! }] : []))
      this.repo.setEmbeddings(gen, p.model, ok)
      done += ok.length
      if (ok.length < rows.length) return done
    }
  }

  // ---- watcher ------------------------------------------------------------------------------------------------

  /** Indexes once, then follows file changes (debounced) and config changes. */
  start(): void {
    if (this.stopped || !this.cfg.enabled) return
    this.watcher = new MemoryWatcher({ workspace: this.deps.workspace, sources: () => this.cfg.sources, onChange: () => this.schedule(), log: this.deps.log })
    this.watcher.start()
    this.pollSessions()
    void this.sync().catch(() => {})
  }

  private pollSessions(): void {
    clearTimeout(this.sessionTimer)
    if (this.stopped) return
    this.sessionTimer = setTimeout(() => {
      if (this.cfg.enabled && this.cfg.sessions.enabled) void this.sync().catch(() => {})
      this.pollSessions()
    }, this.cfg.sessions.syncIntervalSeconds * 1000)
    this.sessionTimer.unref?.()
  }

  /** A sync after the debounce window; each call restarts the window, so an editor's burst of writes is one sync. */
  schedule(): void {
    if (this.stopped) return
    clearTimeout(this.debounce)
    this.debounce = setTimeout(() => void this.sync().catch(() => {}), this.cfg.watchDebounceMs)
  }

  /** Called when memory.* changed: a different generation is built in the background. */
  configChanged(): void {
    if (this.cfg.enabled && !this.watcher) return this.start()
    // memory.sources may have changed: watch what is configured now.
    this.watcher?.refresh()
    this.schedule()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.debounce)
    clearTimeout(this.sessionTimer)
    this.watcher?.close()
    this.watcher = undefined
    await this.running?.catch(() => {})
  }

  // ---- search and read ----------------------------------------------------------------------------------------

  private modeOf(gen: string): { mode: VectorMode; reason?: string; provider?: EmbeddingProvider } {
    this.current() // registers the configured generation's provider
    const built = this.byGen.get(gen)
    if (!built) return { mode: "keyword-only", reason: "the live index was built by a provider no longer configured; rebuilding" }
    if (!built.provider) return { mode: "keyword-only", reason: built.reason }
    if (!this.repo.hasEmbeddings(gen)) {
      return {
        mode: "keyword-only",
        reason: this.embedError ? `embedding provider unreachable: ${this.embedError}` : "no vectors indexed yet",
        provider: built.provider,
      }
    }
    const scan = this.deps.vectorMode === "scan" || !this.repo.vecLoaded
    return {
      mode: scan ? "scan" : "sqlite-vec",
      provider: built.provider,
      ...(scan && !this.repo.vecLoaded ? { reason: "sqlite-vec unavailable: exact scan" } : {}),
    }
  }

  async search(query: string, opts: { maxResults?: number; minScore?: number } = {}): Promise<MemorySearchResponse> {
    const cfg = this.cfg
    const gen = this.activeGen()
    const maxResults = opts.maxResults ?? cfg.search.maxResults
    const candidates = Math.min(500, maxResults * cfg.search.candidateMultiplier)
    const keyword = this.repo.keyword(gen, query, candidates)
    const m = this.modeOf(gen)
    let vector: ScoredId[] | undefined
    let fallback = m.reason
    let mode = m.mode
    if (m.provider && m.mode !== "keyword-only" && Date.now() < this.downUntil) {
      fallback = `embedding provider unreachable, keyword search until it answers again: ${this.embedError}`
      mode = "keyword-only"
    } else if (m.provider && m.mode !== "keyword-only") {
      try {
        const [q] = await m.provider.embed([query])
        vector = this.repo.vector(gen, q!, candidates, m.mode === "scan" ? "scan" : "sqlite-vec")
        // Keyword hits outside the vector candidates still get their exact similarity, so fusion is fair to them.
        const seen = new Set(vector.map((v) => v.id))
        const sims = this.repo.similarity(
          keyword.filter((k) => !seen.has(k.id)).map((k) => k.id),
          q!,
        )
        for (const [id, score] of sims) vector.push({ id, score })
      } catch (err) {
        this.embedError = (err as Error).message
        this.downUntil = Date.now() + PROVIDER_BACKOFF_MS
        fallback = `query embedding failed: ${this.embedError}`
        mode = "keyword-only"
        vector = undefined
      }
    }
    const minScore = opts.minScore ?? cfg.search.minScore
    const reranked = cfg.search.temporalDecay.enabled || cfg.search.mmr.enabled
    // Re-ranking needs the candidates beyond the first maxResults (and decay applies before the min score).
    const fused = fuse(vector, keyword, { ...cfg.search, minScore: reranked ? 0 : minScore, maxResults: reranked ? candidates : maxResults })
    const rows = new Map(this.repo.chunks(fused.map((f) => f.id)).map((r) => [r.id, r]))
    let ranked = fused.flatMap((f) => {
      const r = rows.get(f.id)
      return r ? [{ ...r, score: f.score }] : []
    })
    if (cfg.search.temporalDecay.enabled) ranked = applyDecay(ranked, cfg.search.temporalDecay.halfLifeDays)
    if (reranked) ranked = ranked.filter((r) => r.score >= minScore)
    ranked = cfg.search.mmr.enabled ? mmr(ranked, cfg.search.mmr.lambda, maxResults) : ranked.slice(0, maxResults)
    const results = ranked.map((r) => {
      const snippet = r.text.length > cfg.search.snippetChars ? `${r.text.slice(0, cfg.search.snippetChars)}…` : r.text
      return { path: r.path, startLine: r.startLine, endLine: r.endLine, score: Math.round(r.score * 1e4) / 1e4, snippet, source: r.source }
    })
    return {
      results,
      mode,
      provider: m.provider?.kind ?? null,
      model: m.provider?.model ?? null,
      ...(fallback && mode === "keyword-only" ? { fallback } : {}),
    }
  }

  /** Lines of a memory file (1-based `from`); a missing file reads as empty. Other paths are refused. */
  read(path: string, from = 1, lines?: number): { path: string; from: number; to: number; totalLines: number; text: string } {
    const cfg = this.cfg
    const session = cfg.sessions.enabled ? parseTranscriptPath(path) : undefined
    if (session) return sliceLines(path, this.transcriptText(session.sessionKey, session.sessionId), from, lines)
    if (!isMemoryPath(this.deps.workspace, cfg.sources, path)) {
      throw new Error(`${path} is not a memory file (allowed: .md files under ${cfg.sources.join(", ")}, relative to the workspace)`)
    }
    let text: string
    try {
      // A symlink inside memory/ must not lend memory_get a way out of the sources (the file roots do not apply here).
      const real = realpathSync(resolve(this.deps.workspace, path))
      const realWorkspace = realpathSync(this.deps.workspace)
      if (!isMemoryPath(realWorkspace, cfg.sources, relative(realWorkspace, real))) throw new Error(`${path} points outside the memory files`)
      text = decodeText(readFileSync(real)) ?? ""
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { path, from, to: from - 1, totalLines: 0, text: "" }
      throw err
    }
    return sliceLines(path, text, from, lines)
  }

  private lastSync(): { lastSyncAt: number | null; lastSyncMs: number | null } {
    if (this.lastSyncAt !== null) return { lastSyncAt: this.lastSyncAt, lastSyncMs: this.lastSyncMs }
    try {
      const saved = JSON.parse(this.repo.getState(LAST_SYNC) ?? "null") as { at: number; ms: number } | null
      return { lastSyncAt: saved?.at ?? null, lastSyncMs: saved?.ms ?? null }
    } catch {
      return { lastSyncAt: null, lastSyncMs: null }
    }
  }

  status(): MemoryStatus {
    const cfg = this.cfg
    const target = this.current()
    const gen = this.activeGen()
    const counts = this.repo.counts(gen)
    const m = cfg.enabled ? this.modeOf(gen) : { mode: "keyword-only" as const, reason: "memory is disabled (memory.enabled is false)" }
    const p = m.provider ?? target.provider
    return {
      enabled: cfg.enabled,
      workspace: this.deps.workspace,
      sources: cfg.sources,
      ...counts,
      provider: p?.kind ?? null,
      model: p?.model ?? null,
      dims: p?.dims ?? cfg.provider.dimensions ?? this.repo.storedDims(gen),
      mode: m.mode,
      ...(m.reason ? { modeReason: m.reason } : {}),
      ...this.lastSync(),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      rebuilding: this.rebuilding || gen !== target.gen,
      syncing: !!this.running,
      skipped: this.skipped,
    }
  }
}
