/**
 * The browser tool against pages on loopback, in the system's Chromium (Debian's chromium in CI). The SSRF guard is
 * told to allow exactly the page server (tools.web.allowPrivate 127.0.0.1:<port>); a second loopback server stands
 * for a private address that must never be reached, directly, by redirect or by a page's sub-requests.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { createBrowserTool, type BrowserTool } from "../../../src/agent/tools/browser/index.ts"
import { chromiumNote, skipWithoutChromium } from "../../harness/chromium.ts"
import { call, policyFor, tempDir } from "./helpers.ts"

const JS_PAGE = `<!doctype html><html><head><title>Loopback Test Page</title></head><body>
<h1>Static heading</h1>
<p>Go to <a href="/form">the form</a> or <a href="https://example.org/elsewhere">elsewhere</a>.</p>
<div id="late"></div>
<script>document.getElementById("late").textContent = "Rendered " + "by script " + (6 * 7)</script>
</body></html>`

const FORM_PAGE = `<!doctype html><html><head><title>Form</title></head><body>
<input id="q" name="q"><button id="go" onclick="document.getElementById('out').textContent = 'You typed: ' + document.getElementById('q').value">Go</button>
<p id="out">nothing yet</p><a href="/page">back</a>
</body></html>`

let pages: ReturnType<typeof Bun.serve>
let secret: ReturnType<typeof Bun.serve>
let base: string
let secretBase: string
/** Requests that reached the server the guard must protect. */
let secretHits: string[] = []
let ws: string
let tool: BrowserTool

beforeAll(() => {
  secret = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      secretHits.push(new URL(req.url).pathname)
      return new Response("<title>SECRET</title>internal admin", { headers: { "content-type": "text/html" } })
    },
  })
  secretBase = `http://127.0.0.1:${secret.port}`
  pages = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const u = new URL(req.url)
      const html = (body: string) => new Response(body, { headers: { "content-type": "text/html; charset=utf-8" } })
      switch (u.pathname) {
        case "/page":
          return html(JS_PAGE)
        case "/form":
          return html(FORM_PAGE)
        case "/slow":
          // Long enough that a second open in the same session would cut it off if the two were not queued.
          return Bun.sleep(600).then(() => html("<title>Slow Page</title><p>took its time</p>"))
        case "/hop":
          return new Response(null, { status: 302, headers: { location: "/page" } })
        case "/to-secret":
          return new Response(null, { status: 302, headers: { location: `${secretBase}/admin` } })
        case "/stuck":
          // Parsed, then never yields again: reading its text would wait forever.
          return html(
            '<title>Stuck</title><p>spinning</p><script>document.addEventListener("DOMContentLoaded", () => setTimeout(() => { for (;;) {} }, 0))</script>',
          )
        case "/leaky":
          return html(
            `<title>Leaky</title><p>public text</p><img src="${secretBase}/pixel.png"><script>fetch("${secretBase}/api").catch(() => {}); new Image().src = "${secretBase}/beacon"</script>`,
          )
        default:
          return new Response("not found", { status: 404 })
      }
    },
  })
  base = `http://127.0.0.1:${pages.port}`
  ws = tempDir()
  tool = createBrowserTool({ policy: policyFor(ws, { web: { allowPrivate: [`127.0.0.1:${pages.port}`] } }) })
})

afterAll(async () => {
  await tool?.close()
  pages?.stop(true)
  secret?.stop(true)
})

const json = (r: { output: string }) => JSON.parse(r.output)

