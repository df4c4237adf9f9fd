/**
 * Several agents in one gateway, in process: each agent runs with its own workspace (bootstrap files in the prompt)
 * and model; bindings route a channel conversation or account to an agent (most specific wins); agents.create then a
 * chat to the new agent; agents.files.* by bootstrap name only; config validation of ids, defaults and bindings.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { validate } from "../../../src/config/load.ts"
import { boundAgent } from "../../../src/router/bindings.ts"
import { FakeChannel } from "../../harness/fake-channel.ts"
import { fakeModel, type FakeModel } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"

let gw: InProcessGateway | undefined
const dirs: string[] = []

afterEach(async () => {
  await gw?.stop()
  gw = undefined
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "gw-agent-ws-"))
  dirs.push(d)
  return d
}

/** The session key a model call ran in, from the prompt's Runtime line. */
function sessionOf(system: string): string | undefined {
  return /session=(\S+)/.exec(system)?.[1]
}

async function start(config: Record<string, unknown>, model: FakeModel = fakeModel((req) => ({ text: `echo: ${req.lastUser}` }))) {
  const tg = new FakeChannel("telegram")
  gw = await startInProcess({ models: model, config, channelAdapters: async () => tg })
  const deadline = Date.now() + 3000
  while (config.channels && !tg.ctx && Date.now() < deadline) await Bun.sleep(5)
  return { tg, model, gw, c: await gw.connect() }
}

async function ask(c: Awaited<ReturnType<typeof start>>["c"], params: Record<string, unknown>) {
  const { accepted, final } = await c.twoStage("agent", { idempotencyKey: crypto.randomUUID(), ...params })
  expect(final.ok).toBe(true)
  return { accepted: accepted.payload, final: final.payload }
}

