import { describe, expect, test } from "bun:test"
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { applyChunks, createApplyPatchTool, parsePatch } from "../../../src/agent/tools/apply-patch.ts"
import { call, policyFor, tempDir } from "./helpers.ts"

function setup() {
  const ws = tempDir()
  return { ws, tool: createApplyPatchTool(policyFor(ws)) }
}

const patch = (...body: string[]) => ["*** Begin Patch", ...body, "*** End Patch"].join("\n")

describe("parsePatch", () => {
  test("parses add, update with move and hunks, delete", () => {
    const ops = parsePatch(
      patch(
        "*** Add File: a.txt",
        "+one",
        "+two",
        "*** Update File: b.txt",
        "*** Move to: c.txt",
        "@@ def f():",
        " ctx",
        "-old",
        "+new",
        "*** End of File",
        "*** Delete File: d.txt",
      ),
    )
    expect(ops).toEqual([
      { kind: "add", path: "a.txt", content: "one\ntwo\n" },
      { kind: "update", path: "b.txt", moveTo: "c.txt", chunks: [{ header: "def f():", oldLines: ["ctx", "old"], newLines: ["ctx", "new"], eof: true }] },
      { kind: "delete", path: "d.txt" },
    ])
  })
  test("format errors name the line", () => {
    expect(() => parsePatch("*** Add File: x\n+a")).toThrow(/must start with the line "\*\*\* Begin Patch"/)
    expect(() => parsePatch("*** Begin Patch\n*** Add File: x\n+a")).toThrow(/must end with/)
    expect(() => parsePatch(patch("*** Add File: x", "no plus"))).toThrow(/line 3: every line of an added file must start with "\+"/)
    expect(() => parsePatch(patch("*** Update File: x", "@@", "?weird"))).toThrow(/line 4: .*" " \(context\)/)
    expect(() => parsePatch(patch("*** Frobnicate: x"))).toThrow(/line 2: expected/)
    expect(() => parsePatch(patch())).toThrow(/no file operations/)
    expect(() => parsePatch(patch("*** Update File: x"))).toThrow(/has no hunks/)
  })
  test("a heredoc wrapper is tolerated", () => {
    expect(parsePatch(`apply_patch <<'EOF'\n${patch("*** Delete File: x")}\nEOF`)).toEqual([{ kind: "delete", path: "x" }])
  })
})

describe("applyChunks", () => {
  test("uses @@ anchors, tolerates trailing whitespace, keeps CRLF", () => {
    const text = "a\r\nfunction f() {\r\n  return 1  \r\n}\r\nfunction g() {\r\n  return 1\r\n}\r\n"
    const out = applyChunks(text, [{ header: "function g() {", oldLines: ["  return 1"], newLines: ["  return 2"], eof: false }], "x")
    expect(out).toBe("a\r\nfunction f() {\r\n  return 1  \r\n}\r\nfunction g() {\r\n  return 2\r\n}\r\n")
    const loose = applyChunks("x  \ny\n", [{ oldLines: ["x"], newLines: ["z"], eof: false }], "x")
    expect(loose).toBe("z\ny\n")
  })
  test("pure additions go after the anchor or at the end", () => {
    expect(applyChunks("a\nb\n", [{ oldLines: [], newLines: ["c"], eof: false }], "x")).toBe("a\nb\nc\n")
    expect(applyChunks("a\nb\n", [{ header: "a", oldLines: [], newLines: ["a2"], eof: false }], "x")).toBe("a\na2\nb\n")
  })
})

