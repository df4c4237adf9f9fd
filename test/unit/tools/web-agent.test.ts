/**
 * web_search and browser as the agent's tools in a real run (in process, fake model): the model sees both, a
 * web_search call reaches the loopback SearXNG server, a browser call opens a loopback page in Chromium, and the
 * shared browser is closed when the gateway stops.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { chromiumNote, skipWithoutChromium } from "../../harness/chromium.ts"
import { type FakeSearch, startFakeSearch } from "../../fakes/search-apis.ts"
import { fakeModel } from "../../harness/fake-model.ts"
import { type InProcessGateway, startInProcess } from "../../harness/inproc.ts"

let gw: InProcessGateway | undefined
let search: FakeSearch | undefined
let page: ReturnType<typeof Bun.serve> | undefined
afterEach(async () => {
  await gw?.stop()
  await search?.stop()
  page?.stop(true)
  gw = search = page = undefined
})

describe("web tools in an agent run", () => {
  test.skipIf(skipWithoutChromium)(
    `the model searches, then opens a result in the browser; stop closes Chromium${chromiumNote}`,
    async () => {
      search = startFakeSearch()
      page = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: () => new Response("<title>Result Page</title><p>the answer is 42</p>", { headers: { "content-type": "text/html" } }),
      })
      const url = `http://127.0.0.1:${page.port}/result`
      const model = fakeModel([
        { toolCalls: [{ name: "web_search", input: { query: "the answer" } }] },
        { toolCalls: [{ name: "browser", input: { action: "open", url } }] },
        { text: "found it" },
      ])
      gw = await startInProcess({
        models: model,
        config: { tools: { web: { allowPrivate: [`127.0.0.1:${page.port}`], search: { provider: "searxng", baseUrl: search.url } } } },
      })
      const c = await gw.connect()
      const sent = await c.call("chat.send", { sessionKey: "main", message: "look it up", idempotencyKey: "w1" })
      await c.chatEnd(sent.runId)
      expect(model.calls[0]!.tools).toContain("web_search")
      expect(model.calls[0]!.tools).toContain("browser")
      const searched = model.calls[1]!.lastToolResult!
      expect(searched).toMatchObject({ toolName: "web_search", isError: false })
      expect(JSON.parse(searched.content).results[0].url).toBe("https://example.com/the-answer/1")
      const opened = model.calls[2]!.lastToolResult!
      expect(opened).toMatchObject({ toolName: "browser", isError: false })
      expect(JSON.parse(opened.content)).toMatchObject({ title: "Result Page", finalUrl: url })
      expect(JSON.parse(opened.content).text).toContain("the answer is 42")

      const chromiumChildren = async () => (await Bun.$`pgrep -P ${process.pid} -f chrom`.nothrow().text()).trim()
      expect(await chromiumChildren()).not.toBe("")
      await gw.stop()
      gw = undefined
      expect(await chromiumChildren()).toBe("")
    },
    60_000,
  )

  test.skipIf(skipWithoutChromium)(
    `two agents and skills.invoke share one Chromium process (each session its own context)${chromiumNote}`,
    async () => {
      page = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: (req) => new Response(`<title>At ${new URL(req.url).pathname}</title>`, { headers: { "content-type": "text/html" } }),
      })
      const base = `http://127.0.0.1:${page.port}`
      gw = await startInProcess({
        models: fakeModel([{ text: "ok" }]),
        config: { agents: { list: [{ id: "main", default: true }, { id: "ops" }] }, tools: { web: { allowPrivate: [`127.0.0.1:${page.port}`] } } },
      })
      const c = await gw.connect()
      const open = async (sessionKey: string, path: string) => {
        const r = await c.call("tools.invoke", { name: "browser", args: { action: "open", url: `${base}${path}` }, sessionKey })
        expect(r.isError).toBe(false)
        return JSON.parse(r.result).title as string
      }
      expect(await open("agent:main:main", "/main")).toBe("At /main")
      expect(await open("agent:ops:main", "/ops")).toBe("At /ops")
      const viaSkill = await c.call("skills.invoke", { skill: "browser", args: { action: "open", url: `${base}/skill` }, sessionKey: "agent:ops:other" })
      expect(viaSkill.result).toMatchObject({ title: "At /skill" })
      const chromiumChildren = async () => (await Bun.$`pgrep -P ${process.pid} -f chrom`.nothrow().text()).trim().split("\n").filter(Boolean)
      expect(await chromiumChildren()).toHaveLength(1)
      await gw.stop()
      gw = undefined
      expect(await chromiumChildren()).toEqual([])
    },
    60_000,
  )

  test("tools.deny group:web and group:ui take both away", async () => {
    const model = fakeModel([{ text: "ok" }])
    gw = await startInProcess({ models: model, config: { tools: { deny: ["group:web", "group:ui"] } } })
    const c = await gw.connect()
    const sent = await c.call("chat.send", { sessionKey: "main", message: "hi", idempotencyKey: "w2" })
    await c.chatEnd(sent.runId)
    expect(model.calls[0]!.tools).not.toContain("web_search")
    expect(model.calls[0]!.tools).not.toContain("browser")
    expect(model.calls[0]!.tools).not.toContain("web_fetch")
    expect(model.calls[0]!.tools).toContain("read")
  })
})
