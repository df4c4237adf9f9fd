/**
 * The web-search and browser tools in the compiled binary, as desktop and OS agents call them: skills.invoke
 * {skill: "web-search", args: {query}} against a loopback SearXNG-format server and {skill: "browser", args: {url}}
 * against a page on 127.0.0.1 (allowed explicitly by tools.web.allowPrivate host:port) in the system's Chromium, over
 * protocol-3 and protocol-4 connections; the same tools through tools.invoke; and the SSRF guard in the binary.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { chromiumNote, skipWithoutChromium } from "../harness/chromium.ts"
import { type FakeSearch, startFakeSearch } from "../fakes/search-apis.ts"
import { connected, E2E_TOKEN, type GatewayProcess, type RawSocket, startBinary, ok } from "./harness.ts"

const PAGE = `<!doctype html><html><head><title>E2E Browser Page</title></head><body>
<h1>Hello from loopback</h1><a href="/next">next page</a>
<p id="js"></p><script>document.getElementById("js").textContent = "script ran: " + [1, 2, 3].join("-")</script>
</body></html>`

let search: FakeSearch
let pages: ReturnType<typeof Bun.serve>
let base: string
let gw: GatewayProcess
let gwBare: GatewayProcess
const sockets: RawSocket[] = []

beforeAll(async () => {
  search = startFakeSearch()
  pages = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const u = new URL(req.url)
      if (u.pathname === "/page") return new Response(PAGE, { headers: { "content-type": "text/html" } })
      if (u.pathname === "/to-gateway") return new Response(null, { status: 302, headers: { location: `${gw.url.replace(/^ws/, "http")}/readyz` } })
      return new Response("not found", { status: 404 })
    },
  })
  base = `http://127.0.0.1:${pages.port}`
  const tools = { web: { allowPrivate: [`127.0.0.1:${pages.port}`], search: { provider: "searxng", baseUrl: search.url } } }
  ;[gw, gwBare] = await Promise.all([
    startBinary({ args: ["--token", E2E_TOKEN], config: { tools } }),
    startBinary({ args: ["--token", E2E_TOKEN], config: {} }),
  ])
})

afterAll(async () => {
  for (const s of sockets) s.close()
  await Promise.all([gw?.stop(), gwBare?.stop()])
  pages?.stop(true)
  await search?.stop()
})

async function open(target: GatewayProcess, protocol: 3 | 4): Promise<RawSocket> {
  const { sock, hello } = await connected(target.url, { scopes: ["operator.read", "operator.write"], minProtocol: protocol, maxProtocol: protocol })
  expect(hello.protocol).toBe(protocol)
  sockets.push(sock)
  return sock
}

/** skills.invoke's result: the tool's JSON (as an object, or as JSON text). */
function skillResult(payload: Record<string, any>): Record<string, any> {
  const r = payload.result ?? payload
  return typeof r === "string" ? JSON.parse(r) : r
}

