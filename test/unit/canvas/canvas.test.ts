/** The canvas folder's path rules and the agent's `canvas` tool: write, read, list, and every way out refused. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createCanvasTool } from "../../../src/agent/tools/canvas.ts"
import { runTool, type ToolContext } from "../../../src/agent/tools/tool.ts"
import { CanvasPathError, listCanvasFiles, normaliseCanvasPath, readCanvasFile, writeCanvasFile } from "../../../src/canvas/files.ts"

let ws: string
beforeEach(() => {
  ws = mkdtempSync(join(tmpdir(), "canvas-"))
})
afterEach(() => rmSync(ws, { recursive: true, force: true }))

const ctx = (): ToolContext => ({ sessionKey: "agent:main:main", runId: "r1", toolCallId: "t1", signal: new AbortController().signal, workspace: ws })

describe("canvas paths", () => {
  test("normalises relative paths and refuses traversal, absolute, hidden, backslash and unknown extensions", () => {
    expect(normaliseCanvasPath("./a//b/index.html")).toBe("a/b/index.html")
    for (const bad of ["../x.html", "a/../../x.html", "a/../x.html", "/etc/x.html", ".env.html", "a/.git/x.html", "a\\b.html", "x.exe", "x", "", "a\0.html"]) {
      expect(() => normaliseCanvasPath(bad)).toThrow(CanvasPathError)
    }
  })

  test("write, read and list round-trip inside workspace/canvas", () => {
    writeCanvasFile(ws, "index.html", "<h1>hi</h1>")
    writeCanvasFile(ws, "app/style.css", "h1{color:red}")
    expect(readFileSync(join(ws, "canvas/app/style.css"), "utf8")).toBe("h1{color:red}")
    const file = readCanvasFile(ws, "index.html")!
    expect(new TextDecoder().decode(file.body)).toBe("<h1>hi</h1>")
    expect(file.type).toStartWith("text/html")
    expect(readCanvasFile(ws, "missing.html")).toBeUndefined()
    expect(listCanvasFiles(ws).map((f) => f.path)).toEqual(["app/style.css", "index.html"])
  })

  test("a symlink leading out of the canvas is neither written through nor read", () => {
    const outside = mkdtempSync(join(tmpdir(), "canvas-out-"))
    try {
      writeFileSync(join(outside, "secret.txt"), "secret")
      mkdirSync(join(ws, "canvas"), { recursive: true })
      symlinkSync(outside, join(ws, "canvas/out"))
      expect(() => writeCanvasFile(ws, "out/page.html", "x")).toThrow(/outside the canvas/)
      expect(() => readCanvasFile(ws, "out/secret.txt")).toThrow(/outside the canvas/)
      symlinkSync(join(outside, "secret.txt"), join(ws, "canvas/link.txt"))
      expect(() => readCanvasFile(ws, "link.txt")).toThrow(/outside the canvas/)
      expect(listCanvasFiles(ws).map((f) => f.path)).toEqual([])
      expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe("secret")
    } finally {
      rmSync(outside, { recursive: true, force: true })
    }
  })
})

describe("canvas tool", () => {
  const tool = createCanvasTool()

  test("write answers with the URL the page is served at; read and list see it", async () => {
    const w = await runTool(tool, { action: "write", path: "demo/index.html", content: "<p>made by the agent</p>" }, ctx())
    expect(w.isError).toBeFalsy()
    expect(w.output).toContain("/__openclaw__/canvas/demo/index.html")
    expect(w.meta).toMatchObject({ path: "demo/index.html", url: "/__openclaw__/canvas/demo/index.html" })
    expect((await runTool(tool, { action: "read", path: "demo/index.html" }, ctx())).output).toBe("<p>made by the agent</p>")
    expect((await runTool(tool, { action: "list" }, ctx())).output).toContain("demo/index.html")
  })

  test("mistakes come back as errors the model can act on", async () => {
    const out = await runTool(tool, { action: "write", path: "../../etc/passwd.txt", content: "x" }, ctx())
    expect(out.isError).toBe(true)
    expect(out.output).toContain("leaves the canvas folder")
    expect((await runTool(tool, { action: "write", path: "a.html" }, ctx())).output).toContain("needs content")
    expect((await runTool(tool, { action: "read", path: "nope.html" }, ctx())).output).toContain("does not exist")
    expect((await runTool(tool, { action: "list" }, ctx())).output).toBe("The canvas is empty.")
  })
})