describe("two agents", () => {
  test("each runs with its own model and workspace; the default answers requests that name no agent", async () => {
    const secondWs = tempDir()
    const { c, model, gw } = await start({
      agents: {
        list: [
          { id: "main", default: true, model: "fake/main-model" },
          { id: "second", name: "Second", model: "fake/second-model", workspace: secondWs },
        ],
      },
    })
    // The second workspace gets its bootstrap files; a custom SOUL.md is what its prompt carries.
    writeFileSync(join(secondWs, "SOUL.md"), "# SOUL.md\n\nYou are the SECOND agent.\n")

    const one = await ask(c, { message: "who answers?" })
    expect(one.accepted.agentId).toBe("main")
    const two = await ask(c, { message: "and now?", agentId: "second" })
    expect(two.accepted).toMatchObject({ agentId: "second", sessionKey: "agent:second:main" })
    const chat = await c.call("chat.send", { sessionKey: "agent:second:side", message: "via chat", idempotencyKey: "chat-1" })
    await c.chatEnd(chat.runId)
    // chat.send's agentId puts a short key under that agent.
    const chat2 = await c.call("chat.send", { sessionKey: "notes", agentId: "second", message: "by id", idempotencyKey: "chat-2" })
    await c.chatEnd(chat2.runId)

    // OpenClaw: neither session nor agent means a session of its own, under the default agent.
    expect(model.calls[0]!.model).toBe("fake/main-model")
    expect(sessionOf(model.calls[0]!.system)).toStartWith("agent:main:explicit:")
    expect(model.calls.slice(1).map((x) => [x.model, sessionOf(x.system)])).toEqual([
      ["fake/second-model", "agent:second:main"],
      ["fake/second-model", "agent:second:side"],
      ["fake/second-model", "agent:second:notes"],
    ])
    expect(model.calls[0]!.system).toContain(`workspace=${join(gw.home, "workspace")}`)
    expect(model.calls[0]!.system).not.toContain("SECOND agent")
    expect(model.calls[1]!.system).toContain(`workspace=${secondWs}`)
    expect(model.calls[1]!.system).toContain("You are the SECOND agent.")
    expect(existsSync(join(secondWs, "AGENTS.md"))).toBe(true)

    // agents.list reports both, the default first.
    const list = await c.call("agents.list", {})
    expect(list.defaultId).toBe("main")
    expect(list.agents.map((a: { id: string; workspace: string }) => [a.id, a.workspace])).toEqual([
      ["main", join(gw.home, "workspace")],
      ["second", secondWs],
    ])

    // An agent id nobody configured is refused, and nothing runs.
    const bad = await c.request("agent", { message: "x", agentId: "ghost", idempotencyKey: "ghost-1" })
    expect(bad.error).toMatchObject({ code: "INVALID_REQUEST", details: { code: "UNKNOWN_AGENT" } })
    expect(model.calls.length).toBe(4)
  })

  test("a default agent other than main: hello, health and requests naming no agent follow it", async () => {
    const { c, model } = await start({ agents: { list: [{ id: "main" }, { id: "work", default: true, model: "fake/work-model" }] } })
    expect(c.hello.snapshot.sessionDefaults).toMatchObject({ defaultAgentId: "work", mainSessionKey: "agent:work:main" })
    const health = await c.call("health", {})
    expect(health.defaultAgentId).toBe("work")
    expect(health.agents.map((a: { agentId: string; isDefault: boolean }) => [a.agentId, a.isDefault])).toEqual([
      ["main", false],
      ["work", true],
    ])
    const r = await ask(c, { message: "hi" })
    expect(r.accepted.sessionKey).toStartWith("agent:work:explicit:")
    const spawned = await c.call("sessions.spawn", { task: "sub task" })
    expect(spawned.sessionKey).toStartWith("agent:work:subagent:")
    await c.call("agent.wait", { runId: spawned.runId, timeoutMs: 5000 })
    // Short keys in reads and writes belong to the default agent too.
    const sent = await c.call("chat.send", { sessionKey: "main", message: "short key", idempotencyKey: "short-1" })
    await c.chatEnd(sent.runId)
    const history = await c.call("chat.history", { sessionKey: "main" })
    expect(history.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant"])
    expect(model.calls.map((x) => x.model)).toEqual(["fake/work-model", "fake/work-model", "fake/work-model"])
    expect(sessionOf(model.calls[2]!.system)).toBe("agent:work:main")
  })

  test("a per-agent tool policy narrows the global one for that agent only", async () => {
    const { c, model } = await start({
      agents: { list: [{ id: "main" }, { id: "reader", tools: { allow: ["read", "ls"] } }] },
    })
    await ask(c, { message: "hi", agentId: "reader" })
    await ask(c, { message: "hi" })
    expect(model.calls[0]!.tools.sort()).toEqual(["ls", "read"])
    expect(model.calls[1]!.tools).toContain("write")
  })
})

describe("bindings", () => {
  test("a peer binding routes that DM to the second agent; others go to the default", async () => {
    const { tg, model } = await start({
      channels: { telegram: { botToken: "123456:TEST-TOKEN", dmPolicy: "allowlist", allowFrom: ["42", "43"] } },
      session: { dmScope: "per-channel-peer" },
      agents: {
        list: [
          { id: "main", model: "fake/main-model" },
          { id: "second", model: "fake/second-model" },
        ],
      },
      bindings: [{ agentId: "second", match: { channel: "telegram", peer: { kind: "direct", id: "42" } } }],
    })
    await tg.push({ senderId: "42", text: "for second" })
    await tg.waitForSent(1)
    await tg.push({ senderId: "43", text: "for main" })
    await tg.waitForSent(2)
    expect(model.calls.map((x) => [x.model, sessionOf(x.system), x.lastUser])).toEqual([
      ["fake/second-model", "agent:second:telegram:dm:42", "for second"],
      ["fake/main-model", "agent:main:telegram:dm:43", "for main"],
    ])
    // Each reply went back to the chat it came from.
    expect(tg.sent.map((s) => [s.target.to, s.text])).toEqual([
      ["42", "echo: for second"],
      ["43", "echo: for main"],
    ])
  })

  test("with dmScope main the bound agent's main session answers", async () => {
    const { tg, model } = await start({
      channels: { telegram: { botToken: "123456:TEST-TOKEN", dmPolicy: "open", allowFrom: ["*"] } },
      agents: { list: [{ id: "main" }, { id: "second" }] },
      bindings: [{ agentId: "second", match: { channel: "telegram" } }],
    })
    await tg.push({ senderId: "7", text: "hello" })
    await tg.waitForSent(1)
    expect(sessionOf(model.calls[0]!.system)).toBe("agent:second:main")
  })

  test("the most specific binding wins: peer over account over channel, whatever the order", () => {
    const bindings = [
      { agentId: "chan", match: { channel: "telegram" } },
      { agentId: "acct", match: { channel: "telegram", accountId: "bot-1" } },
      { agentId: "group", match: { channel: "telegram", peer: { kind: "group" as const, id: "-100" } } },
      { agentId: "any", match: { channel: "discord", accountId: "*" } },
    ]
    const o = (extra: Record<string, string>) => ({ door: "channel" as const, channel: "telegram", accountId: "bot-1", chatId: "5", senderId: "5", ...extra })
    expect(boundAgent(bindings, o({ chatType: "group", chatId: "-100" }))).toBe("group")
    expect(boundAgent(bindings, o({ chatType: "direct" }))).toBe("acct")
    expect(boundAgent(bindings, o({ chatType: "direct", accountId: "bot-2" }))).toBe("chan")
    // A DM from a user whose id equals the group's is not the group.
    expect(boundAgent(bindings, o({ chatType: "direct", chatId: "-100", senderId: "-100" }))).toBe("acct")
    expect(boundAgent(bindings, { door: "channel", channel: "discord", accountId: "x", chatId: "1" })).toBe("any")
    expect(boundAgent(bindings, { door: "channel", channel: "slack", chatId: "1" })).toBeUndefined()
    // Only channel messages are bound: a WebSocket request names its agent or gets the default.
    expect(boundAgent(bindings, { door: "ws.agent", channel: "telegram" })).toBeUndefined()
  })
})

describe("agents.create / update / delete", () => {
  test("a created agent gets a workspace and answers with its model; update and delete rewrite gateway.json", async () => {
    const { c, model, gw } = await start({})
    const created = await c.call("agents.create", { name: "Helper Bot", model: "fake/helper-model", emoji: "🦊" })
    expect(created).toEqual({
      ok: true,
      agentId: "helper-bot",
      name: "Helper Bot",
      workspace: join(gw.home, "workspace-helper-bot"),
      model: "fake/helper-model",
    })
    expect(existsSync(join(gw.home, "workspace-helper-bot", "SOUL.md"))).toBe(true)
    // The implicit main was written out as the default, so it keeps answering requests that name no agent.
    const file = JSON.parse(readFileSync(join(gw.home, "gateway.json"), "utf8"))
    expect(file.agents.list).toEqual([
      { id: "main", default: true },
      { id: "helper-bot", name: "Helper Bot", model: "fake/helper-model", identity: { name: "Helper Bot", emoji: "🦊" } },
    ])
    expect(file.gateway.auth.token).toBeDefined() // the rest of the file (secrets included) is kept as it was

    const r = await ask(c, { message: "hello helper", agentId: "helper-bot" })
    expect(r.accepted.sessionKey).toBe("agent:helper-bot:main")
    expect(model.calls.at(-1)!.model).toBe("fake/helper-model")
    expect(await c.call("agent.identity.get", { agentId: "helper-bot" })).toMatchObject({ agentId: "helper-bot", name: "Helper Bot", emoji: "🦊" })

    const dup = await c.request("agents.create", { name: "helper bot" })
    expect(dup.error).toMatchObject({ details: { code: "AGENT_EXISTS" } })
    expect((await c.request("agents.create", { name: "Main" })).ok).toBe(false)

    expect(await c.call("agents.update", { agentId: "helper-bot", model: null, name: "Helper" })).toEqual({ ok: true, agentId: "helper-bot" })
    await ask(c, { message: "again", agentId: "helper-bot" })
    expect(model.calls.at(-1)!.model).toBe("fake/fake-model") // models.default again

    // A binding to it is removed with it.
    const cfg = await c.call("config.get", {})
    await c.call("config.patch", { raw: JSON.stringify({ bindings: [{ agentId: "helper-bot", match: { channel: "telegram" } }] }), baseHash: cfg.hash })
    expect(await c.call("agents.delete", { agentId: "helper-bot", deleteFiles: true })).toEqual({ ok: true, agentId: "helper-bot", removedBindings: 1 })
    expect(existsSync(join(gw.home, "workspace-helper-bot"))).toBe(false)
    expect((await c.call("agents.list", {})).agents.map((a: { id: string }) => a.id)).toEqual(["main"])
    const gone = await c.request("agent", { message: "x", agentId: "helper-bot", idempotencyKey: "gone-1" })
    expect(gone.error).toMatchObject({ details: { code: "UNKNOWN_AGENT" } })
    // The default agent stays.
    expect((await c.request("agents.delete", { agentId: "main" })).ok).toBe(false)
  })

  test("without a gateway.json, agents.create writes one holding the agents", async () => {
    const { c, gw } = await start({})
    unlinkSync(join(gw.home, "gateway.json"))
    expect((await c.call("agents.create", { name: "solo" })).agentId).toBe("solo")
    expect(JSON.parse(readFileSync(join(gw.home, "gateway.json"), "utf8"))).toEqual({
      agents: {
        list: [
          { id: "main", default: true },
          { id: "solo", name: "solo", identity: { name: "solo" } },
        ],
      },
    })
  })
})

describe("agents.files", () => {
  test("list, get and set bootstrap files by name; other names, paths and symlinks are refused", async () => {
    const { c, model, gw } = await start({})
    const ws = join(gw.home, "workspace")
    const list = await c.call("agents.files.list", { agentId: "main" })
    expect(list.workspace).toBe(ws)
    const soul = list.files.find((f: { name: string }) => f.name === "SOUL.md")
    expect(soul).toMatchObject({ name: "SOUL.md", path: join(ws, "SOUL.md"), missing: false })
    expect(list.files.find((f: { name: string }) => f.name === "BOOTSTRAP.md")).toMatchObject({ missing: true })

    const set = await c.call("agents.files.set", { agentId: "main", name: "SOUL.md", content: "Speak like a pirate.\n" })
    expect(set).toMatchObject({
      ok: true,
      agentId: "main",
      workspace: ws,
      file: { name: "SOUL.md", missing: false, content: "Speak like a pirate.\n", size: 21 },
    })
    expect(readFileSync(join(ws, "SOUL.md"), "utf8")).toBe("Speak like a pirate.\n")
    expect((await c.call("agents.files.get", { agentId: "main", name: "SOUL.md" })).file.content).toBe("Speak like a pirate.\n")
    await ask(c, { message: "hi" })
    expect(model.calls[0]!.system).toContain("Speak like a pirate.")

    writeFileSync(join(gw.home, "secret.txt"), "top secret")
    for (const name of ["../gateway.json", "../secret.txt", "/etc/passwd", "notes.md", "memory/2026-01-01.md", "SOUL.md/..", "soul.md"]) {
      const get = await c.request("agents.files.get", { agentId: "main", name })
      expect(get.ok).toBe(false)
      const put = await c.request("agents.files.set", { agentId: "main", name, content: "pwned" })
      expect(put.ok).toBe(false)
    }
    expect(readFileSync(join(gw.home, "gateway.json"), "utf8")).not.toContain("pwned")
    expect(readFileSync(join(gw.home, "secret.txt"), "utf8")).toBe("top secret")

    // A bootstrap name that is a symlink out of the workspace is neither read nor written through.
    unlinkSync(join(ws, "USER.md"))
    symlinkSync(join(gw.home, "secret.txt"), join(ws, "USER.md"))
    expect((await c.request("agents.files.get", { agentId: "main", name: "USER.md" })).ok).toBe(false)
    expect((await c.request("agents.files.set", { agentId: "main", name: "USER.md", content: "pwned" })).ok).toBe(false)
    expect(readFileSync(join(gw.home, "secret.txt"), "utf8")).toBe("top secret")

    expect((await c.request("agents.files.get", { agentId: "nobody", name: "SOUL.md" })).error).toMatchObject({ details: { code: "AGENT_NOT_FOUND" } })
  })
})

describe("config", () => {
  test("one agent by default; duplicate ids, two defaults, bad ids and bindings to unknown agents are errors naming the key", () => {
    expect(validate({}).config?.agents.list).toEqual([])
    expect(validate({}).config?.bindings).toEqual([])
    const dup = validate({ agents: { list: [{ id: "a" }, { id: "a" }] } })
    expect(dup.issues[0]).toMatchObject({ path: "agents.list.1.id" })
    expect(dup.issues[0]!.message).toContain("duplicate agent id 'a'")
    const twoDefaults = validate({
      agents: {
        list: [
          { id: "a", default: true },
          { id: "b", default: true },
        ],
      },
    })
    expect(twoDefaults.issues[0]!.message).toContain("more than one default agent")
    expect(validate({ agents: { list: [{ id: "Bad Id" }] } }).issues[0]).toMatchObject({ path: "agents.list.0.id" })
    const unbound = validate({ agents: { list: [{ id: "a" }] }, bindings: [{ agentId: "b", match: { channel: "telegram" } }] })
    expect(unbound.issues[0]).toMatchObject({ path: "bindings.0.agentId" })
    expect(unbound.issues[0]!.message).toContain("unknown agent 'b'")
    // Without agents.list, "main" is the one agent bindings may name.
    expect(validate({ bindings: [{ agentId: "main", match: { channel: "telegram" } }] }).issues).toEqual([])
  })
})
