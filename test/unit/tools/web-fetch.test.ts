import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { decodeEntities, htmlToText } from "../../../src/agent/tools/html-to-text.ts"
import type { Resolver } from "../../../src/agent/tools/net-guard.ts"
import { createWebFetchTool } from "../../../src/agent/tools/web-fetch.ts"
import { call, policyFor, tempDir } from "./helpers.ts"
import { EXAMPLE_TEST_CERT, EXAMPLE_TEST_KEY, TEST_CA } from "./tls-fixture.ts"

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
/** Requests that reached /readyz (the gateway's own health route, as a stand-in). */
let readyzHits = 0

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
        case "/readyz":
          readyzHits++
          return new Response("ready", { headers: { "content-type": "text/plain" } })
        case "/to-other":
          return new Response(null, { status: 302, headers: { location: `http://127.0.0.1:${other.port}/secret` } })
        case "/to-other-spelled":
          return new Response(null, { status: 302, headers: { location: `http://0x7f.1:${other.port}/secret` } })
        case "/to-localhost":
          return new Response(null, { status: 302, headers: { location: `http://localhost:${other.port}/secret` } })
        case "/headers":
          return new Response(`${req.method} ${req.headers.get("user-agent") ?? ""}`, { headers: { "content-type": "text/plain" } })
      }
      return new Response("?", { status: 500 })
    },
  })
  base = `http://127.0.0.1:${server.port}`
})
afterAll(() => server.stop(true))

/** Any request that reaches this server is a guard failure. */
let other: ReturnType<typeof Bun.serve>
let otherHits = 0
beforeAll(() => {
  other = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      otherHits++
      return new Response("secret", { headers: { "content-type": "text/plain" } })
    },
  })
})
afterAll(() => other.stop(true))

/** Tests ask no real DNS server: a name that reaches this resolver is a test bug. */
const noDns: Resolver = async (host) => {
  throw new Error(`unexpected DNS lookup of ${host}`)
}

/**
 * The real fetch, but only to loopback literals: whatever the code under test does (before or after the guard), a test
 * can never send a packet off this machine nor trigger a DNS query.
 */
function loopbackFetch(extra: { ca?: string } = {}): typeof fetch {
  return (async (input: string | URL | Request, init?: BunFetchRequestInit) => {
    const host = new URL(input instanceof Request ? input.url : input).hostname
    if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== "[::1]") throw new Error(`test fetch refuses to connect to ${host}`)
    return fetch(input, extra.ca ? { ...init, tls: { ...init?.tls, ca: extra.ca } } : init)
  }) as typeof fetch
}

/** A fetch that records its calls and answers from a script, never connecting anywhere. */
function scriptedFetch(answer: (url: URL, call: number) => Response = () => new Response("ok", { headers: { "content-type": "text/plain" } })) {
  const calls: { url: string; host: string | null; serverName?: string }[] = []
  const f = (async (input: string | URL, init?: BunFetchRequestInit) => {
    const url = new URL(String(input))
    calls.push({ url: url.toString(), host: new Headers(init?.headers).get("host"), serverName: init?.tls?.serverName })
    return answer(url, calls.length)
  }) as unknown as typeof fetch
  return { fetch: f, calls }
}

