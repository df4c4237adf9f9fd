import { describe, expect, test } from "bun:test"
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { matchesPattern, programName, shellOperators, ToolPolicy } from "../../../src/agent/tools/policy.ts"
import { ToolError } from "../../../src/agent/tools/tool.ts"
import { policyFor, tempDir, toolsConfig } from "./helpers.ts"

describe("tool names", () => {
  test("wildcards are anchored and case-insensitive", () => {
    expect(matchesPattern("web_fetch", "web_*")).toBe(true)
    expect(matchesPattern("WEB_FETCH", "web_*")).toBe(true)
    expect(matchesPattern("my_web_fetch", "web_*")).toBe(false)
    expect(matchesPattern("read", "r*d")).toBe(true)
    expect(matchesPattern("read.x", "read")).toBe(false)
  })
  test("default allows everything", () => {
    const p = policyFor(tempDir())
    expect(p.isAllowed("exec")).toBe(true)
    expect(p.isAllowed("anything")).toBe(true)
  })
  test("allow list limits, deny wins, groups expand", () => {
    const p = policyFor(tempDir(), { allow: ["read", "web_*", "group:runtime"], deny: ["EXEC"] })
    expect(p.isAllowed("read")).toBe(true)
    expect(p.isAllowed("Read")).toBe(true)
    expect(p.isAllowed("web_fetch")).toBe(true)
    expect(p.isAllowed("process")).toBe(true)
    expect(p.isAllowed("exec")).toBe(false)
    expect(p.isAllowed("write")).toBe(false)
  })
  test("deny with wildcard and group", () => {
    const p = policyFor(tempDir(), { deny: ["group:fs", "web*"] })
    expect(p.isAllowed("write")).toBe(false)
    expect(p.isAllowed("apply_patch")).toBe(false)
    expect(p.isAllowed("web_fetch")).toBe(false)
    expect(p.isAllowed("exec")).toBe(true)
  })
  test("config getter is read on every check", () => {
    let cfg = toolsConfig({ deny: [] })
    const p = new ToolPolicy(() => cfg, tempDir())
    expect(p.isAllowed("exec")).toBe(true)
    cfg = toolsConfig({ deny: ["exec"] })
    expect(p.isAllowed("exec")).toBe(false)
  })
})

describe("paths", () => {
  test("relative paths resolve against the workspace; new files are fine", () => {
    const ws = tempDir()
    const p = policyFor(ws)
    expect(p.resolvePath("a/b.txt")).toBe(join(ws, "a/b.txt"))
    expect(p.resolvePath(join(ws, "x"))).toBe(join(ws, "x"))
    expect(p.resolvePath("sub/../c.txt")).toBe(join(ws, "c.txt"))
    expect(p.display(join(ws, "a/b.txt"))).toBe("a/b.txt")
  })
  test(".. escapes and outside absolute paths are refused with a readable message", () => {
    const ws = tempDir()
    const p = policyFor(ws)
    expect(() => p.resolvePath("../etc/passwd")).toThrow(ToolError)
    expect(() => p.resolvePath("/etc/passwd")).toThrow(/outside the allowed directories.*tools\.fs\.roots/)
    expect(() => p.resolvePath("a/../../x")).toThrow(/outside/)
    expect(() => p.resolvePath("")).toThrow(/empty/)
  })
  test("symlink escapes are refused, for existing files and new files under a linked dir", () => {
    const ws = tempDir()
    const outside = tempDir("gw-outside-")
    writeFileSync(join(outside, "secret.txt"), "s")
    symlinkSync(outside, join(ws, "link"))
    symlinkSync(join(outside, "secret.txt"), join(ws, "secret-link"))
    const p = policyFor(ws)
    expect(() => p.resolvePath("link/secret.txt")).toThrow(/symbolic link/)
    expect(() => p.resolvePath("link/new/file.txt")).toThrow(/outside/)
    expect(() => p.resolvePath("secret-link")).toThrow(/outside/)
  })
  test("symlinks that stay inside are followed to their real path", () => {
    const ws = tempDir()
    mkdirSync(join(ws, "real"))
    symlinkSync(join(ws, "real"), join(ws, "alias"))
    expect(policyFor(ws).resolvePath("alias/f.txt")).toBe(join(ws, "real/f.txt"))
  })
  test("a broken symlink is refused (writing through it could land anywhere)", () => {
    const ws = tempDir()
    symlinkSync("/nonexistent-gw-target/x", join(ws, "dangling"))
    expect(() => policyFor(ws).resolvePath("dangling")).toThrow(/broken symbolic link/)
  })
  test("tools.fs.roots replaces the workspace as the allowed set", () => {
    const ws = tempDir()
    const other = tempDir("gw-root-")
    const p = policyFor(ws, { fs: { roots: [other] } })
    expect(p.resolvePath(join(other, "f"))).toBe(join(other, "f"))
    expect(() => p.resolvePath("f")).toThrow(/outside/)
    const both = policyFor(ws, { fs: { roots: [ws, other] } })
    expect(both.resolvePath("f")).toBe(join(ws, "f"))
  })
  test("resolveDir requires an existing directory", () => {
    const ws = tempDir()
    writeFileSync(join(ws, "file"), "")
    const p = policyFor(ws)
    expect(p.resolveDir(undefined)).toBe(ws)
    expect(() => p.resolveDir("file")).toThrow(/not a directory/)
    expect(() => p.resolveDir("missing")).toThrow(/does not exist/)
  })
})

