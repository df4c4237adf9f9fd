/**
 * The web page in a real browser (playwright-core driving Debian's Chromium) against the compiled binary, a fake
 * model, a fake Telegram Bot API and exec approvals in ask mode, on a desktop and a phone-sized viewport: load the
 * page, enter the token, send a message and watch the reply stream in, run a tool call that needs approval and
 * approve it on the page, approve a Telegram pairing request and (when this machine has a non-loopback address) a
 * remote device's pairing request, then sessions, status and logs. The canvas: a page the agent wrote is served,
 * an edit reloads it, its scripts cannot read the page's stored token, and off loopback it needs the token. Also: a
 * page opened by a host name the Origin check refuses names the config key, and the page reconnects after a restart.
 * Screenshots go to test/artifacts/web-ui/ (ignored by git).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { chromiumNote, chromiumPath, skipWithoutChromium } from "../harness/chromium.ts"
import { mkdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import { loadOrCreateDeviceKey } from "../../src/nodes/device-sign.ts"
import { startFakeTelegram, type ApiCall, type FakeTelegram } from "../fakes/telegram.ts"
import { deviceConnect, nonLoopbackAddress } from "../harness/device-connect.ts"
import { providerFor, scriptedFake, type ScriptedFake } from "./agent-helpers.ts"
import { connected, lastUserText, startBinary, wireText, type GatewayProcess, type RawSocket, ok } from "./harness.ts"

/** The page functions below run in the browser; this project type-checks without the DOM library. */
declare const document: any
declare const window: any

const CHROMIUM = chromiumPath ?? "/usr/bin/chromium"
/** Long enough for a non-loopback bind. */
const TOKEN = "web-ui-e2e-token-0123456789abcdef"
const ARTIFACTS = resolve(import.meta.dir, "../artifacts/web-ui")
const ip = nonLoopbackAddress()
const STREAM_WORDS = Array.from({ length: 16 }, (_, i) => `word${i} `)

let tg: FakeTelegram
let model: ScriptedFake
let gw: GatewayProcess
let browser: Browser
let operator: RawSocket
let base: string

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  tg = startFakeTelegram()
  model = scriptedFake("openai")
  model.script((body) => {
    const msgs = body.messages as { role: string; content: unknown }[]
    const last = msgs.at(-1)
    if (last?.role === "tool") return { text: `tool result: ${wireText(last.content).trim()}` }
    const said =
      lastUserText(body as { messages: { role: string; content: unknown }[] })
        .split("\n")
        .at(-1) ?? ""
    const call = /^CALL (\S+) (.*)$/s.exec(said)
    if (call) return { toolCalls: [{ name: call[1]!, args: JSON.parse(call[2]!) }] }
    if (said.includes("stream")) return { text: STREAM_WORDS, chunkDelayMs: 150 }
    return { text: `echo: ${said}` }
  })
  gw = await startBinary({
    args: ["--token", TOKEN, ...(ip ? ["--bind", "lan"] : [])],
    config: {
      models: { default: "fake/fake-model", providers: { fake: providerFor(model) } },
      tools: { exec: { mode: "ask", approvalTimeoutMs: 120_000 } },
      channels: { telegram: { botToken: tg.token, apiRoot: tg.url, pollTimeoutSeconds: 2 } },
    },
  })
  base = `http://127.0.0.1:${gw.port}`
  operator = (
    await connected(`ws://127.0.0.1:${gw.port}`, {
      auth: { token: TOKEN },
      scopes: ["operator.read", "operator.write", "operator.approvals", "operator.pairing"],
    })
  ).sock
  // A cron job for the status view to list (cron.add needs operator.admin, which the page never asks for).
  const admin = (await connected(`ws://127.0.0.1:${gw.port}`, { auth: { token: TOKEN }, scopes: ["operator.admin"] })).sock
  ok(
    await admin.request("cron.add", {
      name: "standup",
      schedule: { kind: "cron", expr: "0 9 * * 1-5", tz: "Asia/Seoul" },
      payload: { kind: "systemEvent", text: "What is on my calendar today?" },
      enabled: false,
    }),
  )
  admin.close()
  if (!skipWithoutChromium) browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  operator?.close()
  await gw?.stop()
  await tg?.stop()
  await model?.server.stop()
})

