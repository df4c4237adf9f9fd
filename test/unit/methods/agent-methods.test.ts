/**
 * The agent, approval, usage and UI methods OpenClaw's clients call (issue 13 parts 4 and 5), in process: every
 * reply is checked against its protocol result schema, and each test asserts what a client relies on.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, realpathSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { METHODS, type MethodName } from "../../../src/protocol/index.ts"
import { REDACTED } from "../../../src/util/secrets.ts"
import { fakeModel, gate, type FakeModel } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"
import type { TestClient } from "../../harness/ws-client.ts"

let gw: InProcessGateway
let c: TestClient
let model: FakeModel
const uid = () => crypto.randomUUID().slice(0, 8)

/** Calls a method and checks its reply against the method's result schema. */
async function call(method: MethodName, params: unknown = {}): Promise<any> {
  const payload = await c.call(method, params)
  const parsed = METHODS[method].result.safeParse(payload)
  if (!parsed.success) throw new Error(`${method} reply does not match its schema: ${parsed.error.message}\n${JSON.stringify(payload)}`)
  return payload
}

beforeAll(async () => {
  model = fakeModel(() => ({ text: "Hello from fake model", usage: { input: 10, output: 4, total: 14, cost: 0.002 } }))
  gw = await startInProcess({
    models: model,
    config: {
      models: { providers: { fake: { baseUrl: "http://127.0.0.1:9/v1", apiKey: "sk-secret-value", models: [{ id: "fake-model" }] } } },
      tools: { exec: { mode: "ask", allowlist: ["ls"], approvalTimeoutMs: 10_000 } },
    },
  })
  c = await gw.connect()
})

afterAll(async () => {
  await gw?.stop()
})

describe("agents.list and agent.identity.get", () => {
  test("one default agent, main, with OpenClaw's top-level fields", async () => {
    const r = await call("agents.list")
    expect(r).toMatchObject({ defaultId: "main", mainKey: "main", scope: "per-sender" })
    expect(r.agents.map((a: { id: string }) => a.id)).toEqual(["main"])
    expect(r.agents[0]).toMatchObject({ default: true, workspace: join(gw.home, "workspace") })
  })

  test("identity comes from the workspace IDENTITY.md", async () => {
    writeFileSync(join(gw.home, "workspace", "IDENTITY.md"), "# IDENTITY.md\n\n- **Name:** Clawd\n- **Emoji:** 🦞\n- **Avatar:** avatars/clawd.png\n")
    expect(await call("agent.identity.get")).toEqual({ agentId: "main", name: "Clawd", emoji: "🦞", avatar: "avatars/clawd.png" })
    expect((await call("agent.identity.get", { sessionKey: "agent:main:main" })).name).toBe("Clawd")
    expect((await call("agents.list")).agents[0].identity).toEqual({ name: "Clawd", emoji: "🦞", avatar: "avatars/clawd.png" })
    const unknown = await c.request("agent.identity.get", { agentId: "nope" })
    expect(unknown.ok).toBe(false)
  })
})

