/**
 * The pre-compaction memory flush, in process with the scripted fake model and a tiny context window: a silent turn
 * before the summary call appends notes to memory/<today>.md through memory_append; its text reaches neither chat
 * events nor chat.history; it runs once per compaction (also when an overflow error triggers the compaction); it is
 * skipped when memory or the flush is off; the compacted context tells the model about memory_search.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { SUMMARY_SYSTEM_PROMPT } from "../../../src/agent/compaction.ts"
import { FLUSH_SYSTEM_PROMPT, memoryDay, NO_REPLY } from "../../../src/agent/memory-flush.ts"
import { fakeModel, type FakeModel, type FakeModelRequest, type FakeModelStep } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"
import type { TestClient } from "../../harness/ws-client.ts"

const uid = () => crypto.randomUUID().slice(0, 8)
const SECRET = "FLUSH-PRIVATE-TEXT"
/** ~1 500 tokens each: two of them (plus the prompt) overflow a 3 000-token window, one does not. */
const big = (tag: string) => `${tag} ${"lorem ipsum ".repeat(500)}`

type Kind = "flush" | "summary" | "main"
const kindOf = (r: { system: string }): Kind => (r.system === FLUSH_SYSTEM_PROMPT ? "flush" : r.system === SUMMARY_SYSTEM_PROMPT ? "summary" : "main")

/** Config for a tiny window: compaction whenever the context passes 3 000 tokens, keeping only the last user turn. */
const tinyConfig = (extra: Record<string, unknown> = {}) => ({
  agents: { defaults: { compaction: { reserveTokens: 0, keepRecentTokens: 0 }, bootstrapTotalMaxChars: 100, bootstrapMaxChars: 100 } },
  ...extra,
})

/**
 * The default script: a flush appends a note (with some text of its own), then says NO_REPLY; the summary call
 * summarises; a main call answers.
 */
function defaultStep(r: FakeModelRequest, flushNote: string): FakeModelStep {
  const kind = kindOf(r)
  if (kind === "flush") {
    if (r.lastToolResult) return { text: NO_REPLY }
    return { text: `${SECRET} saving notes`, toolCalls: [{ name: "memory_append", input: { text: flushNote } }] }
  }
  if (kind === "summary") return { text: "## Goal\nsummarised" }
  return { text: `answer to ${r.lastUser.slice(0, 12)}` }
}

async function send(c: TestClient, sessionKey: string, message: string): Promise<any> {
  const runId = `run-${uid()}`
  await c.call("chat.send", { sessionKey, message, idempotencyKey: runId })
  return c.chatEnd(runId, 10_000)
}

async function historyText(c: TestClient, sessionKey: string): Promise<string> {
  const h = await c.call("chat.history", { sessionKey })
  return JSON.stringify(h.messages)
}

const kinds = (model: FakeModel, from: number) => model.calls.slice(from).map(kindOf)
const todayFile = (gw: InProcessGateway) => join(gw.home, "workspace", "memory", `${memoryDay()}.md`)

describe("memory flush before compaction", () => {
  let gw: InProcessGateway
  let c: TestClient
  let model: FakeModel

  beforeAll(async () => {
    model = fakeModel([], { contextWindow: 3000 })
    gw = await startInProcess({ models: model, config: tinyConfig() })
    c = await gw.connect({ caps: ["tool-events"] })
  })
  afterAll(async () => {
    await gw?.stop()
  })

  test("the flush runs before the summary, writes today's file through the tool, and stays out of chat", async () => {
    const sessionKey = `flush-${uid()}`
    const note = `- the user prefers tabs ${uid()}`
    model.script((r) => defaultStep(r, note))
    expect((await send(c, sessionKey, big("first"))).state).toBe("final")
    const start = model.calls.length
    const fin = await send(c, sessionKey, big("second"))
    expect(fin.state).toBe("final")
    // flush (note), flush (NO_REPLY after the tool result), summary, then the answer.
    expect(kinds(model, start)).toEqual(["flush", "flush", "summary", "main"])
    const flush = model.calls[start]!
    expect(flush.tools).toEqual(["memory_append"])
    // The flush sees the turns being summarised (the first exchange), not the kept last turn.
    expect(JSON.stringify(flush.messages)).toContain("first lorem")
    expect(JSON.stringify(flush.messages)).not.toContain("second lorem")

    const file = readFileSync(todayFile(gw), "utf8")
    expect(file).toContain(note)
    expect(file.startsWith(`# ${memoryDay()}`)).toBe(true)

    // Neither the flush's text nor its NO_REPLY reaches events or the history.
    const everything = JSON.stringify(c.events())
    expect(everything).not.toContain(SECRET)
    expect(everything).not.toContain(NO_REPLY)
    const hist = await historyText(c, sessionKey)
    expect(hist).not.toContain(SECRET)
    expect(hist).not.toContain(NO_REPLY)
    expect(hist).not.toContain("memory_append")
    expect(fin.message.content[0].text).toBe("answer to second lorem")

    // The compacted context the model gets next starts with the summary, which mentions memory_search.
    const main = model.calls.at(-1)!
    expect(main.messages[0]).toMatchObject({ role: "summary" })
    const summary = (main.messages[0] as { content: string }).content
    expect(summary).toContain("summarised")
    expect(summary).toContain("memory_search")
    expect(summary).toContain("MEMORY.md")
  })

  test("once per compaction: a compaction that fails after its flush does not flush again when retried; the next one does", async () => {
    const sessionKey = `once-${uid()}`
    const note1 = `- first note ${uid()}`
    const note2 = `- second note ${uid()}`
    let failSummary = true
    let note = note1
    model.script((r) => {
      if (kindOf(r) === "summary" && failSummary) return { error: { kind: "unknown", retryable: false, message: "summariser broke" } }
      return defaultStep(r, note)
    })
    expect((await send(c, sessionKey, big("one"))).state).toBe("final")
    let start = model.calls.length
    const failed = await send(c, sessionKey, big("two"))
    expect(failed.state).toBe("error")
    expect(kinds(model, start)).toEqual(["flush", "flush", "summary"])

    // Same compaction retried by the next run: no second flush.
    failSummary = false
    note = note2
    start = model.calls.length
    expect((await send(c, sessionKey, "short")).state).toBe("final")
    expect(kinds(model, start)).toEqual(["summary", "main"])
    let file = readFileSync(todayFile(gw), "utf8")
    expect(file).toContain(note1)
    expect(file).not.toContain(note2)

    // A later compaction is a new one: it flushes again, appending (the first note is kept).
    start = model.calls.length
    expect((await send(c, sessionKey, big("three"))).state).toBe("final")
    expect((await send(c, sessionKey, big("four"))).state).toBe("final")
    expect(kinds(model, start)).toContain("flush")
    expect(kinds(model, start).filter((k) => k === "summary").length).toBeGreaterThanOrEqual(1)
    expect(kinds(model, start).indexOf("flush")).toBeLessThan(kinds(model, start).indexOf("summary"))
    file = readFileSync(todayFile(gw), "utf8")
    expect(file).toContain(note1)
    expect(file).toContain(note2)
    expect(file.indexOf(note1)).toBeLessThan(file.indexOf(note2))
  })
})

