/**
 * Embedding providers over plain fetch (no SDK): OpenAI and any OpenAI-compatible /v1/embeddings, Gemini
 * (batchEmbedContents) and Ollama (/api/embed). Texts are sent in batches; 429 and 5xx are retried with backoff
 * (Retry-After honoured); every vector is checked against the expected dimensions and L2-normalised, so cosine
 * similarity is a dot product everywhere (vec0 and the exact scan agree).
 */
import type { MemoryProviderConfig } from "../config/memory-schema.ts"

export interface EmbeddingProvider {
  /** openai | gemini | ollama | openai-compatible */
  kind: string
  model: string
  /** Known up front when configured; otherwise learnt from the first answer. */
  dims: number | undefined
  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]>
}

export class EmbeddingError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message)
    this.name = "EmbeddingError"
  }
}

const DEFAULTS = {
  openai: { baseUrl: "https://api.openai.com/v1", model: "text-embedding-3-small", keyEnv: "OPENAI_API_KEY" },
  "openai-compatible": { baseUrl: undefined, model: "text-embedding-3-small", keyEnv: undefined },
  gemini: { baseUrl: "https://generativelanguage.googleapis.com/v1beta", model: "gemini-embedding-001", keyEnv: "GEMINI_API_KEY" },
  ollama: { baseUrl: "http://127.0.0.1:11434", model: "nomic-embed-text", keyEnv: undefined },
} as const

export function normalize(v: ArrayLike<number>): Float32Array {
  let sum = 0
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!
  const n = Math.sqrt(sum) || 1
  const out = new Float32Array(v.length)
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / n
  return out
}

/** Why no provider can be built (keyword-only), or the provider. */
export function createEmbeddingProvider(
  cfg: MemoryProviderConfig,
  env: NodeJS.ProcessEnv,
  fetchImpl: typeof fetch = fetch,
): { provider: EmbeddingProvider } | { reason: string } {
  if (cfg.kind === "none") return { reason: "no embedding provider configured (memory.provider.kind is none)" }
  const d = DEFAULTS[cfg.kind]
  const baseUrl = (cfg.baseUrl ?? d.baseUrl)?.replace(/\/+$/, "")
  if (!baseUrl) return { reason: `memory.provider.baseUrl is required for ${cfg.kind}` }
  const keyEnv = cfg.apiKeyEnv ?? d.keyEnv
  const apiKey = cfg.apiKey ?? (keyEnv ? env[keyEnv] : undefined)
  if (!apiKey && (cfg.kind === "openai" || cfg.kind === "gemini"))
    return { reason: `no API key for ${cfg.kind} embeddings (set memory.provider.apiKeyEnv or ${keyEnv})` }
  const model = cfg.model ?? d.model
  const request = requester(cfg, fetchImpl)
  const provider: EmbeddingProvider = {
    kind: cfg.kind,
    model,
    dims: cfg.dimensions,
    async embed(texts, signal) {
      const out: Float32Array[] = []
      for (let i = 0; i < texts.length; i += cfg.batchSize) {
        const batch = texts.slice(i, i + cfg.batchSize)
        const raw = await callProvider(cfg.kind, { baseUrl, apiKey, model, dims: cfg.dimensions }, batch, request, signal)
        if (raw.length !== batch.length) throw new EmbeddingError(`${cfg.kind} returned ${raw.length} embeddings for ${batch.length} texts`)
        for (const v of raw) {
          if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== "number" || !Number.isFinite(x)))
            throw new EmbeddingError(`${cfg.kind} returned an invalid embedding`)
          provider.dims ??= v.length
          if (v.length !== provider.dims)
            throw new EmbeddingError(`${model} returned ${v.length} dimensions, expected ${provider.dims} (memory.provider.dimensions)`)
          out.push(normalize(v))
        }
      }
      return out
    },
  }
  return { provider }
}

type Request = (url: string, init: { headers: Record<string, string>; body: unknown }, signal?: AbortSignal) => Promise<unknown>

async function callProvider(
  kind: MemoryProviderConfig["kind"],
  o: { baseUrl: string; apiKey?: string; model: string; dims?: number },
  input: string[],
  request: Request,
  signal?: AbortSignal,
): Promise<number[][]> {
  if (kind === "gemini") {
    const res = (await request(
      `${o.baseUrl}/models/${o.model}:batchEmbedContents`,
      {
        headers: { "x-goog-api-key": o.apiKey ?? "" },
        body: {
          requests: input.map((text) => ({
            model: `models/${o.model}`,
            content: { parts: [{ text }] },
            ...(o.dims ? { outputDimensionality: o.dims } : {}),
          })),
        },
      },
      signal,
    )) as { embeddings?: { values: number[] }[] }
    return (res.embeddings ?? []).map((e) => e.values)
  }
  if (kind === "ollama") {
    const res = (await request(
      `${o.baseUrl}/api/embed`,
      { headers: {}, body: { model: o.model, input, ...(o.dims ? { dimensions: o.dims } : {}) } },
      signal,
    )) as {
      embeddings?: number[][]
    }
    return res.embeddings ?? []
  }
  const res = (await request(
    `${o.baseUrl}/embeddings`,
    { headers: o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}, body: { model: o.model, input, ...(o.dims ? { dimensions: o.dims } : {}) } },
    signal,
  )) as { data?: { index?: number; embedding: number[] }[] }
  // The API may answer out of order; `index` says which input each vector belongs to.
  return [...(res.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((d) => d.embedding)
}

const MAX_ATTEMPTS = 4

function requester(cfg: MemoryProviderConfig, fetchImpl: typeof fetch): Request {
  return async (url, init, signal) => {
    let lastErr: unknown
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const timeout = AbortSignal.timeout(cfg.timeoutMs)
      try {
        const res = await fetchImpl(url, {
          method: "POST",
          headers: { "content-type": "application/json", ...init.headers },
          body: JSON.stringify(init.body),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        })
        if (res.ok) return await res.json()
        const text = (await res.text()).slice(0, 300)
        lastErr = new EmbeddingError(`${cfg.kind} embeddings: HTTP ${res.status}: ${text}`, res.status)
        // Only rate limits and server errors are worth another try; a bad key or model will not fix itself.
        if (res.status !== 429 && res.status < 500) throw lastErr
        await sleep(backoffMs(attempt, res.headers.get("retry-after")), signal)
      } catch (err) {
        if (err instanceof EmbeddingError && err.status !== undefined && err.status !== 429 && err.status < 500) throw err
        if (signal?.aborted) throw err
        lastErr = err instanceof EmbeddingError ? err : new EmbeddingError(`${cfg.kind} embeddings unreachable: ${(err as Error).message}`)
        if (!(err instanceof EmbeddingError)) await sleep(backoffMs(attempt, null), signal)
      }
    }
    throw lastErr
  }
}

function backoffMs(attempt: number, retryAfter: string | null): number {
  const s = retryAfter ? Number(retryAfter) : Number.NaN
  if (Number.isFinite(s) && s >= 0) return Math.min(s * 1000, 30_000)
  return Math.min(250 * 2 ** attempt, 8000) * (0.5 + Math.random() / 2)
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t)
        resolve()
      },
      { once: true },
    )
  })
}
