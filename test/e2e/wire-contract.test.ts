/**
 * The wire contract against the compiled binary: every advertised method is called at least once with valid params,
 * and the harness checks each reply (and every event on the way) against its protocol schema, undeclared keys
 * included. A method added to METHODS without a call here fails the last test.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { METHODS, type MethodName, type MethodParams } from "../../src/protocol/index.ts"
import { startFakeOpenAI, type FakeServer } from "../fakes/openai.ts"
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram.ts"
import { generateDeviceKey } from "../../src/nodes/device-sign.ts"
import { deviceConnect } from "../harness/device-connect.ts"
import { agentTwoStage, uid, waitEvent } from "./agent-helpers.ts"
import { connected, directedModel, E2E_TOKEN, fakeModelConfig, startBinary, type GatewayProcess, type RawSocket } from "./harness.ts"

let fake: FakeServer
let tg: FakeTelegram
let gw: GatewayProcess
let sock: RawSocket
/** Methods that answered ok (and so matched their result schema, or waiting for them would have thrown). */
const answered = new Set<string>()

/** Calls `method` and returns its payload; fails on an error reply. */
async function call<M extends MethodName>(method: M, params: MethodParams<M>, timeoutMs?: number): Promise<Record<string, any>> {
  const res = await sock.request(method, params, timeoutMs)
  if (!res.ok) throw new Error(`${method} failed: ${JSON.stringify(res.error)}`)
  answered.add(method)
  return res.payload as Record<string, any>
}

const config = (fakeUrl: string, level: "info" | "debug" = "info") =>
  fakeModelConfig(fakeUrl, {
    logging: { level },
    tools: { exec: { mode: "ask", approvalTimeoutMs: 10_000 } },
    channels: { telegram: { botToken: tg.token, apiRoot: tg.url, pollTimeoutSeconds: 2 } },
  })

beforeAll(async () => {
  fake = startFakeOpenAI(directedModel)
  tg = startFakeTelegram()
  gw = await startBinary({ args: ["--token", E2E_TOKEN], config: config(fake.url) })
  // admin (every scope) and tool-events, so every event kind reaches this socket and is checked.
  sock = (await connected(gw.url, { scopes: ["operator.admin"], caps: ["tool-events"] })).sock
})

afterAll(async () => {
  sock?.close()
  await gw?.stop()
  await fake?.stop()
  await tg?.stop()
})