describe("memory flush on the context-overflow path", () => {
  let gw: InProcessGateway
  let c: TestClient
  let model: FakeModel

  beforeAll(async () => {
    // A big window: the pre-call check never compacts; only the provider's overflow error does.
    model = fakeModel([], { contextWindow: 200_000 })
    gw = await startInProcess({ models: model, config: tinyConfig() })
    c = await gw.connect()
  })
  afterAll(async () => {
    await gw?.stop()
  })

  test("an overflow error compacts with one flush first, then the call is retried", async () => {
    const sessionKey = `overflow-${uid()}`
    const note = `- overflow note ${uid()}`
    model.script((r) => defaultStep(r, note))
    expect((await send(c, sessionKey, "hello there")).state).toBe("final")
    const start = model.calls.length
    let overflowed = false
    model.script((r) => {
      if (kindOf(r) === "main" && !overflowed) {
        overflowed = true
        return { error: { kind: "context_length", retryable: false, message: "prompt is too long" } }
      }
      return defaultStep(r, note)
    })
    const fin = await send(c, sessionKey, "and again")
    expect(fin.state).toBe("final")
    expect(kinds(model, start)).toEqual(["main", "flush", "flush", "summary", "main"])
    expect(readFileSync(todayFile(gw), "utf8")).toContain(note)
    expect(JSON.stringify(c.events())).not.toContain(SECRET)
    expect(await historyText(c, sessionKey)).not.toContain(SECRET)
    const summary = model.calls.at(-1)!.messages[0] as { role: string; content: string }
    expect(summary.role).toBe("summary")
    expect(summary.content).toContain("memory_search")
  })
})

describe("memory flush turned off", () => {
  for (const [name, extra] of [
    ["memory.enabled: false", { memory: { enabled: false } }],
    ["compaction.memoryFlush: false", { agents: { defaults: { compaction: { reserveTokens: 0, keepRecentTokens: 0, memoryFlush: false } } } }],
    // The flush writes through the session's write tool: a policy that denies it leaves nothing to flush with.
    ["tools.deny: [write]", { tools: { deny: ["write"] } }],
  ] as const) {
    test(`${name}: compaction without a flush`, async () => {
      const model = fakeModel([], { contextWindow: 3000 })
      const base = tinyConfig()
      const config = { ...base, ...extra, agents: { defaults: { ...base.agents.defaults, ...("agents" in extra ? extra.agents.defaults : {}) } } }
      const gw = await startInProcess({ models: model, config })
      try {
        const c = await gw.connect()
        const sessionKey = `off-${uid()}`
        model.script((r) => defaultStep(r, "- never written"))
        expect((await send(c, sessionKey, big("first"))).state).toBe("final")
        const start = model.calls.length
        expect((await send(c, sessionKey, big("second"))).state).toBe("final")
        expect(kinds(model, start)).toEqual(["summary", "main"])
        expect(existsSync(todayFile(gw))).toBe(false)
        const summary = model.calls.at(-1)!.messages[0] as { role: string; content: string }
        expect(summary.role).toBe("summary")
        // Memory off: no pointer to a tool the model does not have; flush off only: the pointer stays.
        if ("memory" in extra) expect(summary.content).not.toContain("memory_search")
        else expect(summary.content).toContain("memory_search")
      } finally {
        await gw.stop()
      }
    })
  }
})
