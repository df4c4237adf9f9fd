/** Each agent (agents.list) sees its own workspace's skills beside the shared managed, bundled and extra ones. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fakeModel } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"

let gw: InProcessGateway
const model = fakeModel([{ text: "ok" }])

beforeAll(async () => {
  gw = await startInProcess({ models: model, config: { agents: { list: [{ id: "main", default: true }, { id: "ops" }] } } })
  const skill = (ws: string, name: string) => {
    mkdirSync(join(gw.home, ws, "skills", name), { recursive: true })
    writeFileSync(join(gw.home, ws, "skills", name, "SKILL.md"), `---\nname: ${name}\ndescription: Only for ${ws}.\n---\n`)
  }
  skill("workspace", "main-only")
  skill("workspace-ops", "ops-only")
})

afterAll(async () => {
  await gw?.stop()
})

describe("skills per agent", () => {
  test("skills.status {agentId} answers from that agent's workspace; an unknown agent is refused", async () => {
    const c = await gw.connect()
    const names = async (agentId?: string) =>
      (await c.call("skills.status", agentId ? { agentId } : {})).skills.map((s: { name: string }) => s.name) as string[]
    const main = await names()
    expect(main).toContain("main-only")
    expect(main).not.toContain("ops-only")
    const ops = await c.call("skills.status", { agentId: "ops" })
    expect(ops).toMatchObject({ agentId: "ops", workspaceDir: join(gw.home, "workspace-ops") })
    expect(ops.skills.map((s: { name: string }) => s.name)).toContain("ops-only")
    expect(ops.skills.map((s: { name: string }) => s.name)).not.toContain("main-only")
    expect((await c.request("skills.status", { agentId: "nobody" })).error).toMatchObject({ code: "INVALID_REQUEST", details: { code: "UNKNOWN_AGENT" } })
  })

  test("an ops run's system prompt lists the ops workspace's skills", async () => {
    const c = await gw.connect()
    await c.twoStage("agent", { message: "hi", sessionKey: "agent:ops:main", idempotencyKey: `ops-skills-${Date.now()}` })
    const system = model.calls.at(-1)!.system
    expect(system).toContain("<name>ops-only</name>")
    expect(system).not.toContain("<name>main-only</name>")
  })
})

describe("skills.invoke and the default agent", () => {
  test("a short session key belongs to the default agent (as in tools.invoke), so the tool runs in its workspace", async () => {
    // ops is the default here: it has the default workspace, main gets workspace-main.
    const g = await startInProcess({ models: fakeModel([{ text: "ok" }]), config: { agents: { list: [{ id: "main" }, { id: "ops", default: true }] } } })
    try {
      mkdirSync(join(g.home, "workspace", "skills", "cat-notes"), { recursive: true })
      writeFileSync(
        join(g.home, "workspace", "skills", "cat-notes", "SKILL.md"),
        "---\nname: cat-notes\ndescription: d\ncommand-dispatch: tool\ncommand-tool: read\ncommand-args:\n  path: notes.txt\n---\n",
      )
      writeFileSync(join(g.home, "workspace", "notes.txt"), "the default agent's notes\n")
      const c = await g.connect()
      const r = await c.call("skills.invoke", { skill: "cat-notes" })
      expect(String(r.result)).toContain("the default agent's notes")
    } finally {
      await g.stop()
    }
  })
})
