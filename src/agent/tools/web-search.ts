/**
 * web_search: a query to the search backend chosen in tools.web.search (SearXNG's JSON API, Brave Search or Tavily),
 * answered as JSON {query, provider, results: [{title, url, snippet}]}: the same shape for the model, tools.invoke and
 * the bundled web-search skill (skills.invoke). The backend's URL is the operator's own configuration, not model
 * input, so it is not put through the SSRF guard (a SearXNG instance usually runs on this machine or its network).
 */
import { z } from "zod"
import type { Config } from "../../config/schema.ts"
import type { ToolPolicy } from "./policy.ts"
import { defineTool, ToolError, type ToolDef } from "./tool.ts"

export type WebSearchConfig = Config["tools"]["web"]["search"]
export type SearchProvider = NonNullable<WebSearchConfig["provider"]>

export interface SearchHit {
  title: string
  url: string
  snippet: string
}

export interface SearchAnswer {
  query: string
  provider: SearchProvider
  results: SearchHit[]
}

const WebSearchParams = z.object({
  query: z.string().trim().min(1).describe("What to search the web for"),
  maxResults: z.number().int().min(1).max(20).optional().describe("Results wanted (default tools.web.search.maxResults)"),
})

const DEFAULT_BASE: Record<Exclude<SearchProvider, "searxng">, string> = {
  brave: "https://api.search.brave.com",
  tavily: "https://api.tavily.com",
}
const DEFAULT_KEY_ENV: Record<Exclude<SearchProvider, "searxng">, string> = { brave: "BRAVE_API_KEY", tavily: "TAVILY_API_KEY" }

/** Provider answers are external input: only string fields are taken, anything else is skipped. */
const str = (v: unknown): string => (typeof v === "string" ? v : "")

function hits(list: unknown, snippetField: string, max: number): SearchHit[] {
  if (!Array.isArray(list)) return []
  const out: SearchHit[] = []
  for (const r of list) {
    if (!r || typeof r !== "object") continue
    const o = r as Record<string, unknown>
    const url = str(o.url)
    if (!url) continue
    // Brave marks matches with <strong>; the snippet is plain text for every provider.
    out.push({ title: stripTags(str(o.title)), url, snippet: stripTags(str(o[snippetField])) })
    if (out.length >= max) break
  }
  return out
}

function stripTags(s: string): string {
  return s
    .replace(/<[^>]*>/g, "")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .trim()
}

