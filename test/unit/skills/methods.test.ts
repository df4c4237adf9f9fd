/**
 * The skills methods on an in-process gateway: skills.status in OpenClaw's shape (the recorded OpenClaw reply parses
 * with our schema, and so does ours), skills.bins, skills.invoke through the real tool machinery, the skills list in the
 * model's system prompt, and OpenClaw's skills.update {skillKey, enabled} writing the config.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { METHODS } from "../../../src/protocol/index.ts"
import { fakeModel } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"

/** The skills.status reply recorded from OpenClaw 2026.9.6 (`openclaw gateway call skills.status`), payload only. */
const RECORDING = join(import.meta.dir, "../../fixtures/skills/openclaw-skills-status.json")

let gw: InProcessGateway
const model = fakeModel([{ text: "ok" }])

beforeAll(async () => {
  gw = await startInProcess({ models: model, config: { skills: { load: { watchDebounceMs: 30 } } } })
  const ws = join(gw.home, "workspace", "skills")
  mkdirSync(join(ws, "cat-notes"), { recursive: true })
  writeFileSync(
    join(ws, "cat-notes", "SKILL.md"),
    "---\nname: cat-notes\ndescription: Reads the notes file.\ncommand-dispatch: tool\ncommand-tool: read\ncommand-args:\n  path: notes.txt\n---\n",
  )
  mkdirSync(join(ws, "needs-tool"), { recursive: true })
  writeFileSync(join(ws, "needs-tool", "SKILL.md"), "---\nname: needs-tool\ndescription: d\ncommand-dispatch: tool\ncommand-tool: no_such_tool\n---\n")
  mkdirSync(join(ws, "gh-like"), { recursive: true })
  writeFileSync(
    join(ws, "gh-like", "SKILL.md"),
    "---\nname: gh-like\ndescription: Needs a missing binary.\nmetadata:\n  openclaw:\n    requires:\n      bins: [no-such-binary-qq]\n---\n",
  )
  writeFileSync(join(gw.home, "workspace", "notes.txt"), "feed the cat\n")
})

afterAll(async () => {
  await gw?.stop()
})

describe("skills.status", () => {
  test("the recorded OpenClaw reply parses with our result schema (so our shape is OpenClaw's)", () => {
    const reply = JSON.parse(readFileSync(RECORDING, "utf8"))
    expect(reply.skills.length).toBeGreaterThan(10)
    const parsed = METHODS["skills.status"].result.safeParse(reply)
    expect(parsed.success).toBe(true)
    // Nothing was stripped: every key OpenClaw sends is declared, none of ours is missing from it.
    expect(parsed.data).toEqual(reply)
  })

  test("ours: workspace, managed dir, bundled web-search and browser, eligibility with reasons", async () => {
    const c = await gw.connect()
    const s = await c.call("skills.status", {})
    expect(METHODS["skills.status"].result.safeParse(s).success).toBe(true)
    expect(s).toMatchObject({ workspaceDir: join(gw.home, "workspace"), managedSkillsDir: join(gw.home, "skills"), agentId: "main" })
    const by = Object.fromEntries(s.skills.map((k: { name: string }) => [k.name, k]))
    expect(by["web-search"]).toMatchObject({ source: "openclaw-bundled", bundled: true, eligible: true, commandTool: "web_search", modelVisible: false })
    expect(by.browser).toMatchObject({ source: "openclaw-bundled", commandTool: "browser" })
    expect(by["gh-like"]).toMatchObject({ source: "openclaw-workspace", eligible: false, missing: { bins: ["no-such-binary-qq"] } })
    expect(by["gh-like"].reasons).toEqual(["missing binaries on PATH: no-such-binary-qq"])
    expect((await c.call("skills.bins", {})).bins).toEqual(["no-such-binary-qq"])
  })
})

describe("skills.bins", () => {
  test("a node (OpenClaw's caller) and operators with read get it; an operator without read does not", async () => {
    const node = await gw.connect({
      role: "node",
      scopes: [],
      params: { client: { id: "node-host", version: "test", platform: "linux", mode: "node", instanceId: "n-bins" }, commands: [], caps: [] },
    })
    expect((await node.call("skills.bins", {})).bins).toContain("no-such-binary-qq")
    const noRead = await gw.connect({ scopes: ["operator.approvals"] })
    expect((await noRead.request("skills.bins", {})).error).toMatchObject({ code: "FORBIDDEN", details: { code: "MISSING_SCOPE" } })
  })
})