function tool(webFetch: { maxChars?: number; timeoutMs?: number } = {}, allowPrivate: string[] = [`127.0.0.1:${server.port}`]) {
  const ws = tempDir()
  return { ws, t: createWebFetchTool({ policy: policyFor(ws, { webFetch, web: { allowPrivate } }), fetch: loopbackFetch(), resolve: noDns }) }
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
    const untyped = createWebFetchTool({
      policy: policyFor(ws),
      fetch: (async () => new Response(new TextEncoder().encode(page))) as unknown as typeof fetch,
      resolve: async () => [{ address: "93.184.215.14", family: 4 }],
    })
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
    const { ws, t } = tool({ timeoutMs: 150 }, [`127.0.0.1:${server.port}`, "127.0.0.1:1"])
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

describe("web_fetch SSRF guard", () => {
  test("loopback is refused in every spelling, the gateway's own /readyz included, and nothing is connected", async () => {
    const { ws, t } = tool({}, [])
    const p = server.port
    for (const host of ["127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "[::1]", "localhost", "[::ffff:127.0.0.1]", "127.0.0.1."]) {
      const r = await call(t, { url: `http://${host}:${p}/readyz` }, ws)
      expect(r.isError).toBe(true)
      expect(r.output).toContain("loopback")
      expect(r.output).toContain("tools.web.allowPrivate")
    }
    expect(readyzHits).toBe(0)
  })

  test("metadata, link-local and private addresses are refused before any connection", async () => {
    const s = scriptedFetch()
    const resolve: Resolver = async (host) => {
      if (host === "rebinder.test") return [{ address: "10.0.0.5", family: 4 }]
      throw new Error(`unexpected DNS lookup of ${host}`)
    }
    const ws = tempDir()
    const t = createWebFetchTool({ policy: policyFor(ws), fetch: s.fetch, resolve })
    const cases: [string, string][] = [
      ["http://169.254.169.254/latest/meta-data/", "cloud metadata"],
      ["http://[fd00:ec2::254]/latest/meta-data/", "cloud metadata"],
      ["http://metadata.google.internal/computeMetadata/v1/", "cloud metadata"],
      ["http://metadata/computeMetadata/v1/", "cloud metadata"],
      ["http://100.100.100.200/latest/meta-data/", "cloud metadata"],
      ["http://[::ffff:169.254.169.254]/", "IPv4-mapped"],
      ["http://[64:ff9b::a9fe:a9fe]/", "NAT64"],
      ["http://[2002:a9fe:a9fe::]/", "6to4"],
      ["http://169.254.1.1/", "link-local"],
      ["http://[fe80::1]/", "link-local"],
      ["https://192.168.0.1/", "private"],
      ["http://rebinder.test/", "private"],
    ]
    for (const [url, kind] of cases) {
      const r = await call(t, { url }, ws)
      expect(r.isError).toBe(true)
      expect(r.output).toContain(kind)
    }
    expect(s.calls).toEqual([])
  })

  test("every redirect hop is checked: a redirect to another loopback port is refused", async () => {
    const { ws, t } = tool() // only the first server is allowed, by IP and port
    for (const path of ["/to-other", "/to-other-spelled", "/to-localhost"]) {
      const r = await call(t, { url: `${base}${path}` }, ws)
      expect(r.isError).toBe(true)
      expect(r.output).toContain(`${base}${path} redirected to`)
      expect(r.output).toContain("loopback")
      expect(r.output).toContain("tools.web.allowPrivate")
    }
    expect(otherHits).toBe(0)
    // Allowed explicitly, the same redirect is followed.
    const both = tool({}, [`127.0.0.1:${server.port}`, `127.0.0.1:${other.port}`])
    const r = await call(both.t, { url: `${base}/to-other` }, both.ws)
    expect(r.output).toEndWith("\n\nsecret")
    expect(otherHits).toBe(1)
  })

  test("a redirect from a public host to the metadata address is refused without connecting to it", async () => {
    const s = scriptedFetch((_url, n) =>
      n === 1 ? new Response(null, { status: 302, headers: { location: "http://169.254.169.254/latest/meta-data/" } }) : new Response("creds"),
    )
    const ws = tempDir()
    const t = createWebFetchTool({ policy: policyFor(ws), fetch: s.fetch, resolve: async () => [{ address: "93.184.215.14", family: 4 }] })
    const r = await call(t, { url: "http://public.test/go" }, ws)
    expect(r.isError).toBe(true)
    expect(r.output).toContain("http://public.test/go redirected to http://169.254.169.254/latest/meta-data/")
    expect(r.output).toContain("cloud metadata")
    expect(s.calls.map((c) => c.url)).toEqual(["http://93.184.215.14/go"])
  })

  test("DNS rebinding: the connection goes to the address that was checked, and each hop is resolved and checked again", async () => {
    const lookups: string[] = []
    // First answer public, every later answer loopback: a rebinding DNS server.
    const resolve: Resolver = async (host) => {
      lookups.push(host)
      return [{ address: lookups.length === 1 ? "93.184.215.14" : "127.0.0.1", family: 4 }]
    }
    const s = scriptedFetch()
    const ws = tempDir()
    const t = createWebFetchTool({ policy: policyFor(ws), fetch: s.fetch, resolve })
    const r = await call(t, { url: "http://rebind.test:8080/a?b=1" }, ws)
    expect(r.isError).toBeFalsy()
    expect(r.output).toStartWith("URL: http://rebind.test:8080/a?b=1\n")
    expect(s.calls).toEqual([{ url: "http://93.184.215.14:8080/a?b=1", host: "rebind.test:8080", serverName: undefined }])
    expect(lookups).toEqual(["rebind.test"])

    // A redirect back to the same name is a new lookup, which now answers loopback: refused, not connected.
    lookups.length = 0
    const s2 = scriptedFetch((_url, n) => (n === 1 ? new Response(null, { status: 302, headers: { location: "/next" } }) : new Response("private")))
    const t2 = createWebFetchTool({ policy: policyFor(ws), fetch: s2.fetch, resolve })
    const r2 = await call(t2, { url: "https://rebind.test/" }, ws)
    expect(r2.isError).toBe(true)
    expect(r2.output).toContain("rebind.test resolves to 127.0.0.1, a loopback address")
    expect(s2.calls).toEqual([{ url: "https://93.184.215.14/", host: "rebind.test", serverName: "rebind.test" }])
    expect(lookups).toEqual(["rebind.test", "rebind.test"])
  })

  test("with the real fetch the checked address is the one connected to, under the original Host", async () => {
    // The name first resolves to 127.0.0.2 (allowed), later to 127.0.0.1 (not): two servers on the same port tell
    // which address a request reached.
    const good = Bun.serve({ hostname: "127.0.0.2", port: 0, fetch: (req) => new Response(`good ${req.headers.get("host")}`) })
    let evilHits = 0
    const evil = Bun.serve({
      hostname: "127.0.0.1",
      port: good.port,
      fetch: () => {
        evilHits++
        return new Response("evil")
      },
    })
    try {
      let n = 0
      const resolve: Resolver = async () => [{ address: n++ === 0 ? "127.0.0.2" : "127.0.0.1", family: 4 }]
      const ws = tempDir()
      const t = createWebFetchTool({ policy: policyFor(ws, { web: { allowPrivate: ["127.0.0.2"] } }), fetch: loopbackFetch(), resolve })
      const r = await call(t, { url: `http://rebind.test:${good.port}/` }, ws)
      expect(r.output).toEndWith(`\n\ngood rebind.test:${good.port}`)
      expect(evilHits).toBe(0)
    } finally {
      good.stop(true)
      evil.stop(true)
    }
  })

  test("https to a checked address still verifies the certificate against the host name", async () => {
    const tls = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: EXAMPLE_TEST_CERT, key: EXAMPLE_TEST_KEY },
      fetch: (req) => new Response(`hello ${req.headers.get("host")}`, { headers: { "content-type": "text/plain" } }),
    })
    try {
      const resolve: Resolver = async () => [{ address: "127.0.0.1", family: 4 }]
      const ws = tempDir()
      const t = createWebFetchTool({
        policy: policyFor(ws, { web: { allowPrivate: [`127.0.0.1:${tls.port}`] } }),
        fetch: loopbackFetch({ ca: TEST_CA }),
        resolve,
      })
      const r = await call(t, { url: `https://example.test:${tls.port}/` }, ws)
      expect(r.output).toEndWith(`\n\nhello example.test:${tls.port}`)
      // The certificate is for example.test: another name on the same address fails verification.
      const wrong = await call(t, { url: `https://wrong.test:${tls.port}/` }, ws)
      expect(wrong.isError).toBe(true)
      expect(wrong.output).toContain("Could not fetch")
    } finally {
      tls.stop(true)
    }
  })
})
