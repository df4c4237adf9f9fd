/**
 * The web page's HTTP side: `/` serves the built index.html with the CSP and revalidation, hashed assets are cached
 * for a year, ETags answer 304, gzip when asked; without a build, `/` keeps its plain-text answer. Also: the page's
 * browser code type-checks with its own tsconfig (the root one excludes it).
 */
import { describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { gunzipSync } from "node:zlib"
import { readAssetTable, type WebAssetTable } from "../../../src/web/asset-table.ts"
import { WEB_CSP, webRoutes } from "../../../src/server/http-web.ts"

const TABLE: WebAssetTable = {
  "/index.html": { body: '<!doctype html><script type="module" src="/assets/index-abc.js"></script>', type: "text/html; charset=utf-8" },
  "/assets/index-abc.js": { body: "console.log('page')".repeat(50), type: "text/javascript; charset=utf-8" },
}

describe("web routes", () => {
  const app = webRoutes({ assets: () => TABLE, version: "1.2.3" })

  test("/ serves index.html with the CSP, no framing and revalidation", async () => {
    const res = await app.request("/")
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(res.headers.get("content-security-policy")).toBe(WEB_CSP)
    expect(WEB_CSP).toContain("script-src 'self'")
    expect(WEB_CSP).toContain("frame-ancestors 'none'")
    expect(res.headers.get("x-frame-options")).toBe("DENY")
    expect(res.headers.get("cache-control")).toBe("no-cache")
    expect(await res.text()).toBe(TABLE["/index.html"]!.body)
    const etag = res.headers.get("etag")!
    expect((await app.request("/", { headers: { "if-none-match": etag } })).status).toBe(304)
  })

  test("hashed assets are immutable for a year and gzipped when the client accepts it", async () => {
    const res = await app.request("/assets/index-abc.js", { headers: { "accept-encoding": "gzip, br" } })
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
    expect(res.headers.get("content-encoding")).toBe("gzip")
    expect(res.headers.get("content-type")).toStartWith("text/javascript")
    expect(gunzipSync(Buffer.from(await res.arrayBuffer())).toString()).toBe(TABLE["/assets/index-abc.js"]!.body)
    expect((await app.request("/assets/missing.js")).status).toBe(404)
  })

  test("without a build, / still answers with the gateway's plain-text note", async () => {
    const bare = webRoutes({ assets: () => undefined, version: "1.2.3" })
    const res = await bare.request("/")
    expect(res.status).toBe(200)
    expect(res.headers.get("content-security-policy")).toBeNull()
    expect(await res.text()).toContain("gateway 1.2.3\nWebSocket clients connect here")
  })
})

describe("asset table", () => {
  test("reads a Vite output folder into URL paths with content types; refuses types it cannot embed", () => {
    const dir = mkdtempSync(join(tmpdir(), "web-out-"))
    try {
      expect(readAssetTable(dir)).toBeUndefined()
      mkdirSync(join(dir, "assets"))
      writeFileSync(join(dir, "index.html"), "<html>")
      writeFileSync(join(dir, "assets/a-1.css"), "body{}")
      const t = readAssetTable(dir)!
      expect(Object.keys(t).sort()).toEqual(["/assets/a-1.css", "/index.html"])
      expect(t["/assets/a-1.css"]!.type).toBe("text/css; charset=utf-8")
      writeFileSync(join(dir, "assets/x.png"), "png")
      expect(() => readAssetTable(dir)).toThrow(/cannot embed/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

test("the page's browser code type-checks (tsc -p src/web/app)", () => {
  const root = resolve(import.meta.dir, "../../..")
  const r = Bun.spawnSync([join(root, "node_modules/.bin/tsc"), "--noEmit", "-p", "src/web/app"], { cwd: root, stdout: "pipe", stderr: "pipe" })
  expect(r.stdout.toString() + r.stderr.toString()).toBe("")
  expect(r.exitCode).toBe(0)
}, 30_000)