for (const protocol of [3, 4] as const) {
  describe(`protocol ${protocol}`, () => {
    test("skills.invoke web-search → {query, provider, results} from the SearXNG server", async () => {
      const sock = await open(gw, protocol)
      const res = skillResult(ok(await sock.request("skills.invoke", { skill: "web-search", args: { query: `gateway ${protocol}` } }, 20_000)))
      expect(res.query).toBe(`gateway ${protocol}`)
      expect(res.provider).toBe("searxng")
      expect(res.results[0]).toEqual({
        title: `Result 1 for gateway ${protocol}`,
        url: `https://example.com/gateway-${protocol}/1`,
        snippet: `Snippet 1 about gateway ${protocol}.`,
      })
    }, 30_000)

    test.skipIf(skipWithoutChromium)(
      `skills.invoke browser → {url, finalUrl, title, text, links} in Chromium${chromiumNote}`,
      async () => {
        const sock = await open(gw, protocol)
        const res = skillResult(ok(await sock.request("skills.invoke", { skill: "browser", args: { url: `${base}/page` } }, 60_000)))
        expect(res).toMatchObject({ url: `${base}/page`, finalUrl: `${base}/page`, title: "E2E Browser Page" })
        expect(res.text).toContain("script ran: 1-2-3")
        expect(res.links).toEqual([{ text: "next page", href: `${base}/next` }])
      },
      60_000,
    )

    test("tools.invoke web_search answers the same JSON", async () => {
      const sock = await open(gw, protocol)
      const res = ok(await sock.request("tools.invoke", { name: "web_search", args: { query: "tools path", maxResults: 2 } }, 20_000))
      expect(res.isError).toBe(false)
      expect(JSON.parse(res.result)).toEqual({
        query: "tools path",
        provider: "searxng",
        results: [1, 2].map((i) => ({
          title: `Result ${i} for tools path`,
          url: `https://example.com/tools-path/${i}`,
          snippet: `Snippet ${i} about tools path.`,
        })),
      })
    }, 30_000)

    test.skipIf(skipWithoutChromium)(
      `tools.invoke browser opens the page; a screenshot is a PNG in the workspace${chromiumNote}`,
      async () => {
        const sock = await open(gw, protocol)
        const page = ok(await sock.request("tools.invoke", { name: "browser", args: { action: "open", url: `${base}/page` } }, 60_000))
        expect(page.isError).toBe(false)
        const opened = JSON.parse(page.result)
        expect(opened.title).toBe("E2E Browser Page")
        expect(opened.text).toContain("script ran: 1-2-3")
        const shot = ok(await sock.request("tools.invoke", { name: "browser", args: { action: "screenshot" } }, 30_000))
        const { path } = JSON.parse(shot.result)
        expect(path.startsWith(`${gw.home}/workspace/screenshots/`)).toBe(true)
        expect([...readFileSync(path).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47])
        // playwright-core's injected scripts work from inside the binary too: the aria snapshot and a click.
        const snap = ok(await sock.request("tools.invoke", { name: "browser", args: { action: "snapshot" } }, 30_000))
        expect(JSON.parse(snap.result).snapshot).toContain('heading "Hello from loopback"')
        const clicked = ok(await sock.request("tools.invoke", { name: "browser", args: { action: "click", text: "next page" } }, 30_000))
        expect(JSON.parse(clicked.result).finalUrl).toBe(`${base}/next`)
      },
      60_000,
    )
  })
}

describe("errors through the binary", () => {
  test.skipIf(skipWithoutChromium)(
    `the browser refuses the gateway's own port, also as a redirect target${chromiumNote}`,
    async () => {
      const sock = await open(gw, 4)
      const direct = ok(
        await sock.request("tools.invoke", { name: "browser", args: { action: "open", url: `${gw.url.replace(/^ws/, "http")}/readyz` } }, 30_000),
      )
      expect(direct.isError).toBe(true)
      expect(direct.result).toContain("tools.web.allowPrivate")
      const redirected = ok(await sock.request("tools.invoke", { name: "browser", args: { action: "open", url: `${base}/to-gateway` } }, 30_000))
      expect(redirected.isError).toBe(true)
      expect(redirected.result).toContain("led to")
      expect(redirected.result).toContain("tools.web.allowPrivate")
    },
    60_000,
  )

  test("no search provider configured: the error names tools.web.search.provider", async () => {
    const sock = await open(gwBare, 3)
    const res = ok(await sock.request("tools.invoke", { name: "web_search", args: { query: "x" } }, 20_000))
    expect(res.isError).toBe(true)
    expect(res.result).toContain("tools.web.search.provider")
  }, 30_000)

  test("skills.invoke web-search without a provider fails with the key to set", async () => {
    const sock = await open(gwBare, 4)
    const res = await sock.request("skills.invoke", { skill: "web-search", args: { query: "x" } }, 20_000)
    expect(res.ok).toBe(false)
    expect((res.error as { message: string }).message).toContain("tools.web.search.provider")
  }, 30_000)

  test("no Chromium on PATH: the error says to install it", async () => {
    const noChrome = await startBinary({ args: ["--token", E2E_TOKEN], config: {}, env: { PATH: "/nonexistent" } })
    try {
      const { sock } = await connected(noChrome.url, { scopes: ["operator.read", "operator.write"] })
      sockets.push(sock)
      const res = ok(await sock.request("tools.invoke", { name: "browser", args: { action: "open", url: "https://example.com/" } }, 20_000))
      expect(res.isError).toBe(true)
      expect(res.result).toContain("apt-get install chromium")
      expect(res.result).toContain("tools.browser.executablePath")
    } finally {
      await noChrome.stop()
    }
  }, 30_000)
})
