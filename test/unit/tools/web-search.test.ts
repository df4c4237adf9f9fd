/** web_search against a loopback server speaking SearXNG's, Brave's and Tavily's real JSON formats (test/fakes/search-apis.ts). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { createWebSearchTool } from "../../../src/agent/tools/web-search.ts"
import { redact } from "../../../src/config/load.ts"
import { type FakeSearch, startFakeSearch } from "../../fakes/search-apis.ts"
import { call, policyFor, tempDir, toolsConfig } from "./helpers.ts"

let fake: FakeSearch
const ws = tempDir()

beforeAll(() => {
  fake = startFakeSearch({ apiKey: "secret-key" })
})
afterAll(() => fake.stop())

type Search = NonNullable<NonNullable<NonNullable<Parameters<typeof toolsConfig>[0]>["web"]>["search"]>

function searchTool(search: Search, env: Record<string, string | undefined> = {}) {
  return createWebSearchTool({ policy: policyFor(ws, { web: { search } }), env })
}

describe("web_search", () => {
  test("SearXNG: GET /search?q=…&format=json, results mapped to {title, url, snippet}", async () => {
    fake.requests.length = 0
    const r = await call(searchTool({ provider: "searxng", baseUrl: fake.url }), { query: "bun runtime" }, ws)
    expect(r.isError).toBeFalsy()
    expect(JSON.parse(r.output)).toEqual({
      query: "bun runtime",
      provider: "searxng",
      results: [1, 2, 3].map((i) => ({
        title: `Result ${i} for bun runtime`,
        url: `https://example.com/bun-runtime/${i}`,
        snippet: `Snippet ${i} about bun runtime.`,
      })),
    })
    expect(r.meta).toEqual(JSON.parse(r.output))
    expect(fake.requests).toEqual([{ api: "searxng", query: "bun runtime", format: "json" }])
  })

  test("maxResults (config default, per call) caps the list", async () => {
    fake.results = (q) => Array.from({ length: 12 }, (_, i) => ({ title: `T${i}`, url: `https://e.com/${q}/${i}`, text: `s${i}` }))
    try {
      const r = await call(searchTool({ provider: "searxng", baseUrl: `${fake.url}/`, maxResults: 4 }), { query: "x" }, ws)
      expect(JSON.parse(r.output).results.map((h: { title: string }) => h.title)).toEqual(["T0", "T1", "T2", "T3"])
      const r2 = await call(searchTool({ provider: "searxng", baseUrl: fake.url, maxResults: 4 }), { query: "x", maxResults: 7 }, ws)
      expect(JSON.parse(r2.output).results).toHaveLength(7)
    } finally {
      fake.results = (await import("../../fakes/search-apis.ts")).defaultHits
    }
  })

  test("Brave: X-Subscription-Token and count sent; web.results[].description becomes a plain-text snippet", async () => {
    fake.requests.length = 0
    const r = await call(searchTool({ provider: "brave", baseUrl: fake.url, apiKey: "secret-key", maxResults: 2 }), { query: "zod" }, ws)
    expect(r.isError).toBeFalsy()
    const answer = JSON.parse(r.output)
    expect(answer.provider).toBe("brave")
    expect(answer.results).toEqual([
      { title: "Result 1 for zod", url: "https://example.com/zod/1", snippet: "Snippet 1 about zod." },
      { title: "Result 2 for zod", url: "https://example.com/zod/2", snippet: "Snippet 2 about zod." },
    ])
    expect(fake.requests).toEqual([{ api: "brave", query: "zod", count: 2, key: "secret-key" }])
  })

  test("Tavily: POST /search with a Bearer key read from apiKeyEnv", async () => {
    fake.requests.length = 0
    const tool = searchTool({ provider: "tavily", baseUrl: fake.url, apiKeyEnv: "MY_TAVILY" }, { MY_TAVILY: "secret-key" })
    const r = await call(tool, { query: "hono", maxResults: 1 }, ws)
    expect(r.isError).toBeFalsy()
    expect(JSON.parse(r.output)).toEqual({
      query: "hono",
      provider: "tavily",
      results: [{ title: "Result 1 for hono", url: "https://example.com/hono/1", snippet: "Snippet 1 about hono." }],
    })
    expect(fake.requests).toEqual([{ api: "tavily", query: "hono", count: 1, key: "secret-key" }])
  })

  test("Brave's default key variable is BRAVE_API_KEY", async () => {
    const r = await call(searchTool({ provider: "brave", baseUrl: fake.url }, { BRAVE_API_KEY: "secret-key" }), { query: "q" }, ws)
    expect(r.isError).toBeFalsy()
  })

  test("no provider configured: the error names tools.web.search.provider", async () => {
    const r = await call(searchTool({}), { query: "anything" }, ws)
    expect(r.isError).toBe(true)
    expect(r.output).toContain("tools.web.search.provider")
  })

  test("searxng without baseUrl, brave without a key: the errors name the keys", async () => {
    expect((await call(searchTool({ provider: "searxng" }), { query: "q" }, ws)).output).toContain("tools.web.search.baseUrl")
    const noKey = await call(searchTool({ provider: "brave", baseUrl: fake.url }), { query: "q" }, ws)
    expect(noKey.isError).toBe(true)
    expect(noKey.output).toContain("BRAVE_API_KEY")
    expect(noKey.output).toContain("tools.web.search.apiKey")
  })

  test("401 (wrong key) says the key is refused, without echoing it", async () => {
    const r = await call(searchTool({ provider: "tavily", baseUrl: fake.url, apiKey: "wrong-key" }), { query: "q" }, ws)
    expect(r.isError).toBe(true)
    expect(r.output).toContain("HTTP 401")
    expect(r.output).toContain("tools.web.search.apiKey")
    expect(r.output).not.toContain("wrong-key")
  })

  test("5xx and 429 are reported with the status", async () => {
    fake.failNext(1, 503)
    const r = await call(searchTool({ provider: "searxng", baseUrl: fake.url }), { query: "q" }, ws)
    expect(r.isError).toBe(true)
    expect(r.output).toContain("HTTP 503")
    fake.failNext(1, 429)
    expect((await call(searchTool({ provider: "searxng", baseUrl: fake.url }), { query: "q" }, ws)).output).toContain("rate-limiting")
  })

  test("a backend that does not answer in time: timeout named with its key", async () => {
    fake.delayMs = 2000
    try {
      const r = await call(searchTool({ provider: "searxng", baseUrl: fake.url, timeoutMs: 200 }), { query: "q" }, ws)
      expect(r.isError).toBe(true)
      expect(r.output).toContain("200 ms (tools.web.search.timeoutMs)")
    } finally {
      fake.delayMs = 0
    }
  })

  test("a backend that is down: connection error names baseUrl", async () => {
    const r = await call(searchTool({ provider: "searxng", baseUrl: "http://127.0.0.1:1" }), { query: "q" }, ws)
    expect(r.isError).toBe(true)
    expect(r.output).toContain("tools.web.search.baseUrl")
  })

  test("an empty query is refused before any request", async () => {
    fake.requests.length = 0
    const r = await call(searchTool({ provider: "searxng", baseUrl: fake.url }), { query: "  " }, ws)
    expect(r.isError).toBe(true)
    expect(fake.requests).toEqual([])
  })

  test("the API key is a secret: redacted from the config", () => {
    const cfg = toolsConfig({ web: { search: { provider: "brave", apiKey: "secret-key" } } })
    const out = JSON.stringify(redact({ tools: cfg }))
    expect(out).not.toContain("secret-key")
    expect(out).toContain('"provider":"brave"')
  })
})
