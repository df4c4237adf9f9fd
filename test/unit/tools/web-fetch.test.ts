import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { decodeEntities, htmlToText } from "../../../src/agent/tools/html-to-text.ts"
import { createWebFetchTool } from "../../../src/agent/tools/web-fetch.ts"
import { call, policyFor, tempDir } from "./helpers.ts"

const PAGE = `<!DOCTYPE html><html><head><title>Test &amp; Page</title><style>body{color:red}</style>
<script>var x = "<p>not text</p>";</script></head>
<body><nav><a href="/home">Home</a> <ul><li>Menu</li></ul></nav>
<h1>Main  Title</h1>
<p>First paragraph with a <a href="/docs?a=1&amp;b=2">relative link</a> and <b>bold</b>.</p>
<p>Caf&eacute; &#8212; &#x2713; &lt;tag&gt; &nbsp;done</p>
<ul><li>one</li><li>two <a href="https://example.org/x">ext</a></li></ul>
<pre>  code  line
    indented</pre>
<!-- a comment -->
<h2>Second</h2><table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table>
<noscript>enable js</noscript><footer>Foot</footer></body></html>`

let server: ReturnType<typeof Bun.serve>
let base: string

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const u = new URL(req.url)
      switch (u.pathname) {
        case "/page":
          return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } })
        case "/r1":
          return new Response(null, { status: 302, headers: { location: "/r2" } })
        case "/r2":
          return new Response(null, { status: 301, headers: { location: `${base}/page` } })
        case "/loop":
          return new Response(null, { status: 302, headers: { location: "/loop" } })
        case "/to-file":
          return new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } })
        case "/json":
          return Response.json({ hello: "world" })
        case "/text":
          return new Response("x".repeat(5000), { headers: { "content-type": "text/plain" } })
        case "/image":
          return new Response(new Uint8Array([137, 80, 78, 71, 0, 0]), { headers: { "content-type": "image/png" } })
        case "/untyped":
          return new Response(new Uint8Array([1, 2, 0, 3]), { headers: { "content-type": "" } })
        case "/missing":
          return new Response("<h1>Not here</h1>", { status: 404, headers: { "content-type": "text/html" } })
        case "/endless": {
          const chunk = new TextEncoder().encode("y".repeat(64 * 1024))
          return new Response(new ReadableStream({ pull: (c) => c.enqueue(chunk) }), { headers: { "content-type": "text/plain" } })
        }
        case "/slow":
          return new Promise<Response>((r) => setTimeout(() => r(new Response("late")), 3000))
        case "/latin1":
          return new Response(
            new Uint8Array([...new TextEncoder().encode("<title>Men"), 0xfa, ...new TextEncoder().encode("</title><p>Caf"), 0xe9, 0x20, 0xa3, 0x33]),
            {
              headers: { "content-type": "text/html; charset=iso-8859-1" },
            },
          )
        case "/headers":
          return new Response(`${req.method} ${req.headers.get("user-agent") ?? ""}`, { headers: { "content-type": "text/plain" } })
      }
      return new Response("?", { status: 500 })
    },
  })
  base = `http://127.0.0.1:${server.port}`
})
afterAll(() => server.stop(true))

function tool(webFetch: { maxChars?: number; timeoutMs?: number } = {}) {
  const ws = tempDir()
  return { ws, t: createWebFetchTool({ policy: policyFor(ws, { webFetch }) }) }
}

describe("htmlToText", () => {
  test("keeps structure, drops scripts/styles/nav, links as text (url)", () => {
    const { title, text } = htmlToText(PAGE, "http://h.test/dir/page")
    expect(title).toBe("Test & Page")
    expect(text).toContain("# Main Title")
    expect(text).toContain("First paragraph with a relative link (http://h.test/docs?a=1&b=2) and bold.")
    expect(text).toContain("Café — ✓ <tag> done")
    expect(text).toContain("- one\n- two ext (https://example.org/x)")
    expect(text).toContain("  code  line\n    indented")
    expect(text).toContain("## Second")
    expect(text).toContain("k | v\na | 1")
    expect(text).toContain("Foot")
    for (const gone of ["color:red", "not text", "Home", "Menu", "a comment", "enable js", "Test & Page"]) expect(text).not.toContain(gone)
    expect(text).not.toMatch(/\n{3,}/)
  })
  test("entities", () => {
    expect(decodeEntities("&lt;&#65;&#x42;&unknown;&amp;amp;")).toBe("<AB&unknown;&amp;")
  })
})

