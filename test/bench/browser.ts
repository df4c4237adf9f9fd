/**
 * The browser tool in the compiled gateway: a `browser` open of a loopback page (title, script-rendered text, links)
 * invoked over the WebSocket (tools.invoke; skills.invoke {skill: "browser"} dispatches to the same tool).
 *   cold  first invoke after the gateway started: playwright-core's entry loaded, Chromium launched behind the SSRF
 *         proxy, context and page created, page loaded and read. A fresh gateway per run.
 *   warm  later invokes on the running browser (same session: the page is navigated again).
 * The floor, in the same run: playwright-core driving the same Chromium from this process, without the gateway: cold
 * = launch + context + page + goto + read, warm = goto + read on the open page.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { findChromium } from "../../src/agent/tools/browser/find-chromium.ts"
import { median, round, BENCH_TOKEN as TOKEN } from "./wire.ts"

const PAGE = `<!doctype html><html><head><title>Bench Page</title></head><body><h1>Bench</h1>
${Array.from({ length: 40 }, (_, i) => `<p>Paragraph ${i} with <a href="/l${i}">link ${i}</a>.</p>`).join("\n")}
<p id="js"></p><script>document.getElementById("js").textContent = "rendered " + Date.now()</script></body></html>`

export interface BrowserBenchOptions {
  quick: boolean
  /** Starts the binary on a home (gateway.json already written there). */
  start(binary: string, home: string): Promise<{ url: string; stop(): Promise<void> }>
}

/** A minimal raw client: connect with write scope, then tools.invoke calls. */
async function connect(url: string): Promise<{ invoke(name: string, args: unknown): Promise<{ isError: boolean; result: string }>; close(): void }> {
  const ws = new WebSocket(url)
  const pending = new Map<string, (f: { ok: boolean; payload?: { isError: boolean; result: string }; error?: { message: string } }) => void>()
  let nextId = 1
  await new Promise<void>((resolve, reject) => {
    ws.onerror = () => reject(new Error("cannot connect"))
    ws.onmessage = (ev) => {
      const f = JSON.parse(String(ev.data))
      if (f.type === "event" && f.event === "connect.challenge") {
        const client = { id: "bench", version: "1", platform: "linux", mode: "backend" }
        const params = { minProtocol: 4, maxProtocol: 4, client, auth: { token: TOKEN }, scopes: ["operator.read", "operator.write"] }
        ws.send(JSON.stringify({ type: "req", id: "c", method: "connect", params }))
        return
      }
      if (f.type !== "res") return
      if (f.id === "c") return f.ok ? resolve() : reject(new Error(f.error?.message))
      pending.get(f.id)?.(f)
      pending.delete(f.id)
    }
  })
  return {
    invoke(name, args) {
      const id = String(nextId++)
      return new Promise((resolve, reject) => {
        pending.set(id, (f) => (f.ok && f.payload ? resolve(f.payload) : reject(new Error(f.error?.message ?? "failed"))))
        ws.send(JSON.stringify({ type: "req", id, method: "tools.invoke", params: { name, args } }))
      })
    },
    close: () => ws.close(),
  }
}

const summary = (v: number[]) => ({ median: round(median(v)), min: round(Math.min(...v)), max: round(Math.max(...v)), runs: v.length })

export async function benchBrowser(gatewayBin: string, opts: BrowserBenchOptions) {
  let chromium: string
  try {
    chromium = findChromium(undefined)
  } catch {
    return { skipped: true as const, reason: "no Chromium on PATH (apt-get install chromium)" }
  }
  const coldRuns = opts.quick ? 2 : 5
  const warmRuns = opts.quick ? 5 : 20
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(PAGE, { headers: { "content-type": "text/html" } }) })
  const url = `http://127.0.0.1:${server.port}/page`
  try {
    // Floor: playwright-core from this process (the same library and Chromium the gateway drives).
    const { chromium: pw } = await import("playwright-core")
    // The same reads as the tool: title, rendered text, links.
    type Doc = { title: string; body: { innerText: string }; querySelectorAll(s: string): ArrayLike<{ href: string; innerText: string }> }
    const read = () => {
      const doc = (globalThis as unknown as { document: Doc }).document
      // biome-ignore lint/performance/useDomNodeTextContent: rendered text, as the tool reads it
      const links = Array.from(doc.querySelectorAll("a[href]")).map((a) => ({ text: a.innerText, href: a.href }))
      // biome-ignore lint/performance/useDomNodeTextContent: rendered text, as the tool reads it
      return `${doc.title} ${doc.body.innerText} ${links.length}`
    }
    const floorCold: number[] = []
    const floorWarm: number[] = []
    for (let i = 0; i < coldRuns; i++) {
      const t0 = performance.now()
      const browser = await pw.launch({ executablePath: chromium, headless: true })
      const page = await (await browser.newContext()).newPage()
      await page.goto(url)
      const text = await page.evaluate(read)
      floorCold.push(performance.now() - t0)
      if (!text.includes("rendered")) throw new Error("floor: page text missing")
      if (i === 0)
        for (let w = 0; w < warmRuns; w++) {
          const t1 = performance.now()
          await page.goto(url)
          await page.evaluate(read)
          floorWarm.push(performance.now() - t1)
        }
      await browser.close()
    }

    const gwCold: number[] = []
    const gwWarm: number[] = []
    for (let i = 0; i < coldRuns; i++) {
      const home = mkdtempSync(join(tmpdir(), "gw-bench-browser-"))
      writeFileSync(
        join(home, "gateway.json"),
        JSON.stringify({ logging: { console: "off", level: "warn" }, tools: { web: { allowPrivate: [`127.0.0.1:${server.port}`] } } }),
        { mode: 0o600 },
      )
      const gw = await opts.start(gatewayBin, home)
      const client = await connect(gw.url)
      try {
        const t0 = performance.now()
        const first = await client.invoke("browser", { action: "open", url })
        gwCold.push(performance.now() - t0)
        if (first.isError || !JSON.parse(first.result).text.includes("rendered")) throw new Error(`gateway browser: ${first.result}`)
        if (i === 0)
          for (let w = 0; w < warmRuns; w++) {
            const t1 = performance.now()
            const r = await client.invoke("browser", { action: "open", url })
            gwWarm.push(performance.now() - t1)
            if (r.isError) throw new Error(`gateway browser: ${r.result}`)
          }
      } finally {
        client.close()
        await gw.stop()
        rmSync(home, { recursive: true, force: true })
      }
    }
    const cold = { gateway: summary(gwCold), floor: summary(floorCold) }
    const warm = { gateway: summary(gwWarm), floor: summary(floorWarm) }
    return {
      skipped: false as const,
      note: "browser open of a loopback page (title, script-rendered text, 40 links) through tools.invoke; cold = first invoke after the gateway started (playwright-core loaded, Chromium launched, page loaded and read), warm = later invokes; floor = playwright-core driving the same Chromium from the bench process",
      chromium,
      coldMs: { ...cold, overheadMedian: round(cold.gateway.median - cold.floor.median) },
      warmMs: { ...warm, overheadMedian: round(warm.gateway.median - warm.floor.median) },
    }
  } finally {
    server.stop(true)
  }
}