describe("apply_patch tool", () => {
  test("adds, updates (two hunks), moves and deletes", async () => {
    const { ws, tool } = setup()
    writeFileSync(join(ws, "main.py"), "import os\n\ndef a():\n    return 1\n\ndef b():\n    return 2\n")
    writeFileSync(join(ws, "old.txt"), "bye\n")
    writeFileSync(join(ws, "mv.txt"), "keep\nme\n")
    const r = await call(
      tool,
      {
        input: patch(
          "*** Add File: pkg/new.txt",
          "+hello",
          "+world",
          "*** Update File: main.py",
          "@@ def a():",
          "-    return 1",
          "+    return 10",
          "@@ def b():",
          "     return 2",
          "+",
          "+def c():",
          "+    return 3",
          "*** Delete File: old.txt",
          "*** Update File: mv.txt",
          "*** Move to: moved/mv.txt",
          "@@",
          " keep",
          "-me",
          "+you",
        ),
      },
      ws,
    )
    expect(r.isError).toBeFalsy()
    expect(r.output).toBe("Applied the patch:\nA pkg/new.txt\nM main.py\nD old.txt\nM mv.txt -> moved/mv.txt")
    expect(readFileSync(join(ws, "pkg/new.txt"), "utf8")).toBe("hello\nworld\n")
    expect(readFileSync(join(ws, "main.py"), "utf8")).toBe("import os\n\ndef a():\n    return 10\n\ndef b():\n    return 2\n\ndef c():\n    return 3\n")
    expect(existsSync(join(ws, "old.txt"))).toBe(false)
    expect(existsSync(join(ws, "mv.txt"))).toBe(false)
    expect(readFileSync(join(ws, "moved/mv.txt"), "utf8")).toBe("keep\nyou\n")
  })
  test("a failing hunk leaves every file untouched and names the hunk", async () => {
    const { ws, tool } = setup()
    writeFileSync(join(ws, "a.txt"), "one\ntwo\nthree\n")
    writeFileSync(join(ws, "b.txt"), "alpha\nbeta\n")
    const r = await call(
      tool,
      {
        input: patch(
          "*** Add File: created.txt",
          "+x",
          "*** Update File: a.txt",
          "@@",
          " one",
          "-two",
          "+2",
          "*** Update File: b.txt",
          "@@",
          " alpha",
          "-gamma",
          "+delta",
          "*** Delete File: a.txt",
        ),
      },
      ws,
    )
    expect(r.isError).toBe(true)
    expect(r.output).toContain("no files were changed")
    expect(r.output).toContain("hunk 1 of 1 for b.txt")
    expect(r.output).toContain("  gamma")
    expect(readFileSync(join(ws, "a.txt"), "utf8")).toBe("one\ntwo\nthree\n")
    expect(readFileSync(join(ws, "b.txt"), "utf8")).toBe("alpha\nbeta\n")
    expect(existsSync(join(ws, "created.txt"))).toBe(false)
    expect(readdirSync(ws).sort()).toEqual(["a.txt", "b.txt"])
  })
  test("file-level errors: add existing, update/delete missing, escape", async () => {
    const { ws, tool } = setup()
    writeFileSync(join(ws, "e.txt"), "x\n")
    mkdirSync(join(ws, "dir"))
    const r = await call(
      tool,
      { input: patch("*** Add File: e.txt", "+y", "*** Update File: nope.txt", "@@", "-a", "*** Delete File: gone.txt", "*** Delete File: ../x") },
      ws,
    )
    expect(r.isError).toBe(true)
    expect(r.output).toContain("cannot add e.txt: it already exists")
    expect(r.output).toContain("cannot update nope.txt: it does not exist")
    expect(r.output).toContain("cannot delete gone.txt")
    expect(r.output).toContain("outside the allowed directories")
    expect(readFileSync(join(ws, "e.txt"), "utf8")).toBe("x\n")
  })
  test("later operations see earlier ones in the same patch", async () => {
    const { ws, tool } = setup()
    const r = await call(tool, { input: patch("*** Add File: n.txt", "+a", "*** Update File: n.txt", "@@", "-a", "+b") }, ws)
    expect(r.isError).toBeFalsy()
    expect(readFileSync(join(ws, "n.txt"), "utf8")).toBe("b\n")
  })
})