describe("exec approvals", () => {
  test("get shows tools.exec as OpenClaw's file; set with the hash writes the mode and allowlist back", async () => {
    const before = await call("exec.approvals.get")
    expect(before.file.defaults).toMatchObject({ security: "allowlist", ask: "on-miss" })
    expect(before.file.agents.main.allowlist).toEqual([{ pattern: "ls" }])
    const file = { version: 1, defaults: { security: "allowlist", ask: "off" }, agents: { main: { allowlist: [{ pattern: "ls" }, { pattern: "cat" }] } } }
    const after = await call("exec.approvals.set", { file, baseHash: before.hash })
    expect(after.hash).not.toBe(before.hash)
    expect(after.file.agents.main).toMatchObject({ security: "allowlist", ask: "off", allowlist: [{ pattern: "ls" }, { pattern: "cat" }] })
    const cfg = await call("config.get")
    expect(cfg.config.tools.exec).toMatchObject({ mode: "allowlist", allowlist: ["ls", "cat"] })
    // A stale hash is refused and changes nothing.
    const stale = await c.request("exec.approvals.set", { file: { version: 1, defaults: { security: "full" } }, baseHash: before.hash })
    expect(stale.ok).toBe(false)
    expect(stale.error?.details?.code).toBe("EXEC_APPROVALS_BASE_HASH_MISMATCH")
    // Back to ask for the approval tests below.
    await call("exec.approvals.set", { file: { version: 1, defaults: { security: "allowlist", ask: "on-miss" } } })
    expect((await call("config.get")).config.tools.exec.mode).toBe("ask")
  })

  test("exec.approval.get reads a pending request; exec.approvals.resolve approve runs it, and a second resolve says resolved:false", async () => {
    const command = `echo approved-${uid()}`
    const bash = c.call("exec.bash", { command }, 10_000)
    const ev = await c.waitFor((f) => f.type === "event" && f.event === "exec.approval.requested" && (f.payload as any).request.command === command)
    const id = (ev.payload as { id: string }).id
    expect(await call("exec.approval.get", { id })).toMatchObject({ id, commandText: command, allowedDecisions: ["allow-once", "allow-always", "deny"] })
    expect(await call("exec.approvals.resolve", { requestId: id, decision: "approve" })).toEqual({ requestId: id, resolved: true })
    expect((await bash).stdout).toContain("approved-")
    expect(await call("exec.approvals.resolve", { requestId: id, decision: "reject" })).toEqual({ requestId: id, resolved: false })
    expect((await c.request("exec.approval.get", { id })).ok).toBe(false)
  })

  test("reject denies the command", async () => {
    const command = `echo rejected-${uid()}`
    const bash = c.request("exec.bash", { command }, 10_000)
    const ev = await c.waitFor((f) => f.type === "event" && f.event === "exec.approval.requested" && (f.payload as any).request.command === command)
    await call("exec.approvals.resolve", { requestId: (ev.payload as { id: string }).id, decision: "reject" })
    const res = await bash
    expect(res.ok).toBe(false)
    expect(res.error?.details?.code).toBe("EXEC_DENIED")
  })
})

describe("exec.bash workdir", () => {
  test("mode full accepts any existing directory; other modes keep the roots check", async () => {
    const outside = realpathSync(mkdtempSync(join(tmpdir(), "gw-outside-")))
    const ask = await c.request("exec.bash", { command: "ls", workdir: outside })
    expect(ask.ok).toBe(false)
    expect(ask.error?.message).toContain("outside the allowed directories")
    const { hash } = await call("config.get")
    await call("config.patch", { raw: JSON.stringify({ tools: { exec: { mode: "full" } } }), baseHash: hash })
    expect((await call("exec.bash", { command: "pwd", workdir: outside })).stdout.trim()).toBe(outside)
    const missing = await c.request("exec.bash", { command: "pwd", workdir: join(outside, "missing") })
    expect(missing.ok).toBe(false)
    const h2 = (await call("config.get")).hash
    await call("config.patch", { raw: JSON.stringify({ tools: { exec: { mode: "ask" } } }), baseHash: h2 })
  })
})

