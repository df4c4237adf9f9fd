/**
 * A fake embeddings server speaking the OpenAI format (POST /v1/embeddings {model, input, dimensions?} →
 * {object:"list", data:[{object:"embedding", index, embedding}], model, usage}). Vectors are deterministic
 * hash-based bags of words (each word and its first five letters hashed into a signed bucket), so texts sharing
 * words are close and unrelated texts are nearly orthogonal, with no model anywhere.
 *
 *   const fake = startFakeEmbeddings({ dims: 64 })
 *   // memory.provider: { kind: "openai-compatible", baseUrl: fake.url, model: "fake-embed" }
 *   fake.failNext(2, 503)   fake.down = true (connection-level failures: 503 with no retry value)   await fake.stop()
 *
 * Standalone: `bun test/fakes/embeddings.ts [--port n] [--dims n]` prints {"url","port"} as one JSON line.
 */

export interface FakeEmbeddings {
  /** Base URL including /v1. */
  url: string
  port: number
  /** Every request body, parsed, in order. */
  requests: { model: string; input: string[]; dimensions?: number }[]
  /** Total texts embedded so far. */
  texts(): number
  /** The next n requests fail with this status (429 carries Retry-After: 0). */
  failNext(n: number, status?: number): void
  /** While true every request fails with 500. */
  down: boolean
  stop(): Promise<void>
}

const STOP = new Set(["the", "a", "an", "and", "or", "of", "to", "in", "on", "is", "was", "it", "we", "for", "with", "at", "by"])

function hash32(s: string): number {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 16777619)
  }
  return h >>> 0
}

/** The deterministic vector of a text (not normalised: the gateway must do that). */
export function fakeVector(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0)
  const words = (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !STOP.has(w))
  for (const w of words) {
    for (const f of [w, `~${[...w].slice(0, 5).join("")}`]) {
      const h = hash32(f)
      v[h % dims]! += h & 0x80000000 ? -1 : 1
    }
  }
  // An empty text still gets a vector (a real model never answers with zeros).
  if (words.length === 0) v[0] = 1
  // Scaled, so a gateway that forgets to normalise gets different scores.
  return v.map((x) => x * 3)
}

export function startFakeEmbeddings(opts: { dims?: number; port?: number } = {}): FakeEmbeddings {
  const requests: FakeEmbeddings["requests"] = []
  let failures: number[] = []
  let count = 0
  const state = { down: false }
  const server = Bun.serve({
    port: opts.port ?? 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url)
      if (req.method !== "POST" || url.pathname !== "/v1/embeddings") return Response.json({ error: { message: `no route ${url.pathname}` } }, { status: 404 })
      const body = (await req.json()) as { model: string; input: string | string[]; dimensions?: number }
      const input = Array.isArray(body.input) ? body.input : [body.input]
      requests.push({ model: body.model, input, dimensions: body.dimensions })
      if (state.down) return Response.json({ error: { message: "fake: down", type: "server_error" } }, { status: 500 })
      const fail = failures.shift()
      if (fail) {
        return Response.json({ error: { message: `fake: ${fail}`, type: "requests" } }, { status: fail, headers: fail === 429 ? { "retry-after": "0" } : {} })
      }
      count += input.length
      const dims = body.dimensions ?? opts.dims ?? 64
      // Answered in reverse order with indexes, as the API may: the client must sort by index.
      const data = input.map((t, index) => ({ object: "embedding", index, embedding: fakeVector(t, dims) })).reverse()
      return Response.json({ object: "list", data, model: body.model, usage: { prompt_tokens: count, total_tokens: count } })
    },
  })
  const port = server.port as number
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    texts: () => count,
    failNext(n, status = 503) {
      failures = [...failures, ...new Array(n).fill(status)]
    },
    get down() {
      return state.down
    },
    set down(v: boolean) {
      state.down = v
    },
    stop: () => server.stop(true),
  }
}

if (import.meta.main) {
  const argv = process.argv.slice(2)
  const flag = (f: string) => {
    const i = argv.indexOf(f)
    return i >= 0 ? Number(argv[i + 1]) : undefined
  }
  const fake = startFakeEmbeddings({ port: flag("--port"), dims: flag("--dims") })
  process.stdout.write(`${JSON.stringify({ url: fake.url, port: fake.port })}\n`)
  const bye = () => void fake.stop().then(() => process.exit(0))
  process.on("SIGINT", bye)
  process.on("SIGTERM", bye)
}