const VIEWPORTS = [
  { name: "desktop", options: { viewport: { width: 1280, height: 800 } } },
  { name: "phone", options: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } },
] as const

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

async function tab(page: Page, name: string): Promise<void> {
  await page.getByRole("tab", { name }).click()
  await expect(page.getByRole("tab", { name }).getAttribute("aria-selected")).resolves.toBe("true")
}

describe.skipIf(skipWithoutChromium)(`web page in Chromium${chromiumNote}`, () => {
  for (const [i, vp] of VIEWPORTS.entries()) {
    test(`${vp.name}: token, streamed chat, a tool call approved on the page, pairing approvals, sessions, status, logs`, async () => {
      const context: BrowserContext = await browser.newContext(vp.options)
      const page = await context.newPage()
      const errors: string[] = []
      page.on("pageerror", (e) => errors.push(e.message))
      page.on("console", (m) => {
        if (m.type() === "error" && !m.text().includes("WebSocket")) errors.push(m.text())
      })
      try {
        // ---- load and authenticate --------------------------------------------------------------------------
        const res = await page.goto(base)
        expect(res!.status()).toBe(200)
        expect(res!.headers()["content-security-policy"]).toContain("script-src 'self'")
        await page.getByLabel("Gateway token").waitFor()
        await shot(page, `${vp.name}-1-login`)
        await page.getByLabel("Gateway token").fill(TOKEN)
        await page.getByRole("button", { name: "Connect" }).click()
        await page.getByText("Connected to gateway").waitFor()
        expect(await page.evaluate(() => localStorage.getItem("gateway.token"))).toBe(TOKEN)

        // ---- a streamed reply ----------------------------------------------------------------------------------
        await page.getByLabel("Message").fill(`please stream a reply (${vp.name})`)
        await page.getByLabel("Message").press("Enter")
        await page.locator(".msg.user", { hasText: `please stream a reply (${vp.name})` }).waitFor()
        const streaming = page.locator(".msg.assistant.streaming p")
        await page.waitForFunction(() => (document.querySelector(".msg.assistant.streaming p")?.textContent ?? "").includes("word2"))
        const partial = (await streaming.first().textContent())!
        await shot(page, `${vp.name}-2-streaming`)
        const full = STREAM_WORDS.join("")
        const done = page.locator(".msg.assistant.done p").last()
        await page.waitForFunction((t) => [...document.querySelectorAll(".msg.assistant.done p")].some((p) => p.textContent === t), full)
        expect(partial.length).toBeLessThan(full.length)
        expect(full.startsWith(partial)).toBe(true)
        expect(await done.textContent()).toBe(full)

        // ---- a tool call that needs approval, approved on the page -------------------------------------------
        const command = `echo web-ui-${vp.name}`
        await page.getByLabel("Message").fill(`CALL exec ${JSON.stringify({ command })}`)
        await page.getByRole("button", { name: "Send" }).click()
        const toolRow = page.locator('.tool[data-tool="exec"]', { hasText: command })
        await toolRow.waitFor()
        expect(await toolRow.textContent()).toContain("running…")
        await page.locator("#approvals-badge", { hasText: "1" }).waitFor()
        await shot(page, `${vp.name}-3-tool-running`)
        await tab(page, "Approvals")
        await page.locator("#exec-approvals code", { hasText: command }).waitFor()
        await shot(page, `${vp.name}-4-exec-approval`)
        await page.getByRole("button", { name: `Allow once: ${command}` }).click()
        await page.locator("#exec-approvals .empty").waitFor()
        await tab(page, "Chat")
        await page.locator('.tool.done[data-tool="exec"] .tool-state', { hasText: `web-ui-${vp.name}` }).waitFor()
        await page.locator(".msg.assistant.done", { hasText: `tool result: web-ui-${vp.name}` }).waitFor()
        await shot(page, `${vp.name}-5-tool-done`)

        // ---- a Telegram pairing request, approved on the page --------------------------------------------------
        const stranger = { id: 7000 + i, first_name: `Stranger${vp.name}`, username: `stranger_${vp.name}` }
        tg.pushMessage({ text: "hello bot", from: stranger })
        const codeMsg = await tg.waitFor(
          (c: ApiCall) => c.method === "sendMessage" && String((c.params as { chat_id?: unknown }).chat_id) === String(stranger.id),
          10_000,
        )
        const code = /([A-Z0-9]{8})/.exec(String((codeMsg.params as { text: string }).text))![1]!
        await tab(page, "Approvals")
        const pairRow = page.locator("#channel-pairing li", { hasText: code })
        await pairRow.waitFor({ timeout: 10_000 })
        await shot(page, `${vp.name}-6-pairing`)
        await page.getByRole("button", { name: `Approve Stranger${vp.name} on telegram` }).click()
        await pairRow.waitFor({ state: "detached" })
        const pending = ok(await operator.request("channels.pairing.list", {})).requests as { code: string }[]
        expect(pending.map((r) => r.code)).not.toContain(code)

        // ---- a remote device's pairing request (needs an address other than loopback) ---------------------------
        if (ip) {
          const key = await loadOrCreateDeviceKey(join(gw.home, `device-${vp.name}`, "device.json"))
          const first = await deviceConnect(`ws://${ip}:${gw.port}`, { key, token: TOKEN, displayName: `laptop-${vp.name}` })
          expect(first.res.error?.details?.code).toBe("PAIRING_REQUIRED")
          await first.client.closed()
          const devRow = page.locator("#device-pairing li", { hasText: `laptop-${vp.name}` })
          await devRow.waitFor({ timeout: 10_000 })
          await shot(page, `${vp.name}-7-device-pairing`)
          await page.getByRole("button", { name: `Approve device laptop-${vp.name}` }).click()
          await devRow.waitFor({ state: "detached" })
          const devices = ok(await operator.request("device.pair.list", {}))
          expect(devices.paired.map((d: { deviceId: string }) => d.deviceId)).toContain(key.deviceId)
        }

        // ---- sessions, status, logs ----------------------------------------------------------------------------
        await tab(page, "Sessions")
        await page.getByRole("button", { name: "Open session agent:main:main" }).waitFor()
        await shot(page, `${vp.name}-8-sessions`)
        await page.getByRole("button", { name: "Open session agent:main:main" }).click()
        await page.locator(".msg.user", { hasText: `please stream a reply (${vp.name})` }).waitFor()
        await tab(page, "Status")
        await page.locator("#health dd", { hasText: "yes" }).first().waitFor()
        await page.locator("#channels th", { hasText: "telegram" }).waitFor()
        await page.locator("#cron tr", { hasText: "standup" }).filter({ hasText: "0 9 * * 1-5 (Asia/Seoul)" }).waitFor()
        expect(await page.getByRole("link", { name: "/__openclaw__/canvas/" }).getAttribute("href")).toBe("/__openclaw__/canvas/")
        await shot(page, `${vp.name}-9-status`)
        await tab(page, "Logs")
        await page.waitForFunction(() => (document.getElementById("logs")?.textContent ?? "").trim().length > 0)
        await shot(page, `${vp.name}-10-logs`)

        // Keyboard: arrow keys move between tabs.
        await page.getByRole("tab", { name: "Logs" }).focus()
        await page.keyboard.press("ArrowLeft")
        expect(await page.getByRole("tab", { name: "Status" }).getAttribute("aria-selected")).toBe("true")
        // Nothing wider than the screen (the phone especially).
        expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)

        // The token is remembered: a reload connects without asking.
        await page.reload()
        await page.getByText("Connected to gateway").waitFor()
        expect(await page.getByLabel("Gateway token").isVisible()).toBe(false)
        expect(errors).toEqual([])
      } finally {
        await context.close()
      }
    }, 90_000)
  }

  test("opened by a host name the gateway does not allow, the page names the config key to set", async () => {
    // A second Chromium that resolves gateway.test to loopback: the page loads, its WebSocket is refused (Origin).
    const named = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--host-resolver-rules=MAP gateway.test 127.0.0.1"] })
    try {
      const page = await named.newPage()
      await page.goto(`http://gateway.test:${gw.port}/`)
      await page.locator("#conn-status", { hasText: "gateway.controlUi.allowedOrigins" }).waitFor({ timeout: 10_000 })
      expect(await page.locator("#conn-status").textContent()).toContain(`add http://gateway.test:${gw.port} to gateway.controlUi.allowedOrigins`)
    } finally {
      await named.close()
    }
  }, 30_000)

  test("canvas: the agent's page opens from the chat, an edit reloads it, its scripts cannot read the stored token, off loopback it needs the token", async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    try {
      const html = (v: string) =>
        `<!doctype html><html><body><h1 id="v">${v}</h1><p id="ls"></p><script>try{localStorage.getItem("gateway.token");document.getElementById("ls").textContent="readable"}catch(e){document.getElementById("ls").textContent="blocked"}</script></body></html>`
      await page.goto(base)
      await page.evaluate((t) => localStorage.setItem("gateway.token", t), TOKEN)
      await page.reload()
      await page.getByText("Connected to gateway").waitFor()
      await page.getByLabel("Session", { exact: true }).fill("canvas")
      await page.getByRole("button", { name: "Open" }).click()

      // The agent writes the page with its canvas tool; the chat links to it.
      const call = { action: "write", path: "demo/index.html", content: html("version one") }
      await page.getByLabel("Message").fill(`CALL canvas ${JSON.stringify(call)}`)
      await page.getByRole("button", { name: "Send" }).click()
      await page.locator('.tool.done[data-tool="canvas"]').waitFor()
      const [canvas] = await Promise.all([context.waitForEvent("page"), page.getByRole("link", { name: "Open the page" }).click()])
      await canvas.waitForLoadState()
      expect(canvas.url()).toBe(`${base}/__openclaw__/canvas/demo/index.html`)
      expect(await canvas.locator("#v").textContent()).toBe("version one")
      // The web page's origin holds the token; the sandboxed canvas page cannot read it.
      expect(await canvas.locator("#ls").textContent()).toBe("blocked")
      const served = await fetch(`${base}/__openclaw__/canvas/demo/index.html`)
      expect(served.headers.get("content-security-policy")).toStartWith("sandbox allow-scripts")

      // An edit reloads the open page by itself.
      await Bun.sleep(300) // the reload stream connects after the page's load
      const edited = ok(
        await operator.request("tools.invoke", { name: "canvas", args: { action: "write", path: "demo/index.html", content: html("version two") } }),
      )
      expect(edited.isError).toBe(false)
      await canvas.waitForFunction(() => document.getElementById("v")?.textContent === "version two", undefined, { timeout: 5000 })
      await canvas.screenshot({ path: join(ARTIFACTS, "canvas.png") })
      await shot(page, "canvas-chat")

      if (ip) {
        const remote = `http://${ip}:${gw.port}/__openclaw__/canvas/demo/index.html`
        const refused = await fetch(remote)
        expect(refused.status).toBe(401)
        expect(await refused.text()).not.toContain("version two")
        const allowed = await fetch(remote, { headers: { authorization: `Bearer ${TOKEN}` } })
        expect(allowed.status).toBe(200)
        expect(await allowed.text()).toContain("version two")
      }
    } finally {
      await context.close()
    }
  }, 60_000)

  // Last: it replaces the gateway process.
  test("the page reconnects on its own after the gateway restarts", async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    try {
      await page.goto(base)
      await page.evaluate((t) => localStorage.setItem("gateway.token", t), TOKEN)
      await page.reload()
      await page.getByText("Connected to gateway").waitFor()
      const port = gw.port
      await gw.stop()
      await page.locator("#conn-status", { hasText: "Reconnecting" }).waitFor()
      gw = await startBinary({ args: ["--token", TOKEN], port })
      await page.getByText("Connected to gateway").waitFor({ timeout: 20_000 })
      // Still usable: the sessions view answers on the new connection.
      await tab(page, "Sessions")
      await page.locator("#sessions li").first().waitFor()
    } finally {
      await context.close()
    }
  }, 60_000)
})