function joinUrl(base: string, path: string): URL {
  return new URL(path.replace(/^\//, ""), base.endsWith("/") ? base : `${base}/`)
}

function apiKey(cfg: WebSearchConfig, provider: "brave" | "tavily", env: Record<string, string | undefined>): string {
  if (cfg.apiKey) return cfg.apiKey
  const name = cfg.apiKeyEnv ?? DEFAULT_KEY_ENV[provider]
  const key = env[name]
  if (key) return key
  throw new ToolError({
    message: `web_search (${provider}) has no API key: set tools.web.search.apiKey, or the environment variable ${name}${cfg.apiKeyEnv ? " (tools.web.search.apiKeyEnv)" : " (or name another one in tools.web.search.apiKeyEnv)"} in the gateway's environment.`,
  })
}

interface Request {
  url: URL
  init: RequestInit
  /** Where the hits are in the parsed answer, and which field is the snippet. */
  pick(body: Record<string, unknown>): unknown
  snippetField: string
}

function buildRequest(cfg: WebSearchConfig, provider: SearchProvider, query: string, max: number, env: Record<string, string | undefined>): Request {
  switch (provider) {
    case "searxng": {
      if (!cfg.baseUrl)
        throw new ToolError({
          message:
            "web_search uses SearXNG but tools.web.search.baseUrl is not set: the operator must set it to the instance's root, e.g. http://127.0.0.1:8888.",
        })
      const url = joinUrl(cfg.baseUrl, "search")
      url.searchParams.set("q", query)
      url.searchParams.set("format", "json")
      return { url, init: { method: "GET", headers: { accept: "application/json" } }, pick: (b) => b.results, snippetField: "content" }
    }
    case "brave": {
      const url = joinUrl(cfg.baseUrl ?? DEFAULT_BASE.brave, "res/v1/web/search")
      url.searchParams.set("q", query)
      url.searchParams.set("count", String(max))
      const headers = { accept: "application/json", "x-subscription-token": apiKey(cfg, "brave", env) }
      return { url, init: { method: "GET", headers }, pick: (b) => (b.web as Record<string, unknown> | undefined)?.results, snippetField: "description" }
    }
    case "tavily": {
      const url = joinUrl(cfg.baseUrl ?? DEFAULT_BASE.tavily, "search")
      const headers = { accept: "application/json", "content-type": "application/json", authorization: `Bearer ${apiKey(cfg, "tavily", env)}` }
      const body = JSON.stringify({ query, max_results: max, search_depth: "basic" })
      return { url, init: { method: "POST", headers, body }, pick: (b) => b.results, snippetField: "content" }
    }
  }
}

export interface SearchOptions {
  /** Injectable for tests; default globalThis.fetch. */
  fetch?: typeof fetch
  /** Where API keys named by apiKeyEnv are read (default process.env). */
  env?: Record<string, string | undefined>
  signal?: AbortSignal
}

/** One search against the configured provider; a ToolError (written for the model) on every failure. */
export async function webSearch(cfg: WebSearchConfig, query: string, maxResults: number | undefined, o: SearchOptions = {}): Promise<SearchAnswer> {
  const provider = cfg.provider
  if (!provider)
    throw new ToolError({
      message:
        "web_search has no search provider configured: the gateway's operator must set tools.web.search.provider (searxng, brave or tavily) in the gateway config, with tools.web.search.baseUrl for searxng or an API key for brave / tavily.",
    })
  const max = Math.min(maxResults ?? cfg.maxResults, 20)
  const req = buildRequest(cfg, provider, query, max, o.env ?? process.env)
  const timeout = AbortSignal.timeout(cfg.timeoutMs)
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout
  let res: Response
  let text: string
  try {
    res = await (o.fetch ?? fetch)(req.url, { ...req.init, signal })
    text = await res.text()
  } catch (err) {
    if (o.signal?.aborted) throw err
    if (timeout.aborted)
      throw new ToolError({
        message: `The ${provider} search at ${req.url.origin} did not answer within ${cfg.timeoutMs} ms (tools.web.search.timeoutMs). Try again later.`,
      })
    throw new ToolError({
      message: `Could not reach the ${provider} search at ${req.url.origin}: ${(err as Error).message}. The operator should check tools.web.search.baseUrl and that the service is running.`,
    })
  }
  if (res.status === 401 || res.status === 403)
    throw new ToolError({
      message: `The ${provider} search refused the request (HTTP ${res.status}): the API key is missing, wrong or not allowed${provider === "searxng" ? " (or the instance does not allow format=json: enable it in its settings.yml search.formats)" : ""}. The operator should check tools.web.search.apiKey / apiKeyEnv.`,
    })
  if (res.status === 429) throw new ToolError({ message: `The ${provider} search is rate-limiting requests (HTTP 429). Wait a little and try again.` })
  if (!res.ok)
    throw new ToolError({ message: `The ${provider} search failed with HTTP ${res.status}${text ? `: ${text.slice(0, 300)}` : ""}. Try again later.` })
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new ToolError({
      message: `The ${provider} search answered with something that is not JSON${provider === "searxng" ? " (is format=json enabled in the instance's settings.yml search.formats?)" : ""}.`,
    })
  }
  if (!body || typeof body !== "object") throw new ToolError({ message: `The ${provider} search answered with unexpected JSON.` })
  return { query, provider, results: hits(req.pick(body as Record<string, unknown>), req.snippetField, max) }
}

export interface WebSearchToolOptions extends Omit<SearchOptions, "signal"> {
  policy: ToolPolicy
}

export function createWebSearchTool(o: WebSearchToolOptions): ToolDef<typeof WebSearchParams> {
  return defineTool({
    name: "web_search",
    description:
      "Search the web. Returns JSON {query, provider, results: [{title, url, snippet}]}; open a result with web_fetch (or browser) to read it. Fails with an explanation when the gateway has no search provider configured.",
    parameters: WebSearchParams,
    async execute(args, ctx) {
      const answer = await webSearch(o.policy.config.web.search, args.query, args.maxResults, { fetch: o.fetch, env: o.env, signal: ctx.signal })
      return { output: JSON.stringify(answer), meta: { ...answer } }
    },
  })
}