describe.skipIf(skipWithoutChromium)(`browser tool in Chromium${chromiumNote}`, () => {
  test("open returns title, script-rendered text and absolute links", async () => {
    const r = await call(tool, { action: "open", url: `${base}/page` }, ws)
    expect(r.isError).toBeFalsy()
    const page = json(r)
    expect(page).toMatchObject({ url: `${base}/page`, finalUrl: `${base}/page`, title: "Loopback Test Page" })
    expect(page.text).toContain("Static heading")
    expect(page.text).toContain("Rendered by script 42")
    expect(page.links).toEqual([
      { text: "the form", href: `${base}/form` },
      { text: "elsewhere", href: "https://example.org/elsewhere" },
    ])
    expect(tool.running()).toBe(true)
  }, 30_000)

  test("two opens at once in one session run one after the other: neither cuts off nor closes the other's page", async () => {
    const [slow, fast] = await Promise.all([call(tool, { action: "open", url: `${base}/slow` }, ws), call(tool, { action: "open", url: `${base}/page` }, ws)])
    expect(slow.isError).toBeFalsy()
    expect(json(slow).title).toBe("Slow Page")
    expect(fast.isError).toBeFalsy()
    expect(json(fast).title).toBe("Loopback Test Page")
    // The second ran last: it is the session's page now.
    expect(json(await call(tool, { action: "snapshot" }, ws)).title).toBe("Loopback Test Page")
  }, 30_000)

  test("close while an open starts: the new browser keeps its page (the old one's shutdown does not clear it)", async () => {
    expect(json(await call(tool, { action: "open", url: `${base}/page` }, ws)).title).toBe("Loopback Test Page")
    const [, reopened] = await Promise.all([tool.close(), call(tool, { action: "open", url: `${base}/form` }, ws)])
    expect(reopened.isError).toBeFalsy()
    expect(tool.running()).toBe(true)
    expect(json(await call(tool, { action: "snapshot" }, ws)).title).toBe("Form")
    expect(json(await call(tool, { action: "open", url: `${base}/page` }, ws)).title).toBe("Loopback Test Page")
  }, 30_000)

  test("a redirect on an allowed host is followed (finalUrl)", async () => {
    const page = json(await call(tool, { action: "open", url: `${base}/hop` }, ws))
    expect(page.url).toBe(`${base}/hop`)
    expect(page.finalUrl).toBe(`${base}/page`)
  }, 30_000)

  test("type and click change the page", async () => {
    await call(tool, { action: "open", url: `${base}/form` }, ws)
    const typed = await call(tool, { action: "type", selector: "#q", text: "hello browser" }, ws)
    expect(typed.isError).toBeFalsy()
    const clicked = json(await call(tool, { action: "click", selector: "#go" }, ws))
    expect(clicked.text).toContain("You typed: hello browser")
    const byText = json(await call(tool, { action: "click", text: "back" }, ws))
    expect(byText.finalUrl).toBe(`${base}/page`)
    expect(byText.title).toBe("Loopback Test Page")
  }, 30_000)

  test("snapshot is the page's accessibility tree as text", async () => {
    await call(tool, { action: "open", url: `${base}/page` }, ws)
    const snap = json(await call(tool, { action: "snapshot" }, ws))
    expect(snap.title).toBe("Loopback Test Page")
    expect(snap.snapshot).toContain('heading "Static heading"')
    expect(snap.snapshot).toContain('link "the form"')
  }, 30_000)

  test("screenshot writes a real PNG into the workspace", async () => {
    await call(tool, { action: "open", url: `${base}/page` }, ws)
    const shot = json(await call(tool, { action: "screenshot" }, ws))
    expect(shot.path.startsWith(`${ws}/screenshots/`)).toBe(true)
    const png = readFileSync(shot.path)
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    expect(png.readUInt32BE(16)).toBe(1280) // IHDR width: the viewport
    expect(shot.bytes).toBe(png.byteLength)
  }, 30_000)

  test("SSRF: a private address that is not listed is refused, directly and as a redirect target", async () => {
    secretHits = []
    const direct = await call(tool, { action: "open", url: `${secretBase}/admin` }, ws)
    expect(direct.isError).toBe(true)
    expect(direct.output).toContain("tools.web.allowPrivate")
    expect(direct.output).toContain("127.0.0.1 is")
    const redirected = await call(tool, { action: "open", url: `${base}/to-secret` }, ws)
    expect(redirected.isError).toBe(true)
    expect(redirected.output).toContain(`${secretBase}/admin`)
    expect(redirected.output).toContain("tools.web.allowPrivate")
    expect(secretHits).toEqual([])
  }, 30_000)

  test("SSRF: a page's images, fetch and beacons to a refused address never leave the browser", async () => {
    secretHits = []
    const page = json(await call(tool, { action: "open", url: `${base}/leaky`, waitUntil: "networkidle" }, ws))
    expect(page.text).toContain("public text")
    await Bun.sleep(200)
    expect(secretHits).toEqual([])
  }, 30_000)

  test("SSRF: https (a CONNECT tunnel) to a refused address fails with the guard's reason", async () => {
    secretHits = []
    const r = await call(tool, { action: "open", url: `https://127.0.0.1:${secret.port}/` }, ws)
    expect(r.isError).toBe(true)
    expect(r.output).toContain("tools.web.allowPrivate")
    expect(secretHits).toEqual([])
  }, 30_000)

  test("names are resolved by the guard, and the browser connects to the address it checked", async () => {
    // site.test exists only in this resolver: Chromium never resolves it itself (it would fail), the guard's proxy does.
    const resolve = async (host: string) => (host === "site.test" ? [{ address: "127.0.0.1", family: 4 }] : [])
    const named = createBrowserTool({ policy: policyFor(ws, { web: { allowPrivate: [`site.test:${pages.port}`] } }), resolve })
    try {
      const page = json(await call(named, { action: "open", url: `http://site.test:${pages.port}/page` }, ws))
      expect(page.title).toBe("Loopback Test Page")
      expect(page.links[0]).toEqual({ text: "the form", href: `http://site.test:${pages.port}/form` })
      // The same name on another port is not listed: its address (loopback) is refused.
      const other = await call(named, { action: "open", url: `http://site.test:${secret.port}/admin` }, ws)
      expect(other.isError).toBe(true)
      expect(other.output).toContain("resolves to 127.0.0.1")
    } finally {
      await named.close()
    }
  }, 30_000)

  test("a page stuck in a script: the action ends at its deadline, the page is closed, the browser still works", async () => {
    const quick = createBrowserTool({ policy: policyFor(ws, { web: { allowPrivate: [`127.0.0.1:${pages.port}`] }, browser: { timeoutMs: 500 } }) })
    try {
      // Launched first, so the stuck page's deadline is the page action's own: 2 x 500 + 5000 ms.
      expect(json(await call(quick, { action: "open", url: `${base}/page` }, ws)).title).toBe("Loopback Test Page")
      const t0 = performance.now()
      const stuck = await call(quick, { action: "open", url: `${base}/stuck`, waitUntil: "domcontentloaded" }, ws)
      expect(stuck.isError).toBe(true)
      expect(stuck.output).toContain("did not finish within 6000 ms")
      expect(performance.now() - t0).toBeLessThan(12_000)
      expect((await call(quick, { action: "snapshot" }, ws)).output).toContain('"open"')
      expect(json(await call(quick, { action: "open", url: `${base}/page` }, ws)).title).toBe("Loopback Test Page")
    } finally {
      await quick.close()
    }
  }, 30_000)

  test("a cancelled run stops waiting for the browser at once", async () => {
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 300)
    const t0 = performance.now()
    const r = await call(tool, { action: "open", url: `${base}/stuck`, waitUntil: "domcontentloaded" }, ws, ac.signal)
    expect(r.isError).toBe(true)
    expect(r.output).toBe("browser was aborted.")
    expect(performance.now() - t0).toBeLessThan(2000)
    // The stuck page was closed with the cancel: the session browses on at once.
    expect(json(await call(tool, { action: "open", url: `${base}/page` }, ws)).title).toBe("Loopback Test Page")
  }, 30_000)

  test("actions before open and bad arguments explain themselves", async () => {
    const fresh = createBrowserTool({ policy: policyFor(ws) })
    const r = await call(fresh, { action: "click", selector: "#x" }, ws)
    expect(r.isError).toBe(true)
    expect(r.output).toContain('"open"')
    expect((await call(fresh, { action: "open" }, ws)).output).toContain("needs url")
    expect((await call(fresh, { action: "open", url: "file:///etc/passwd" }, ws)).output).toContain("http:// and https://")
    await fresh.close()
  }, 30_000)

  test("the shared browser closes after the idle timeout", async () => {
    const quick = createBrowserTool({ policy: policyFor(ws, { web: { allowPrivate: [`127.0.0.1:${pages.port}`] }, browser: { idleTimeoutMs: 1000 } }) })
    await call(quick, { action: "open", url: `${base}/page` }, ws)
    expect(quick.running()).toBe(true)
    for (let i = 0; i < 60 && quick.running(); i++) await Bun.sleep(100)
    expect(quick.running()).toBe(false)
    // And comes back on the next call.
    expect(json(await call(quick, { action: "open", url: `${base}/page` }, ws)).title).toBe("Loopback Test Page")
    await quick.close()
  }, 30_000)
})

describe("browser tool without Chromium", () => {
  test("nothing on PATH: the error names apt-get install chromium and tools.browser.executablePath", async () => {
    const t = createBrowserTool({ policy: policyFor(tempDir()), path: "/nonexistent-bin" })
    const r = await call(t, { action: "open", url: "https://example.com/" }, tempDir())
    expect(r.isError).toBe(true)
    expect(r.output).toContain("apt-get install chromium")
    expect(r.output).toContain("tools.browser.executablePath")
    expect(t.running()).toBe(false)
  })
  test("a configured path that is not a binary names the key", async () => {
    const t = createBrowserTool({ policy: policyFor(tempDir(), { browser: { executablePath: "/nope/chromium" } }) })
    const r = await call(t, { action: "open", url: "https://example.com/" }, tempDir())
    expect(r.isError).toBe(true)
    expect(r.output).toContain("tools.browser.executablePath is /nope/chromium")
  })
})
