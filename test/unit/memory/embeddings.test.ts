/** Embedding providers against loopback servers speaking each wire format: batching, retries, dims checks, normalising. */
import { afterEach, describe, expect, test } from "bun:test"
import { MemoryProvider } from "../../../src/config/memory-schema.ts"
import { createEmbeddingProvider, type EmbeddingProvider } from "../../../src/memory/embeddings.ts"
import { startFakeEmbeddings, type FakeEmbeddings } from "../../fakes/embeddings.ts"

let servers: { stop(): unknown }[] = []
afterEach(async () => {
  for (const s of servers) await s.stop()
  servers = []
})

function provider(cfg: Record<string, unknown>, env: Record<string, string> = {}): EmbeddingProvider {
  const r = createEmbeddingProvider(MemoryProvider.parse(cfg), env)
  if (!("provider" in r)) throw new Error(r.reason)
  return r.provider
}

function serve(handler: (path: string, body: any, headers: Headers) => Response | Promise<Response>) {
  const requests: { path: string; body: any; headers: Headers }[] = []
  const s = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = await req.json()
      const path = new URL(req.url).pathname
      requests.push({ path, body, headers: req.headers })
      return handler(path, body, req.headers)
    },
  })
  servers.push({ stop: () => s.stop(true) })
  return { url: `http://127.0.0.1:${s.port}`, requests }
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0))

describe("embedding providers", () => {
  test("openai-compatible: batches, sorts by index, normalises, retries 429 and 5xx", async () => {
    const fake: FakeEmbeddings = startFakeEmbeddings({ dims: 16 })
    servers.push(fake)
    const p = provider({ kind: "openai-compatible", baseUrl: fake.url, model: "m", batchSize: 2, apiKey: "k-123" })
    fake.failNext(1, 429)
    fake.failNext(1, 503)
    const vecs = await p.embed(["alpha beta", "gamma", "alpha beta", "delta"])
    expect(vecs).toHaveLength(4)
    for (const v of vecs) expect(norm(v)).toBeCloseTo(1, 5)
    // Same text, same vector: the answer's reverse order was undone by `index`.
    expect([...vecs[0]!]).toEqual([...vecs[2]!])
    expect([...vecs[0]!]).not.toEqual([...vecs[1]!])
    // 2 batches + 2 retried failures.
    expect(fake.requests.map((r) => r.input.length)).toEqual([2, 2, 2, 2])
    expect(p.dims).toBe(16)
  })

  test("a 401 is not retried, and a wrong dimension count is an error", async () => {
    const s = serve(() => Response.json({ error: { message: "bad key" } }, { status: 401 }))
    await expect(provider({ kind: "openai-compatible", baseUrl: `${s.url}/v1` }).embed(["x"])).rejects.toThrow(/HTTP 401/)
    expect(s.requests).toHaveLength(1)
    const fake = startFakeEmbeddings({ dims: 8 })
    servers.push(fake)
    // The fake honours `dimensions`; a server that ignored it would answer 8 where 12 are expected.
    const p = provider({ kind: "openai-compatible", baseUrl: fake.url, dimensions: 12 })
    expect((await p.embed(["x"]))[0]).toHaveLength(12)
    const wrong = serve(() => Response.json({ data: [{ index: 0, embedding: [1, 2, 3] }] }))
    await expect(provider({ kind: "openai-compatible", baseUrl: `${wrong.url}/v1`, dimensions: 4 }).embed(["x"])).rejects.toThrow(/3 dimensions, expected 4/)
  })

  test("gemini: batchEmbedContents with the key in a header", async () => {
    const s = serve((path, body) => {
      expect(path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents")
      return Response.json({ embeddings: body.requests.map((_r: unknown, i: number) => ({ values: [i + 1, 0, 0] })) })
    })
    const p = provider({ kind: "gemini", baseUrl: `${s.url}/v1beta` }, { GEMINI_API_KEY: "g-key" })
    const vecs = await p.embed(["a", "b"])
    expect([...vecs[1]!]).toEqual([1, 0, 0])
    expect(s.requests[0]!.headers.get("x-goog-api-key")).toBe("g-key")
    expect(s.requests[0]!.body.requests[0]).toMatchObject({ model: "models/gemini-embedding-001", content: { parts: [{ text: "a" }] } })
  })

  test("ollama: /api/embed", async () => {
    const s = serve((path, body) => {
      expect(path).toBe("/api/embed")
      return Response.json({ model: body.model, embeddings: body.input.map(() => [0, 3, 4]) })
    })
    const vecs = await provider({ kind: "ollama", baseUrl: s.url }).embed(["a"])
    expect([...vecs[0]!].map((x) => Math.round(x * 10) / 10)).toEqual([0, 0.6, 0.8])
    expect(s.requests[0]!.body.model).toBe("nomic-embed-text")
  })

  test("no provider, or no key, is a plain reason (keyword-only)", () => {
    expect(createEmbeddingProvider(MemoryProvider.parse({}), {})).toEqual({ reason: expect.stringContaining("no embedding provider configured") })
    expect(createEmbeddingProvider(MemoryProvider.parse({ kind: "openai" }), {})).toEqual({ reason: expect.stringContaining("OPENAI_API_KEY") })
  })
})
