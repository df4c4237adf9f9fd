/**
 * The agent, approval, usage and UI methods OpenClaw's clients call, against the compiled binary (every reply is
 * checked against its result schema by the harness), and OpenClaw's own `openclaw agent -m hi --json`, which asks
 * agents.list before it runs a turn, where its CLI is installed (see openclaw-cli.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, realpathSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startFakeOpenAI, type FakeServer } from "../fakes/openai.ts"
import { uid, waitEvent } from "./agent-helpers.ts"
import { connected, directedModel, E2E_TOKEN, fakeModelConfig, startBinary, type GatewayProcess, type RawSocket } from "./harness.ts"
import { openclawAvailable, runOpenclaw, warnIfOpenclawMissing } from "./openclaw.ts"

let fake: FakeServer
let gw: GatewayProcess
let sock: RawSocket

async function call(method: string, params: unknown = {}, timeoutMs?: number): Promise<Record<string, any>> {
  const res = await sock.request(method, params, timeoutMs)
  if (!res.ok) throw new Error(`${method} failed: ${JSON.stringify(res.error)}`)
  return res.payload as Record<string, any>
}

beforeAll(async () => {
  fake = startFakeOpenAI(directedModel)
  gw = await startBinary({
    args: ["--token", E2E_TOKEN],
    config: fakeModelConfig(fake.url, { tools: { exec: { mode: "ask", approvalTimeoutMs: 10_000 } } }),
  })
  sock = (await connected(gw.url, { scopes: ["operator.admin"] })).sock
})

afterAll(async () => {
  sock?.close()
  await gw?.stop()
  await fake?.stop()
})

describe("against the binary", () => {
  test("agents.list, agent.identity.get", async () => {
    expect(await call("agents.list")).toMatchObject({ defaultId: "main", mainKey: "main", agents: [{ id: "main", default: true }] })
    // The bootstrap IDENTITY.md names the assistant.
    expect((await call("agent.identity.get", { agentId: "main" })).name).toBe("Gateway assistant")
  })

  test("exec.approvals round trip, then an approval resolved through the desktop alias", async () => {
    const snap = await call("exec.approvals.get")
    expect(snap.file.defaults).toMatchObject({ security: "allowlist", ask: "on-miss" })
    const set = await call("exec.approvals.set", { file: { ...snap.file, agents: { main: { allowlist: [{ pattern: "true" }] } } }, baseHash: snap.hash })
    expect(set.file.agents.main.allowlist).toEqual([{ pattern: "true" }])
    const command = `echo e2e-${uid()}`
    const bash = sock.request("exec.bash", { command }, 10_000)
    const ev = await sock.waitFor((f) => f.type === "event" && f.event === "exec.approval.requested" && (f.payload as any).request.command === command)
    const id = (ev.payload as { id: string }).id
    expect((await call("exec.approval.get", { id })).commandText).toBe(command)
    expect(await call("exec.approvals.resolve", { requestId: id, decision: "approve" })).toEqual({ requestId: id, resolved: true })
    const res = await bash
    expect(res.ok).toBe(true)
    expect((res.payload as { stdout: string }).stdout).toContain("e2e-")
  })

  test("exec mode full: exec.bash runs in any existing workdir", async () => {
    const outside = realpathSync(mkdtempSync(join(tmpdir(), "gw-e2e-outside-")))
    const { hash } = await call("config.get")
    await call("config.patch", { raw: JSON.stringify({ tools: { exec: { mode: "full" } } }), baseHash: hash })
    expect((await call("exec.bash", { command: "pwd", workdir: outside })).stdout.trim()).toBe(outside)
  })

  test("a turn, then sessions, usage and chat reads", async () => {
    const key = `e2e-${uid()}`
    const sent = await call("chat.send", { sessionKey: "main", message: "hello there", idempotencyKey: key })
    await waitEvent(sock, "chat", (p) => p.runId === sent.runId && p.state === "final")
    const list = await call("sessions.list", { limit: 5000, configuredAgentsOnly: true, spawnedBy: undefined })
    expect(list.sessions.find((s: { key: string }) => s.key === "agent:main:main")).toMatchObject({ label: "main", messageCount: 2 })
    expect((await call("sessions.preview", { keys: ["main"] })).previews[0]).toMatchObject({ status: "ok" })
    expect((await call("sessions.describe", { key: "main" })).found).toBe(true)
    const history = await call("chat.history", { sessionKey: "main", inputRunIds: [key] })
    expect(history.inputReceipts).toEqual([expect.objectContaining({ runId: key, state: "consumed" })])
    expect((await call("chat.startup", {})).messages.length).toBe(2)
    expect((await call("usage.cost", {})).totals.totalTokens).toBeGreaterThan(0)
    expect((await call("usage.status", {})).providers.map((p: { provider: string }) => p.provider)).toContain("fake")
    expect(await call("sessions.subscribe", {})).toEqual({ subscribed: true })
    expect(await call("sessions.messages.subscribe", { key: "main" })).toMatchObject({ subscribed: true })
    expect(await call("sessions.observer.visibility", { visible: true })).toEqual({ ok: true, visible: true })
    expect(await call("question.list", {})).toEqual({ questions: [] })
    expect((await call("models.authStatus", {})).providers[0]).toMatchObject({ provider: "fake", status: "ok" })
    expect((await call("diagnostics.lanes", {})).maxConcurrent).toBeGreaterThan(0)
    expect((await call("models.list", { sessionKey: "main", agentId: "main" })).models[0].id).toBe("fake-model")
  })
})

warnIfOpenclawMissing("agent-methods.test.ts")

describe.skipIf(!openclawAvailable)("OpenClaw 2026.9.6 CLI", () => {
  const oc = (args: string[]) => runOpenclaw(args)

  test("openclaw gateway call agents.list and sessions.list with the params its UI sends", async () => {
    const list = await oc(["gateway", "call", "agents.list", "--url", gw.url, "--token", E2E_TOKEN, "--json"])
    expect(list.code).toBe(0)
    expect(JSON.parse(list.out)).toMatchObject({ defaultId: "main", agents: [{ id: "main" }] })
    const params = JSON.stringify({ limit: 5000, configuredAgentsOnly: true, includeDerivedTitles: true })
    const sessions = await oc(["gateway", "call", "sessions.list", "--url", gw.url, "--token", E2E_TOKEN, "--params", params, "--json"])
    expect(sessions.code).toBe(0)
    expect(JSON.parse(sessions.out).sessions.find((s: { key: string }) => s.key === "agent:main:main")).toMatchObject({ label: "main" })
  }, 120_000)

  test("openclaw agent -m hi --json (no session key) asks agents.list, then runs a turn in agent:main:main", async () => {
    const before = fake.requests.length
    const { code, out, err } = await runOpenclaw(["agent", "-m", "hi", "--json"], {
      env: { OPENCLAW_GATEWAY_URL: gw.url, OPENCLAW_GATEWAY_TOKEN: E2E_TOKEN },
      timeoutMs: 90_000,
    })
    if (code !== 0) console.error(out, err)
    expect(code).toBe(0)
    const payload = JSON.parse(out)
    expect(payload.status).toBe("ok")
    expect(JSON.stringify(payload)).toContain("echo: ")
    expect(fake.requests.length).toBeGreaterThan(before)
    const main = (await call("sessions.list", {})).sessions.find((s: { key: string }) => s.key === "agent:main:main")
    expect(main.messageCount).toBeGreaterThanOrEqual(2)
  }, 120_000)
})