describe("every method's reply matches its result schema", () => {
  test("system, config and catalog reads", async () => {
    await call("health", {})
    await call("status", {})
    await call("system-presence", {})
    await call("logs.tail", { limit: 5 })
    await call("config.get", {})
    await call("config.schema", {})
    await call("models.list", {})
    await call("tools.catalog", {})
    await call("exec.approval.list", {})
  })

  test("config writes", async () => {
    const { hash } = await call("config.get", {})
    const patched = await call("config.patch", { raw: JSON.stringify({ logging: { level: "debug" } }), baseHash: hash })
    expect(patched.changedPaths).toEqual(["logging.level"])
    const set = await call("config.set", { raw: JSON.stringify(config(fake.url)), baseHash: patched.hash })
    expect(set.changedPaths).toEqual(["logging.level"])
    await sock.waitFor((f) => f.type === "event" && f.event === "config.changed")
  })

  test("agent (both replies), with a tool call, then agent.wait", async () => {
    const key = `contract-${uid()}`
    const { accepted, final } = await agentTwoStage(sock, { message: `CALL ls ${JSON.stringify({})}`, idempotencyKey: key })
    expect(accepted.payload).toMatchObject({ status: "accepted" })
    expect(final.ok).toBe(true)
    answered.add("agent")
    await waitEvent(sock, "agent", (p) => p.runId === key && p.stream === "tool" && p.data.phase === "result")
    expect(await call("agent.wait", { runId: key, timeoutMs: 5000 })).toMatchObject({ runId: key, status: "ok" })
  })

  test("chat.send, chat.history, chat.inject, chat.abort", async () => {
    const key = `contract-${uid()}`
    const sent = await call("chat.send", { sessionKey: "contract", message: "hello contract", idempotencyKey: key })
    await waitEvent(sock, "chat", (p) => p.runId === sent.runId && p.state === "final")
    expect((await call("chat.history", { sessionKey: "contract" })).messages.length).toBeGreaterThanOrEqual(2)
    await call("chat.inject", { sessionKey: "contract", message: "a note", label: "contract" })
    expect(await call("chat.abort", { sessionKey: "contract" })).toMatchObject({ ok: true, aborted: false })
  })

  test("sessions.*", async () => {
    const key = "agent:main:contract"
    expect((await call("sessions.list", { includeLastMessage: true })).sessions.length).toBeGreaterThan(0)
    await call("sessions.get", { key })
    await call("sessions.transcript", { key })
    await call("sessions.patch", { key, label: "contract", queueMode: "collect" })
    await call("sessions.compact", { key }, 15_000)
    await call("sessions.abort", { key })
    await call("sessions.reset", { key, reason: "reset" })
    const spawned = await call("sessions.spawn", { task: "a sub-agent task" })
    await call("agent.wait", { runId: spawned.runId, timeoutMs: 5000 })
    expect(await call("sessions.delete", { key, deleteTranscript: true })).toMatchObject({ ok: true, deleted: true })
  })

  test("wake, now and at the next heartbeat", async () => {
    const now = await call("wake", { mode: "now", text: "contract ping", idempotencyKey: `wake-${uid()}` })
    await call("agent.wait", { runId: now.runId, timeoutMs: 5000 })
    expect(await call("wake", { mode: "next-heartbeat", text: "later", idempotencyKey: `wake-${uid()}` })).toMatchObject({ queued: true })
  })

  test("cron and heartbeat: add, list, status, update, run, runs, remove, last-heartbeat, set-heartbeats", async () => {
    const job = await call("cron.add", {
      name: "contract",
      schedule: { kind: "every", everyMs: 3_600_000 },
      payload: { kind: "agentTurn", message: "contract cron" },
    })
    expect((await call("cron.list", {})).jobs.map((j: { id: string }) => j.id)).toContain(job.id)
    expect((await call("cron.status", {})).jobs).toBeGreaterThanOrEqual(1)
    expect(await call("cron.update", { id: job.id, patch: { name: "contract-renamed" } })).toMatchObject({ name: "contract-renamed" })
    expect(await call("cron.run", { id: job.id })).toMatchObject({ ok: true, ran: true })
    let entries: { status: string }[] = []
    for (let i = 0; i < 100 && entries.length === 0; i++) {
      entries = (await call("cron.runs", { id: job.id })).entries
      if (!entries.length) await Bun.sleep(100)
    }
    expect(entries[0]).toMatchObject({ status: "ok" })
    await call("last-heartbeat", {})
    expect(await call("set-heartbeats", { enabled: true })).toEqual({ ok: true, enabled: true })
    expect(await call("cron.remove", { id: job.id })).toEqual({ ok: true, removed: true })
  })

  test("tools.invoke, and exec.bash through an approval", async () => {
    expect(await call("tools.invoke", { name: "write", args: { path: "contract.txt", content: "x" } })).toMatchObject({ ok: true })
    const command = `echo contract-${uid()}`
    const bash = call("exec.bash", { command })
    const ev = await sock.waitFor(
      (f) => f.type === "event" && f.event === "exec.approval.requested" && (f.payload as { request: { command: string } }).request.command === command,
    )
    const id = (ev.payload as { id: string }).id
    expect((await call("exec.approval.list", {})).approvals.map((a: { id: string }) => a.id)).toContain(id)
    await call("exec.approval.resolve", { id, decision: "allow-once" })
    await sock.waitFor((f) => f.type === "event" && f.event === "exec.approval.resolved")
    expect((await bash).exitCode).toBe(0)
  })

  test("channels: status, send, pairing, stop/start, logout", async () => {
    await tg.waitForPoll()
    expect((await call("channels.status", {})).channels.find((c: { channel: string }) => c.channel === "telegram")).toMatchObject({ connected: true })
    expect(await call("send", { to: "1001", message: "hello from the contract test", idempotencyKey: `send-${uid()}` }, 15_000)).toMatchObject({
      status: "sent",
    })
    // Two strangers: one approved, one dismissed.
    tg.pushMessage({ text: "hi", from: { id: 7001, first_name: "One" } })
    tg.pushMessage({ text: "hi", from: { id: 7002, first_name: "Two" } })
    await tg.waitFor((c) => c.method === "sendMessage" && String((c.params as { chat_id: unknown }).chat_id) === "7002", 10_000)
    const { requests } = await call("channels.pairing.list", {})
    const codeOf = (id: string) => requests.find((r: { senderId: string }) => r.senderId === id).code
    await call("channels.pairing.approve", { channel: "telegram", code: codeOf("7001") })
    await call("channels.pairing.dismiss", { channel: "telegram", code: codeOf("7002") })
    await call("channels.stop", { channel: "telegram" })
    await call("channels.start", { channel: "telegram" }, 15_000)
    expect((await call("channels.logout", { channel: "telegram" })).status).toMatchObject({ running: false })
  })

  test("memory: status, reindex, search (keyword-only: no embedding provider configured)", async () => {
    await Bun.write(`${gw.home}/workspace/memory/contract.md`, "# Contract\n\nThe wire contract test wrote this note.\n")
    // The workspace may hold other memory files (a bootstrap MEMORY.md): at least ours is indexed.
    expect((await call("memory.reindex", { full: true })).indexed).toBeGreaterThanOrEqual(1)
    expect(await call("memory.status", {})).toMatchObject({ mode: "keyword-only", modeReason: expect.stringContaining("no embedding provider") })
    expect((await call("memory.search", { query: "contract note" })).results[0]).toMatchObject({ path: "memory/contract.md", startLine: 1 })
  })

  test("skills: status, bins, install (a folder; an install hint as a dry run), update, invoke", async () => {
    const src = `${gw.home}/contract-skill`
    await Bun.write(
      `${src}/SKILL.md`,
      "---\nname: contract-ls\ndescription: Lists the workspace.\ncommand-dispatch: tool\ncommand-tool: ls\nmetadata:\n  openclaw:\n    install:\n      - kind: npm\n        package: left-pad\n---\n",
    )
    const installed = await call("skills.install", { source: src })
    expect(installed).toMatchObject({ ok: true, name: "contract-ls", sourceKind: "dir", files: 1 })
    expect(await call("skills.install", { name: "contract-ls", installId: "npm", dryRun: true })).toMatchObject({
      dryRun: true,
      command: ["npm", "install", "-g", "left-pad"],
    })
    expect((await call("skills.update", { name: "contract-ls" })).results[0]).toMatchObject({ ok: true, unchanged: true, sha256: installed.sha256 })
    const status = await call("skills.status", {})
    expect(status.skills.find((s: { name: string }) => s.name === "contract-ls")).toMatchObject({
      source: "openclaw-managed",
      eligible: true,
      sha256: installed.sha256,
    })
    await call("skills.bins", {})
    expect(await call("skills.invoke", { skill: "contract-ls", args: {} })).toMatchObject({ ok: true, tool: "ls", isError: false })
  })

  test("devices: list, reject, approve (a scope upgrade asked with a device token), rename, token rotate and revoke, remove", async () => {
    const { key } = await generateDeviceKey()
    // Loopback with the shared secret: approved silently, with a device token in hello-ok.
    const first = await deviceConnect(gw.url, { key, token: E2E_TOKEN, scopes: ["operator.read"] })
    const deviceToken = first.res.payload.auth.deviceToken as string
    first.client.close()
    // The device token asking for more than was approved waits for an operator, even on loopback.
    const upgrade = async () =>
      (await deviceConnect(gw.url, { key, deviceToken, scopes: ["operator.read", "operator.write"] })).res.error?.details?.requestId as string
    const rejected = await upgrade()
    await sock.waitFor((f) => f.type === "event" && f.event === "device.pair.requested" && (f.payload as { requestId?: string }).requestId === rejected)
    expect((await call("device.pair.list", {})).pending.map((r: { requestId: string }) => r.requestId)).toContain(rejected)
    expect(await call("device.pair.reject", { requestId: rejected })).toEqual({ requestId: rejected, deviceId: key.deviceId })
    const approved = await upgrade()
    expect((await call("device.pair.approve", { requestId: approved })).device.scopes).toEqual(["operator.read", "operator.write"])
    await call("device.pair.rename", { deviceId: key.deviceId, displayName: "contract device" })
    expect((await call("device.token.rotate", { deviceId: key.deviceId, role: "operator" })).token).toBeString()
    await call("device.token.revoke", { deviceId: key.deviceId, role: "operator" })
    await call("device.pair.remove", { deviceId: key.deviceId })
  })

  test("agents, approvals policy, usage and the UI's reads", async () => {
    expect((await call("agents.list", {})).defaultId).toBe("main")
    await call("agent.identity.get", {})
    const snap = await call("exec.approvals.get", {})
    await call("exec.approvals.set", { file: snap.file as MethodParams<"exec.approvals.set">["file"], baseHash: snap.hash })
    const command = `echo alias-${uid()}`
    const bash = call("exec.bash", { command })
    const ev = await sock.waitFor(
      (f) => f.type === "event" && f.event === "exec.approval.requested" && (f.payload as { request: { command: string } }).request.command === command,
    )
    const id = (ev.payload as { id: string }).id
    await call("exec.approval.get", { id })
    expect(await call("exec.approvals.resolve", { requestId: id, decision: "approve" })).toEqual({ requestId: id, resolved: true })
    await bash
    await call("usage.status", {})
    await call("usage.cost", { days: 7 })
    const key = `contract-${uid()}`
    const sent = await call("chat.send", { sessionKey: "main", message: "hello receipts", idempotencyKey: key })
    await waitEvent(sock, "chat", (p) => p.runId === sent.runId && p.state === "final")
    expect((await call("chat.history", { sessionKey: "main", inputRunIds: [key] })).inputReceipts[0].state).toBe("consumed")
    await call("chat.startup", { sessionKey: "main" })
    await call("sessions.subscribe", {})
    await call("sessions.messages.subscribe", { key: "main" })
    await call("sessions.observer.visibility", { visible: true })
    await call("sessions.preview", { keys: ["main", "agent:main:none"] })
    await call("sessions.describe", { key: "main", includeLastMessage: true })
    await call("question.list", {})
    await call("models.authStatus", {})
    await call("diagnostics.lanes", {})
  })

  test("several agents: create, update, files, delete", async () => {
    const created = await call("agents.create", { name: "Contract Agent", emoji: "🧪" })
    expect(created.agentId).toBe("contract-agent")
    await call("agents.update", { agentId: "contract-agent", name: "Contract" })
    expect((await call("agents.files.list", { agentId: "contract-agent" })).files.length).toBeGreaterThan(0)
    await call("agents.files.set", { agentId: "contract-agent", name: "USER.md", content: "# USER.md\n\nA contract test.\n" })
    expect((await call("agents.files.get", { agentId: "contract-agent", name: "USER.md" })).file.content).toContain("A contract test.")
    expect(await call("agents.delete", { agentId: "contract-agent", deleteFiles: true })).toEqual({ ok: true, agentId: "contract-agent", removedBindings: 0 })
  })

  test("nodes: a node connection, node.list / describe / rename, pairing, invoke relayed both ways, an approval asked by the node", async () => {
    const node = (
      await connected(gw.url, {
        role: "node",
        scopes: [],
        client: { id: "node-host", version: "test", platform: "linux", mode: "node", instanceId: "contract-node", displayName: "contract node" },
        commands: ["system.run"],
      })
    ).sock
    /** A node-role call, counted like the operator's. */
    const nodeCall = async <M extends MethodName>(method: M, params: MethodParams<M>) => {
      const res = await node.request(method, params, 15_000)
      if (!res.ok) throw new Error(`${method} failed: ${JSON.stringify(res.error)}`)
      answered.add(method)
      return res.payload as Record<string, any>
    }
    expect((await call("node.list", {})).nodes.find((n: { nodeId: string }) => n.nodeId === "contract-node")).toMatchObject({ connected: true })
    await call("node.describe", { nodeId: "contract-node" })
    await call("node.rename", { nodeId: "contract-node", displayName: "Contract node" })
    const invoked = call("node.invoke", { nodeId: "contract-node", command: "system.run", params: { command: ["echo", "hi"] }, idempotencyKey: uid() })
    const req = (await node.waitFor((f) => f.type === "event" && f.event === "node.invoke.request")).payload as { id: string; nodeId: string }
    const result = { id: req.id, nodeId: req.nodeId, ok: true, payload: { stdout: "hi\n", stderr: "", exitCode: 0, timedOut: false } }
    expect(await nodeCall("node.invoke.result", result)).toEqual({ ok: true, accepted: true })
    expect((await invoked).payload).toMatchObject({ stdout: "hi\n" })
    expect(await nodeCall("node.event", { event: "exec.finished", payloadJSON: "{}" })).toEqual({ ok: true })
    const asked = nodeCall("node.exec.approval.request", { command: "rm -rf /tmp/contract", cwd: "/tmp" })
    const asksFor = (f: { type: string; event?: unknown; payload?: unknown }) =>
      f.type === "event" &&
      f.event === "exec.approval.requested" &&
      (f.payload as { request: { command: string } }).request.command.includes("rm -rf /tmp/contract")
    const ev = await sock.waitFor(asksFor)
    await call("exec.approval.resolve", { id: (ev.payload as { id: string }).id, decision: "deny" })
    expect(await asked).toEqual({ approved: false })
    const request = (await call("node.pair.request", { nodeId: "contract-phone", displayName: "Phone" })).request.requestId as string
    await sock.waitFor((f) => f.type === "event" && f.event === "node.pair.requested")
    expect((await call("node.pair.list", {})).pending.map((r: { requestId: string }) => r.requestId)).toContain(request)
    await call("node.pair.approve", { requestId: request })
    await sock.waitFor((f) => f.type === "event" && f.event === "node.pair.resolved")
    const second = (await call("node.pair.request", { nodeId: "contract-tablet" })).request.requestId as string
    await call("node.pair.reject", { requestId: second })
    expect(await call("node.pair.remove", { nodeId: "contract-phone" })).toEqual({ nodeId: "contract-phone", removed: true })
    node.close()
  })

  test("no advertised method went uncalled", () => {
    expect([...answered].sort()).toEqual(Object.keys(METHODS).sort())
  })

  test("shutdown: the last event matches too", async () => {
    await gw.stop()
    await sock.waitFor((f) => f.type === "event" && f.event === "shutdown")
  })
})