describe("skills.invoke", () => {
  test("a skill that dispatches to a tool runs it (policy and all) and returns its result", async () => {
    const c = await gw.connect()
    const r = await c.call("skills.invoke", { skill: "cat-notes" })
    expect(r).toMatchObject({ ok: true, skill: "cat-notes", tool: "read", isError: false })
    expect(String(r.result)).toContain("feed the cat")
    // The caller's args override the skill's defaults; the file tool's root policy still applies.
    const outside = await c.request("skills.invoke", { skill: "cat-notes", args: { path: "/etc/passwd" } })
    expect(outside.ok).toBe(false)
    expect(outside.error).toMatchObject({ code: "UNAVAILABLE", details: { code: "TOOL_ERROR" } })
    expect(outside.error?.message).toContain("outside the allowed directories")
  })

  test("clear errors: unknown skill, a tool this gateway lacks, an ineligible skill", async () => {
    const c = await gw.connect()
    const unknown = await c.request("skills.invoke", { skill: "nope", args: {} })
    expect(unknown.error).toMatchObject({ code: "INVALID_REQUEST", details: { code: "SKILL_NOT_FOUND" } })
    const noTool = await c.request("skills.invoke", { skill: "needs-tool", args: {} })
    expect(noTool.error).toMatchObject({ code: "UNAVAILABLE", details: { code: "TOOL_NOT_AVAILABLE", tool: "no_such_tool" } })
    const inel = await c.request("skills.invoke", { skill: "gh-like", args: {} })
    expect(inel.error).toMatchObject({ details: { code: "SKILL_NOT_DISPATCHABLE" } })
  })
})

describe("prompt", () => {
  test("the model sees eligible, model-visible skills with their SKILL.md paths", async () => {
    const c = await gw.connect()
    await c.twoStage("agent", { message: "hi", idempotencyKey: `skills-prompt-${Date.now()}` })
    const system = model.calls.at(-1)!.system
    expect(system).toContain("<available_skills>")
    expect(system).toContain(`<location>${join(gw.home, "workspace", "skills", "cat-notes", "SKILL.md")}</location>`)
    expect(system).not.toContain("<name>gh-like</name>")
    expect(system).not.toContain("<name>web-search</name>")
  })
})

describe("reading a skill outside the workspace", () => {
  test("read may open an eligible managed skill's SKILL.md (listed in the prompt); write may not, nor may read elsewhere", async () => {
    const dir = join(gw.home, "skills", "managed-one")
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, "SKILL.md"), "---\nname: managed-one\ndescription: Installed by hand.\n---\nStep 1: be kind.\n")
    mkdirSync(join(gw.home, "skills", "hidden-one"), { recursive: true })
    writeFileSync(
      join(gw.home, "skills", "hidden-one", "SKILL.md"),
      "---\nname: hidden-one\ndescription: d\nrequires:\n  bins: [no-such-bin-zz]\n---\nsecret\n",
    )
    const c = await gw.connect()
    // The watcher picks both up.
    for (let i = 0; i < 100; i++) {
      const names = (await c.call("skills.status", {})).skills.map((k: { name: string }) => k.name)
      if (names.includes("managed-one") && names.includes("hidden-one")) break
      await Bun.sleep(30)
    }
    const read = await c.call("tools.invoke", { name: "read", args: { path: join(dir, "SKILL.md") } })
    expect(read.result).toContain("Step 1: be kind.")
    const write = await c.call("tools.invoke", { name: "write", args: { path: join(dir, "SKILL.md"), content: "x" } })
    expect(write).toMatchObject({ isError: true })
    // An ineligible skill is not listed, so its folder is not readable either.
    const hidden = await c.call("tools.invoke", { name: "read", args: { path: join(gw.home, "skills", "hidden-one", "SKILL.md") } })
    expect(hidden).toMatchObject({ isError: true })
    expect(hidden.result).toContain("outside the allowed directories")
  })
})

describe("skills.update in OpenClaw's form", () => {
  test("{skillKey, enabled: false} writes skills.entries and disables the skill", async () => {
    const c = await gw.connect()
    const r = await c.call("skills.update", { skillKey: "cat-notes", enabled: false, env: { A: "b" } })
    expect(r).toEqual({ ok: true, skillKey: "cat-notes", config: { enabled: false, hasApiKey: false, env: ["A"] } })
    const s = await c.call("skills.status", {})
    expect(s.skills.find((k: { name: string }) => k.name === "cat-notes")).toMatchObject({ disabled: true, eligible: false })
    const inv = await c.request("skills.invoke", { skill: "cat-notes" })
    expect(inv.error?.details).toMatchObject({ code: "SKILL_INELIGIBLE" })
  })
})
