/**
 * A fake web search backend on loopback speaking the three real wire formats at once, so that tools.web.search.baseUrl
 * pointed at it is all the production code needs:
 *   SearXNG  GET  /search?q=…&format=json        → {query, number_of_results, results: [{url, title, content, engine, …}], answers, …}
 *   Brave    GET  /res/v1/web/search?q=…&count=n  (X-Subscription-Token) → {type: "search", query: {original}, web: {type, results: [{title, url, description, …}]}}
 *   Tavily   POST /search {query, max_results, …} (Authorization: Bearer) → {query, answer, images, results: [{title, url, content, score}], response_time}
 *
 *   const fake = startFakeSearch({ apiKey: "k" })   // results: fake.results (default three per query)
 *   fake.failNext(1, 503)   fake.delayMs = 5000   fake.requests   await fake.stop()
 *
 * Standalone: `bun test/fakes/search-apis.ts [--port n]` prints {"url","port"} as one JSON line.
 */

export interface FakeHit {
  title: string
  url: string
  text: string
}

export interface FakeSearchRequest {
  api: "searxng" | "brave" | "tavily"
  query: string
  /** count (Brave) / max_results (Tavily). */
  count?: number
  /** The key the request carried (header or body), if any. */
  key?: string
  format?: string
}

export interface FakeSearch {
  url: string
  port: number
  requests: FakeSearchRequest[]
  /** The hits for a query (default: three deterministic hits naming the query). */
  results: (query: string) => FakeHit[]
  /** The next n requests fail with this status. */
  failNext(n: number, status?: number): void
  /** Delay before answering (timeouts). */
  delayMs: number
  stop(): Promise<void>
}

export interface FakeSearchOptions {
  port?: number
  /** When set, Brave and Tavily requests without this key get 401 (SearXNG has no keys). */
  apiKey?: string
}

export function defaultHits(query: string): FakeHit[] {
  const slug = encodeURIComponent(query.toLowerCase().replace(/\s+/g, "-"))
  return [1, 2, 3].map((i) => ({ title: `Result ${i} for ${query}`, url: `https://example.com/${slug}/${i}`, text: `Snippet ${i} about ${query}.` }))
}

export function startFakeSearch(o: FakeSearchOptions = {}): FakeSearch {
  let failures: { n: number; status: number } = { n: 0, status: 500 }
  const fake: FakeSearch = {
    url: "",
    port: 0,
    requests: [],
    results: defaultHits,
    failNext(n, status = 500) {
      failures = { n, status }
    },
    delayMs: 0,
    async stop() {
      server.stop(true)
    },
  }

  const unauthorized = (api: string) =>
    api === "brave"
      ? Response.json(
          { type: "ErrorResponse", error: { code: "SUBSCRIPTION_TOKEN_INVALID", detail: "The provided subscription token is invalid.", status: 401 } },
          { status: 401 },
        )
      : Response.json({ detail: { error: "Unauthorized: missing or invalid API key." } }, { status: 401 })

  async function answer(req: Request): Promise<Response> {
    const u = new URL(req.url)
    if (fake.delayMs) await Bun.sleep(fake.delayMs)
    let r: FakeSearchRequest
    if (req.method === "GET" && u.pathname === "/search")
      r = { api: "searxng", query: u.searchParams.get("q") ?? "", format: u.searchParams.get("format") ?? undefined }
    else if (req.method === "GET" && u.pathname === "/res/v1/web/search")
      r = {
        api: "brave",
        query: u.searchParams.get("q") ?? "",
        count: Number(u.searchParams.get("count") ?? 20),
        key: req.headers.get("x-subscription-token") ?? undefined,
      }
    else if (req.method === "POST" && u.pathname === "/search") {
      const body = (await req.json().catch(() => ({}))) as { query?: string; max_results?: number; api_key?: string }
      const bearer = /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "")?.[1]
      r = { api: "tavily", query: body.query ?? "", count: body.max_results ?? 5, key: bearer ?? body.api_key }
    } else return new Response("Not Found", { status: 404 })
    fake.requests.push(r)
    if (failures.n > 0) {
      failures.n--
      return new Response(`upstream error ${failures.status}`, { status: failures.status })
    }
    if (r.api !== "searxng" && o.apiKey !== undefined && r.key !== o.apiKey) return unauthorized(r.api)
    // SearXNG answers 403 when the json format is not enabled in settings.yml.
    if (r.api === "searxng" && r.format !== "json") return new Response("<html>403 Forbidden</html>", { status: 403, headers: { "content-type": "text/html" } })
    const hits = fake.results(r.query)
    switch (r.api) {
      case "searxng":
        return Response.json({
          query: r.query,
          number_of_results: 0,
          results: hits.map((h, i) => ({
            url: h.url,
            title: h.title,
            content: h.text,
            engine: "duckduckgo",
            parsed_url: ["https", new URL(h.url).host, new URL(h.url).pathname, "", "", ""],
            template: "default.html",
            engines: ["duckduckgo"],
            positions: [i + 1],
            score: 1 / (i + 1),
            category: "general",
          })),
          answers: [],
          corrections: [],
          infoboxes: [],
          suggestions: [],
          unresponsive_engines: [],
        })
      case "brave":
        return Response.json({
          type: "search",
          query: { original: r.query, show_strict_warning: false, is_navigational: false, spellcheck_off: true, country: "us" },
          mixed: { type: "mixed", main: hits.slice(0, r.count).map((_, i) => ({ type: "web", index: i, all: false })) },
          web: {
            type: "search",
            results: hits.slice(0, r.count).map((h) => ({
              type: "search_result",
              title: h.title,
              url: h.url,
              // Brave highlights the query's words in descriptions.
              description: h.text.replace(/Snippet/, "<strong>Snippet</strong>"),
              is_source_local: false,
              is_source_both: false,
              language: "en",
              family_friendly: true,
              profile: { name: "Example", url: h.url, long_name: "example.com" },
              meta_url: { scheme: "https", netloc: new URL(h.url).host, hostname: new URL(h.url).host, path: new URL(h.url).pathname },
            })),
            family_friendly: true,
          },
        })
      case "tavily":
        return Response.json({
          query: r.query,
          follow_up_questions: null,
          answer: null,
          images: [],
          results: hits.slice(0, r.count).map((h, i) => ({ title: h.title, url: h.url, content: h.text, score: 0.9 - i * 0.1, raw_content: null })),
          response_time: 0.42,
        })
    }
  }

  const server = Bun.serve({ hostname: "127.0.0.1", port: o.port ?? 0, fetch: answer })
  fake.port = server.port!
  fake.url = `http://127.0.0.1:${server.port}`
  return fake
}

if (import.meta.main) {
  const i = process.argv.indexOf("--port")
  const fake = startFakeSearch({ port: i > 0 ? Number(process.argv[i + 1]) : 0 })
  console.log(JSON.stringify({ url: fake.url, port: fake.port }))
}