describe("web_fetch", () => {
  test("HTML page becomes readable text with a header", async () => {
    const { ws, t } = tool()
    const r = await call(t, { url: `${base}/page` }, ws)
    expect(r.isError).toBeFalsy()
    expect(r.output).toStartWith(`URL: ${base}/page\nStatus: 200\nContent-Type: text/html; charset=utf-8\nTitle: Test & Page\n\n`)
    expect(r.output).toContain(`relative link (${base}/docs?a=1&b=2)`)
    expect(r.output).not.toContain("<p>")
  })
  test("the charset of the content type is honoured; untyped HTML is sniffed and converted", async () => {
    const { ws, t } = tool()
    const latin = await call(t, { url: `${base}/latin1` }, ws)
    expect(latin.output).toContain("Title: Menú\n")
    expect(latin.output).toEndWith("\n\nCafé £3")
    // Bun.serve always sends a content type, so the untyped response comes from an injected fetch.
    const page = "<!doctype html><html><body><h1>No type</h1><script>var x = '<p>no</p>'</script></body></html>"
    const untyped = createWebFetchTool({ policy: policyFor(ws), fetch: (async () => new Response(new TextEncoder().encode(page))) as unknown as typeof fetch })
    const sniffed = await call(untyped, { url: "http://sniff.test/" }, ws)
    expect(sniffed.output).toBe("URL: http://sniff.test/\nStatus: 200\nContent-Type: unknown\n\n# No type")
  })
  test("redirects are followed (at most 5), and only to http(s)", async () => {
    const { ws, t } = tool()
    const r = await call(t, { url: `${base}/r1` }, ws)
    expect(r.output).toStartWith(`URL: ${base}/page`)
    const loop = await call(t, { url: `${base}/loop` }, ws)
    expect(loop.isError).toBe(true)
    expect(loop.output).toContain("Too many redirects (more than 5)")
    const file = await call(t, { url: `${base}/to-file` }, ws)
    expect(file.output).toContain("redirects to a file: URL")
  })
  test("text types are returned as they are; a GET with a user agent", async () => {
    const { ws, t } = tool()
    expect((await call(t, { url: `${base}/json` }, ws)).output).toEndWith('{"hello":"world"}')
    expect((await call(t, { url: `${base}/headers` }, ws)).output).toContain("GET Mozilla/5.0")
  })
  test("maxChars cuts the text, and cannot exceed the config", async () => {
    const { ws, t } = tool({ maxChars: 1000 })
    const r = await call(t, { url: `${base}/text`, maxChars: 200 }, ws)
    expect(r.output).toContain(`${"x".repeat(200)}\n\n[Text cut at 200 of 5000 characters`)
    expect(r.output).not.toContain("x".repeat(201))
    const r2 = await call(t, { url: `${base}/text`, maxChars: 4000 }, ws)
    expect(r2.output).toContain("Text cut at 1000 of 5000")
  })
  test("an endless body stops at the download cap", async () => {
    const { ws, t } = tool({ maxChars: 500 })
    const r = await call(t, { url: `${base}/endless` }, ws)
    expect(r.isError).toBeFalsy()
    expect(r.output).toContain("[The response was larger than 5 MB; only the beginning was downloaded.]")
    expect(r.output).toContain("of 5242880+ characters")
  })
  test("non-http URLs and invalid URLs are refused", async () => {
    const { ws, t } = tool()
    const file = await call(t, { url: "file:///etc/passwd" }, ws)
    expect(file.isError).toBe(true)
    expect(file.output).toContain("only fetches http:// and https:// URLs, not file:")
    expect((await call(t, { url: "not a url" }, ws)).output).toContain("is not a valid absolute URL")
    expect((await call(t, { url: "http://u:p@127.0.0.1/" }, ws)).output).toContain("embedded credentials")
  })
  test("binary content is refused, by content type or by sniffing", async () => {
    const { ws, t } = tool()
    const img = await call(t, { url: `${base}/image` }, ws)
    expect(img.isError).toBe(true)
    expect(img.output).toContain("returned binary content (image/png)")
    expect((await call(t, { url: `${base}/untyped` }, ws)).output).toContain("binary content")
  })
  test("HTTP errors and timeouts are readable", async () => {
    const { ws, t } = tool({ timeoutMs: 150 })
    const nf = await call(t, { url: `${base}/missing` }, ws)
    expect(nf.isError).toBe(true)
    expect(nf.output).toContain("answered HTTP 404")
    expect(nf.output).toContain("# Not here")
    const slow = await call(t, { url: `${base}/slow` }, ws)
    expect(slow.isError).toBe(true)
    expect(slow.output).toContain("timed out after 150 ms")
    const refused = await call(t, { url: "http://127.0.0.1:1/" }, ws)
    expect(refused.output).toContain("Could not fetch")
  })
})