describe("sessions, usage and chat", () => {
  const sendAndWait = async (sessionKey: string, message: string, idempotencyKey = `k-${uid()}`) => {
    const r = await c.call("chat.send", { sessionKey, message, idempotencyKey })
    await c.chatEnd(r.runId)
    return idempotencyKey
  }

  test("sessions.list rows carry messageCount and a label, main included; OpenClaw's extra params are accepted", async () => {
    await sendAndWait("main", "hello main")
    await sendAndWait("side", "hello side")
    const r = await call("sessions.list", { limit: 5000, configuredAgentsOnly: true, includeDerivedTitles: true, somethingNewer: 1 })
    const main = r.sessions.find((s: { key: string }) => s.key === "agent:main:main")
    expect(main).toMatchObject({ label: "main", messageCount: 2 })
    expect(r.sessions.find((s: { key: string }) => s.key === "agent:main:side")).toMatchObject({ label: "side", messageCount: 2 })
    expect((await call("sessions.list", { spawnedBy: "agent:main:main" })).sessions).toEqual([])
  })

  test("sessions.preview and sessions.describe", async () => {
    const r = await call("sessions.preview", { keys: ["main", "agent:main:nothing-here"], limit: 1, maxChars: 20 })
    expect(r.previews[0]).toMatchObject({ key: "main", status: "ok", items: [{ role: "assistant", text: "Hello from fake mod…" }] })
    expect(r.previews[1]).toEqual({ key: "agent:main:nothing-here", status: "missing", items: [] })
    const d = await call("sessions.describe", { key: "main", includeDerivedTitles: true, includeLastMessage: true })
    expect(d).toMatchObject({
      found: true,
      key: "agent:main:main",
      session: { derivedTitle: "hello main", lastMessage: "Hello from fake model", messageCount: 2 },
    })
    expect((await call("sessions.describe", { key: "nope" })).found).toBe(false)
  })

  test("usage.cost sums today's runs; usage.status names the configured providers", async () => {
    const cost = await call("usage.cost", { days: 7 })
    const today = new Date().toISOString().slice(0, 10)
    expect(cost.days).toBe(7)
    expect(cost.daily.at(-1).date).toBe(today)
    expect(cost.totals.input).toBeGreaterThanOrEqual(20)
    expect(cost.totals.totalCost).toBeCloseTo(cost.daily.reduce((s: number, d: { totalCost: number }) => s + d.totalCost, 0))
    expect(cost.totals.totalCost).toBeGreaterThan(0)
    const status = await call("usage.status")
    expect(status.providers.map((p: { provider: string }) => p.provider)).toContain("fake")
    expect(status.today.totalTokens).toBe(cost.daily.at(-1).totalTokens)
    // No heartbeat ran: its share of the spend is nothing.
    expect(status.heartbeat?.runs ?? 0).toBe(0)
  })

  test("chat.startup has the chat.history shape; chat.history receipts confirm a send instead of duplicating it", async () => {
    const key = await sendAndWait("receipts", "only once")
    const startup = await call("chat.startup", { sessionKey: "receipts" })
    expect(startup.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant"])
    expect(METHODS["chat.history"].result.safeParse(startup).success).toBe(true)
    const h = await call("chat.history", { sessionKey: "receipts", inputRunIds: [key, "never-sent"], limit: 100_000 })
    expect(h.inputReceipts[0]).toMatchObject({ runId: key, state: "consumed", status: "ok" })
    expect(h.inputReceipts[0].consumedByEventId).toBe(String(startup.messages[0].__gateway.id))
    expect(h.inputReceipts[1]).toEqual({ runId: "never-sent", state: "missing" })
    // A chat.history for a session that does not exist yet still answers receipts.
    expect((await call("chat.history", { sessionKey: "fresh", inputRunIds: ["x"] })).inputReceipts).toEqual([{ runId: "x", state: "missing" }])
    // chat.startup without a session key reads the main session.
    expect((await call("chat.startup")).sessionInfo.key).toBe("agent:main:main")
  })

  test("a pending send is reported pending and diagnostics.lanes shows its lane", async () => {
    const g = gate()
    model.script(() => ({ text: "slow", until: g.promise }))
    const key = `slow-${uid()}`
    await c.call("chat.send", { sessionKey: "lanes", message: "wait", idempotencyKey: key })
    await Bun.sleep(50)
    const lanes = await call("diagnostics.lanes")
    expect(lanes.lanes.find((l: { sessionKey: string }) => l.sessionKey === "agent:main:lanes")?.active?.runId).toBe(key)
    const h = await call("chat.history", { sessionKey: "lanes", inputRunIds: [key] })
    expect(["pending", "consumed"]).toContain(h.inputReceipts[0].state)
    g.open()
    await c.chatEnd(key)
    model.script(() => ({ text: "Hello from fake model", usage: { input: 10, output: 4, total: 14, cost: 0.002 } }))
  })
})

describe("UI reads", () => {
  test("subscriptions, visibility, questions, auth status", async () => {
    expect(await call("sessions.subscribe", { includeGlobal: true })).toEqual({ subscribed: true })
    expect(await call("sessions.messages.subscribe", { key: "main" })).toEqual({ key: "agent:main:main", subscribed: true })
    expect(await call("sessions.observer.visibility", { visible: false, key: "main" })).toEqual({ ok: true, visible: false })
    expect(await call("question.list")).toEqual({ questions: [] })
    const auth = await call("models.authStatus")
    expect(auth.providers.find((p: { provider: string }) => p.provider === "fake")).toMatchObject({
      status: "ok",
      source: "config",
      models: ["fake/fake-model"],
    })
  })

  test("models.list takes sessionKey and agentId", async () => {
    expect((await call("models.list", { sessionKey: "main", agentId: "main" })).models.length).toBeGreaterThan(0)
  })

  test("config.get redacts with OpenClaw's marker, and config.patch/set echoing it keep the secret", async () => {
    const got = await call("config.get")
    expect(got.config.models.providers.fake.apiKey).toBe(REDACTED)
    expect(REDACTED).toBe("__OPENCLAW_REDACTED__")
    const parsed = got.parsed
    parsed.logging.level = "info"
    const set = await call("config.set", { raw: JSON.stringify(parsed), baseHash: got.hash })
    expect(set.changedPaths).toEqual(["logging.level"])
    const file = JSON.parse(await Bun.file(join(gw.home, "gateway.json")).text())
    expect(file.models.providers.fake.apiKey).toBe("sk-secret-value")
    await call("config.patch", { raw: JSON.stringify({ models: { providers: { fake: { apiKey: REDACTED } } } }), baseHash: set.hash })
    expect(JSON.parse(await Bun.file(join(gw.home, "gateway.json")).text()).models.providers.fake.apiKey).toBe("sk-secret-value")
  })
})

describe("exec approvals with several agents", () => {
  let multi: InProcessGateway
  let mc: TestClient
  beforeAll(async () => {
    multi = await startInProcess({
      models: fakeModel([]),
      config: {
        agents: {
          list: [
            { id: "main", default: true },
            { id: "ops", tools: { exec: { mode: "deny" } } },
          ],
        },
        tools: { exec: { mode: "ask" } },
      },
    })
    mc = await multi.connect()
  })
  afterAll(async () => {
    await multi?.stop()
  })

  test("each agent shows the policy it runs with; a set writes agents.list[].tools.exec and keeps the rest of the entry", async () => {
    const snap = await mc.call("exec.approvals.get")
    expect(METHODS["exec.approvals.get"].result.safeParse(snap).success).toBe(true)
    expect(snap.file.defaults).toMatchObject({ security: "allowlist", ask: "on-miss" })
    expect(snap.file.agents.main).toMatchObject({ security: "allowlist", ask: "on-miss" })
    expect(snap.file.agents.ops).toMatchObject({ security: "deny" })
    const set = await mc.call("exec.approvals.set", {
      file: { version: 1, agents: { ops: { security: "allowlist", ask: "off", allowlist: [{ pattern: "uptime" }] } } },
      baseHash: snap.hash,
    })
    expect(set.file.agents.ops).toMatchObject({ security: "allowlist", ask: "off", allowlist: [{ pattern: "uptime" }] })
    expect(set.file.agents.main).toMatchObject({ security: "allowlist", ask: "on-miss" })
    const file = JSON.parse(await Bun.file(join(multi.home, "gateway.json")).text())
    expect(file.agents.list).toEqual([
      { id: "main", default: true },
      { id: "ops", tools: { exec: { mode: "allowlist", allowlist: ["uptime"] } } },
    ])
    const unknown = await mc.request("exec.approvals.set", { file: { version: 1, agents: { nobody: { security: "full" } } } })
    expect(unknown.error?.details?.code).toBe("INVALID_EXEC_APPROVALS")
  })
})
