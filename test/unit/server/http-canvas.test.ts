/**
 * The canvas host on the Hono app: direct loopback requests are served (with the live-reload script and the CSP
 * sandbox), everything else needs the gateway token: remote addresses, a local reverse proxy, a DNS-rebound Host.
 * An edit sends a change event on the reload stream.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Hono } from "hono"
import { writeCanvasFile } from "../../../src/canvas/files.ts"
import { CanvasWatcher } from "../../../src/canvas/watch.ts"
import { AuthRateLimiter } from "../../../src/server/auth-rate-limit.ts"
import { bearerAuth } from "../../../src/server/http-auth.ts"
import { isDirectLocal } from "../../../src/server/exposure.ts"
import { canvasRoutes, LIVE_RELOAD_SCRIPT } from "../../../src/server/http-canvas.ts"

const TOKEN = "canvas-test-token"
let ws: string
let watcher: CanvasWatcher
let app: Hono

beforeEach(() => {
  ws = mkdtempSync(join(tmpdir(), "canvas-http-"))
  watcher = new CanvasWatcher(() => ws)
  const limiter = new AuthRateLimiter(() => ({ maxAttempts: 100, windowMs: 60_000, lockoutMs: 60_000, exemptLoopback: true }))
  app = new Hono()
  app.route(
    "/__openclaw__/canvas",
    canvasRoutes({ workspace: () => ws, watcher, auth: bearerAuth(() => ({ mode: "token", token: TOKEN, generated: false }), limiter) }),
  )
})
afterEach(() => {
  watcher.stop()
  rmSync(ws, { recursive: true, force: true })
})

const get = (path: string, remoteAddress = "127.0.0.1", headers: Record<string, string> = {}) =>
  app.request(`http://127.0.0.1:18789${path}`, { headers: { host: "127.0.0.1:18789", ...headers } }, { remoteAddress })

describe("canvas host", () => {
  test("serves a page from loopback with the live-reload script, the sandbox CSP and no caching", async () => {
    writeCanvasFile(ws, "index.html", "<html><body><h1>Made by the agent</h1></body></html>")
    writeCanvasFile(ws, "app.js", "console.log(1)")
    const res = await get("/__openclaw__/canvas/index.html")
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toStartWith("text/html")
    expect(res.headers.get("content-security-policy")).toStartWith("sandbox allow-scripts")
    expect(res.headers.get("content-security-policy")).not.toContain("allow-same-origin")
    expect(res.headers.get("cache-control")).toBe("no-store")
    const html = await res.text()
    expect(html).toBe(`<html><body><h1>Made by the agent</h1>${LIVE_RELOAD_SCRIPT}</body></html>`)
    // The folder URL serves its index.html; a script is served as it is, with its type.
    expect(await (await get("/__openclaw__/canvas/")).text()).toContain("Made by the agent")
    const js = await get("/__openclaw__/canvas/app.js")
    expect(js.headers.get("content-type")).toStartWith("text/javascript")
    expect(await js.text()).toBe("console.log(1)")
    expect((await get("/__openclaw__/canvas/nope.html")).status).toBe(404)
  })

  test("without an index.html the folder URL lists the files", async () => {
    writeCanvasFile(ws, "charts/a.html", "<p>a</p>")
    const html = await (await get("/__openclaw__/canvas/")).text()
    expect(html).toContain('<a href="charts/a.html">charts/a.html</a>')
  })

  test("traversal in the URL is refused", async () => {
    writeFileSync(join(ws, "gateway.txt"), "SECRET")
    writeCanvasFile(ws, "index.html", "<p>page</p>")
    for (const p of ["/__openclaw__/canvas/%2e%2e/gateway.txt", "/__openclaw__/canvas/..%2Fgateway.txt", "/__openclaw__/canvas/sub/..%2F..%2Fgateway.txt"]) {
      const res = await get(p)
      expect([400, 404]).toContain(res.status)
      expect(await res.text()).not.toContain("SECRET")
    }
    expect((await get("/__openclaw__/canvas/..%2Fgateway.txt")).status).toBe(400)
    expect((await get("/__openclaw__/canvas/.secret.html")).status).toBe(400)
    expect((await get("/__openclaw__/canvas/%E0%A4%A.html")).status).toBe(400)
  })

  test("a request that is not direct-local needs the gateway token", async () => {
    writeCanvasFile(ws, "index.html", "<p>private</p>")
    const remote = await get("/__openclaw__/canvas/index.html", "203.0.113.7")
    expect(remote.status).toBe(401)
    expect(await remote.text()).not.toContain("private")
    // A reverse proxy on this machine connects from loopback on a remote visitor's behalf.
    expect((await get("/__openclaw__/canvas/index.html", "127.0.0.1", { "x-forwarded-for": "203.0.113.7" })).status).toBe(401)
    // A DNS-rebinding page reaches loopback under its own host name.
    expect((await get("/__openclaw__/canvas/index.html", "127.0.0.1", { host: "evil.example:18789" })).status).toBe(401)
    expect((await get("/__openclaw__/canvas/index.html", "203.0.113.7", { authorization: "Bearer wrong" })).status).toBe(401)
    const ok = await get("/__openclaw__/canvas/index.html", "203.0.113.7", { authorization: `Bearer ${TOKEN}` })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain("private")
  })

  test("isDirectLocal: loopback socket, no proxy headers, local host", () => {
    const hd = (o: Record<string, string>) => new Headers(o)
    expect(isDirectLocal("127.0.0.1", hd({ host: "localhost:1" }))).toBe(true)
    expect(isDirectLocal("::1", hd({ host: "[::1]:18789" }))).toBe(true)
    expect(isDirectLocal("::ffff:127.0.0.1", hd({ host: "127.0.0.1" }))).toBe(true)
    expect(isDirectLocal("10.0.0.2", hd({ host: "localhost" }))).toBe(false)
    expect(isDirectLocal("127.0.0.1", hd({ host: "localhost", forwarded: "for=1.2.3.4" }))).toBe(false)
    expect(isDirectLocal("127.0.0.1", hd({ host: "gateway.lan" }))).toBe(false)
  })

  test("an edit sends a change event on the reload stream", async () => {
    writeCanvasFile(ws, "index.html", "<p>v1</p>")
    const res = await get("/__openclaw__/canvas/__reload")
    expect(res.headers.get("content-type")).toStartWith("text/event-stream")
    const reader = res.body!.getReader()
    const dec = new TextDecoder()
    let seen = dec.decode((await reader.read()).value)
    expect(seen).toContain("connected")
    expect(watcher.size).toBe(1)
    writeCanvasFile(ws, "index.html", "<p>v2</p>")
    const deadline = Date.now() + 3000
    while (!seen.includes("event: change") && Date.now() < deadline) seen += dec.decode((await reader.read()).value)
    expect(seen).toContain("event: change")
    await reader.cancel()
    expect(watcher.size).toBe(0)
  })
})
