import { describe, expect, test } from "bun:test"
import { createToolRegistry } from "../../../src/agent/tools/registry.ts"
import { toolJsonSchema } from "../../../src/agent/tools/tool.ts"
import type { ConfigInput } from "../../../src/config/schema.ts"
import { call, tempDir, toolsConfig } from "./helpers.ts"

const BUILTINS = ["read", "write", "edit", "ls", "apply_patch", "exec", "process", "web_fetch", "web_search", "browser", "canvas"]

function registry(tools: NonNullable<ConfigInput["tools"]> = {}) {
  const ws = tempDir()
  return { ws, reg: createToolRegistry({ config: toolsConfig(tools), workspace: ws, approve: async () => false }) }
}

describe("tool registry", () => {
  test("lists every built-in by default; get() is case-insensitive", () => {
    const { reg } = registry()
    expect(reg.list().map((t) => t.name)).toEqual(BUILTINS)
    expect(reg.get("READ")?.name).toBe("read")
    expect(reg.get("nope")).toBeUndefined()
  })
  test("allow/deny filter list() and get()", () => {
    const { reg } = registry({ allow: ["group:fs", "web_*"], deny: ["write"] })
    expect(reg.list().map((t) => t.name)).toEqual(["read", "edit", "ls", "apply_patch", "web_fetch", "web_search"])
    expect(reg.get("write")).toBeUndefined()
    expect(reg.get("exec")).toBeUndefined()
  })
  test("every tool has a JSON schema whose fields are all described", () => {
    const { reg } = registry()
    for (const t of reg.list()) {
      const schema = toolJsonSchema(t) as { type: string; properties: Record<string, { description?: string }> }
      expect(schema.type).toBe("object")
      expect(t.description.length).toBeGreaterThan(80)
      for (const [key, prop] of Object.entries(schema.properties))
        expect(`${t.name}.${key}: ${prop.description ? "ok" : "missing"}`).toBe(`${t.name}.${key}: ok`)
    }
  })
  test("tools share the policy and the process registry; live config via a getter", async () => {
    const ws = tempDir()
    let cfg = toolsConfig({ exec: { mode: "full" } })
    const reg = createToolRegistry({ config: () => cfg, workspace: ws, approve: async () => false })
    const r = await call(reg.get("exec")!, { command: "sleep 5", background: true }, ws)
    expect(reg.processes.get(r.meta?.sessionId as string)?.running).toBe(true)
    await reg.processes.killAll()
    cfg = toolsConfig({ exec: { mode: "deny" }, deny: ["web_fetch"] })
    expect((await call(reg.get("exec")!, { command: "true" }, ws)).output).toContain('tools.exec.mode is "deny"')
    expect(reg.get("web_fetch")).toBeUndefined()
    expect(reg.policy.workspace).toBe(ws)
  })
})