describe("exec decisions", () => {
  test("program names and operators", () => {
    expect(programName("  git status")).toBe("git")
    expect(programName("'ls' -la")).toBe("ls")
    expect(programName("")).toBeUndefined()
    expect(shellOperators("ls -la")).toEqual([])
    expect(shellOperators("ls; rm x")).toEqual([";"])
    expect(shellOperators("a | b && c")).toEqual(["|", "&"])
    expect(shellOperators("echo $(id)")).toContain("$(")
    expect(shellOperators("echo `id`")).toContain("`")
    expect(shellOperators("cat < a > b")).toEqual([">", "<"])
    expect(shellOperators("ls\nrm -rf x")).toEqual(["newline"])
  })
  test("deny mode denies everything with an explanation", () => {
    const d = policyFor(tempDir(), { exec: { mode: "deny", allowlist: ["ls"] } }).checkExec("ls")
    expect(d.decision).toBe("deny")
    expect(d.reason).toMatch(/tools\.exec\.mode is "deny"/)
  })
  test("full mode allows anything", () => {
    expect(policyFor(tempDir(), { exec: { mode: "full" } }).checkExec("curl x | sh").decision).toBe("allow")
  })
  test("allowlist mode: listed programs only, no operators", () => {
    const p = policyFor(tempDir(), { exec: { mode: "allowlist", allowlist: ["ls", "echo"] } })
    expect(p.checkExec("ls -la").decision).toBe("allow")
    expect(p.checkExec(`${Bun.which("ls")} -la`).decision).toBe("allow")
    const notListed = p.checkExec("rm -rf /")
    expect(notListed.decision).toBe("deny")
    expect(notListed.reason).toMatch(/"rm" is not on tools\.exec\.allowlist \(allowed: ls, echo\)/)
    for (const cmd of ["ls; rm x", "ls | sh", "ls && rm x", "echo `id`", "echo $(id)", "ls > f", "ls < f", "ls\nrm x", "ls & rm x"]) {
      const d = p.checkExec(cmd)
      expect(d.decision).toBe("deny")
      expect(d.reason).toMatch(/Shell operators/)
    }
    expect(p.checkExec("ls", { PATH: "/tmp" }).decision).toBe("deny")
    expect(p.checkExec("ls", { FOO: "1" }).decision).toBe("allow")
    expect(p.checkExec("   ").decision).toBe("deny")
  })
  test("a look-alike program outside PATH does not pass for an allowlisted name", () => {
    const ws = tempDir()
    const p = policyFor(ws, { exec: { mode: "allowlist", allowlist: ["ls"] } })
    expect(p.checkExec(`${ws}/ls`).decision).toBe("deny")
    expect(p.checkExec("./ls").decision).toBe("deny")
  })
  test("absolute allowlist entries match the resolved program", () => {
    const ls = Bun.which("ls")!
    const p = policyFor(tempDir(), { exec: { mode: "allowlist", allowlist: [ls] } })
    expect(p.checkExec("ls").decision).toBe("allow")
    expect(p.checkExec(`${ls} -l`).decision).toBe("allow")
    expect(p.checkExec("cat x").decision).toBe("deny")
  })
  test("ask mode: allowlisted plain commands run, everything else asks", () => {
    const p = policyFor(tempDir(), { exec: { mode: "ask", allowlist: ["ls"] } })
    expect(p.checkExec("ls -la").decision).toBe("allow")
    expect(p.checkExec("ls | wc -l").decision).toBe("ask")
    expect(p.checkExec("rm x").decision).toBe("ask")
    expect(p.checkExec("ls", { LD_PRELOAD: "/x.so" }).decision).toBe("ask")
    expect(p.checkExec("rm x").reason).toMatch(/not allowlisted/)
  })
})
