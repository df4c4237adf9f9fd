/**
 * Agent turns in process with the scripted fake model, driven only through public methods and observed through
 * events, replies, chat.history and what the model was sent: chat.send, the two-stage `agent` reply with a tool
 * step, agent.wait, abort, the three queue modes for messages that arrive mid-run, and model errors.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { fakeModel, gate, type FakeModel } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"
import type { TestClient } from "../../harness/ws-client.ts"

let gw: InProcessGateway
let model: FakeModel
let c: TestClient

beforeAll(async () => {
  model = fakeModel()
  gw = await startInProcess({ models: model })
  c = await gw.connect({ caps: ["tool-events"] })
})

afterAll(async () => {
  await gw?.stop()
})

const uid = () => crypto.randomUUID().slice(0, 8)

/** chat.history as [role, text] pairs. */
async function history(sessionKey: string): Promise<[string, string][]> {
  const h = await c.call("chat.history", { sessionKey })
  return h.messages.map((m: { role: string; content: unknown }) => [
    m.role,
    typeof m.content === "string" ? m.content : (m.content as { text: string }[]).map((p) => p.text).join(""),
  ])
}

const send = (sessionKey: string, message: string, idempotencyKey = `k-${uid()}`) => c.call("chat.send", { sessionKey, message, idempotencyKey })

describe("chat.send", () => {
  test("started, then status, deltas and one final chat event; chat.history holds the exchange", async () => {
    const sessionKey = `chat-${uid()}`
    model.script([{ text: ["Chat ", "answer ", "here"], chunkDelayMs: 5, usage: { input: 40, output: 3 } }])
    const runId = `run-${uid()}`
    expect(await send(sessionKey, "hello over chat", runId)).toEqual({ runId, status: "started" })

    const fin = await c.chatEnd(runId)
    expect(fin).toMatchObject({
      state: "final",
      sessionKey: `agent:main:${sessionKey}`,
      message: { role: "assistant", content: [{ type: "text", text: "Chat answer here" }] },
    })
    expect(fin.usage).toMatchObject({ input: 40, output: 3 })
    const events = c.runEvents(runId)
    expect(events[0].state).toBe("status")
    const deltas = events.filter((e) => e.state === "delta")
    // The first piece goes out at once; pieces 5 ms apart are coalesced (agents.defaults.deltas), none lost.
    expect(deltas[0].deltaText).toBe("Chat ")
    expect(deltas.map((d) => d.deltaText).join("")).toBe("Chat answer here")
    expect(deltas.at(-1).message.content[0].text).toBe("Chat answer here")
    expect(events.filter((e) => ["final", "aborted", "error"].includes(e.state)).length).toBe(1)

    expect(await history(sessionKey)).toEqual([
      ["user", "hello over chat"],
      ["assistant", "Chat answer here"],
    ])
    const call = model.calls.at(-1)!
    expect(call.lastUser).toBe("hello over chat")
    expect(call.model).toBe("fake/fake-model")
    expect(call.tools).toContain("read")
    expect(call.system).toContain("## Tools")
  })

  test("a repeated idempotency key does not start a second run", async () => {
    const sessionKey = `idem-${uid()}`
    const runId = `idem-${uid()}`
    const held = gate()
    model.script([{ text: "once", until: held.promise }])
    expect(await send(sessionKey, "only once", runId)).toEqual({ runId, status: "started" })
    expect(await send(sessionKey, "only once", runId)).toEqual({ runId, status: "in_flight" })
    held.open()
    await c.chatEnd(runId)
    expect(await send(sessionKey, "only once", runId)).toEqual({ runId, status: "ok" })
    expect(model.calls.filter((x) => x.lastUser === "only once").length).toBe(1)
    expect((await history(sessionKey)).length).toBe(2)
  })
})

describe("agent", () => {
  test("two-stage reply: accepted, then the final result after a tool step", async () => {
    const runId = `agent-${uid()}`
    model.script([{ toolCalls: [{ name: "ls", input: { path: "." } }] }, { text: "listed it" }])
    const { accepted, final } = await c.twoStage("agent", { message: "list the workspace", idempotencyKey: runId })
    expect(accepted).toMatchObject({ ok: true, payload: { runId, status: "accepted", agentId: "main", sessionKey: `agent:main:explicit:${runId}` } })
    expect(final.ok).toBe(true)
    expect(final.payload).toMatchObject({ runId, status: "ok", summary: "completed", result: { payloads: [{ text: "listed it", mediaUrl: null }] } })
    expect(final.payload.result.meta.agentMeta).toMatchObject({ steps: 2, successfulToolNames: ["ls"], provider: "fake", model: "fake-model" })
    // The accepted reply came before any event of the run, the final after its lifecycle end.
    const at = (pred: (f: any) => boolean) => c.frames.findIndex(pred)
    expect(c.frames.indexOf(accepted)).toBeLessThan(at((f) => f.type === "event" && f.payload?.runId === runId))
    expect(c.frames.indexOf(final)).toBeGreaterThan(at((f) => f.event === "agent" && f.payload?.runId === runId && f.payload.data?.phase === "end"))
    // The second model call got the tool result; tool events reached the tool-events connection.
    const second = model.calls.at(-1)!
    expect(second.lastToolResult).toMatchObject({ toolName: "ls", isError: false })
    expect(second.lastToolResult!.content).toContain("AGENTS.md")
    const tools = c.runEvents(runId, "agent").filter((e) => e.stream === "tool")
    expect(tools.map((e) => e.data.phase)).toEqual(["start", "result"])
  })

  test("agent.wait: timeout while running, the outcome once done, not-found for an unknown run", async () => {
    const sessionKey = `wait-${uid()}`
    const runId = `wait-${uid()}`
    const held = gate()
    model.script([{ text: "waited for", until: held.promise }])
    const calls = model.calls.length
    await send(sessionKey, "make me wait", runId)
    await model.waitForCalls(calls + 1)
    expect(await c.call("agent.wait", { runId, timeoutMs: 30 })).toEqual({ runId, status: "timeout" })
    held.open()
    const done = await c.call("agent.wait", { runId, timeoutMs: 5000 })
    expect(done).toMatchObject({ runId, status: "ok", terminalReply: { disposition: "visible", text: "waited for" } })
    expect(done.endedAt).toBeGreaterThanOrEqual(done.startedAt)
    const missing = await c.request("agent.wait", { runId: `never-${uid()}`, timeoutMs: 10 })
    expect(missing).toMatchObject({ ok: false, error: { code: "AGENT_RESULT_NOT_FOUND" } })
  })
})

describe("abort", () => {
  test("chat.abort stops a streaming run: aborted event with the partial text, agent.wait aborted, session usable", async () => {
    const sessionKey = `abort-${uid()}`
    const runId = `abort-${uid()}`
    model.script([{ text: ["Partial ", "answer"], hang: true }, { text: "next one" }])
    await send(sessionKey, "start something long", runId)
    await c.event("chat", (p) => p.runId === runId && p.state === "delta" && p.message.content[0].text === "Partial answer")

    const ab = await c.call("chat.abort", { sessionKey })
    expect(ab).toEqual({ ok: true, aborted: true, runIds: [runId] })
    const end = await c.chatEnd(runId)
    expect(end).toMatchObject({ state: "aborted", message: { content: [{ text: "Partial answer" }] } })
    expect(await c.call("agent.wait", { runId, timeoutMs: 2000 })).toMatchObject({ status: "aborted" })
    expect(model.calls.at(-1)!.outcome).toBe("aborted")

    const next = `after-${uid()}`
    await send(sessionKey, "and now?", next)
    expect((await c.chatEnd(next)).state).toBe("final")
    expect(await history(sessionKey)).toEqual([
      ["user", "start something long"],
      ["assistant", "Partial answer"],
      ["user", "and now?"],
      ["assistant", "next one"],
    ])
  })

  test("abort drops queued runs of the session too, each with a terminal event", async () => {
    const sessionKey = `abort-q-${uid()}`
    const [a, b] = [`aq-a-${uid()}`, `aq-b-${uid()}`]
    model.script([{ text: "a", hang: true }])
    await send(sessionKey, "first", a)
    await send(sessionKey, "second", b)
    await c.event("chat", (p) => p.runId === a && p.state === "delta")
    const ab = await c.call("chat.abort", { sessionKey })
    expect([...ab.runIds].sort()).toEqual([a, b].sort())
    expect((await c.chatEnd(a)).state).toBe("aborted")
    expect((await c.chatEnd(b)).state).toBe("aborted")
    expect(model.calls.some((x) => x.lastUser === "second")).toBe(false)
  })
})

describe("messages arriving mid-run", () => {
  test("followup: each message is its own turn, in arrival order, after the running one", async () => {
    const sessionKey = `followup-${uid()}`
    const held = gate()
    const ids = ["fa", "fb", "fc"].map((p) => `${p}-${uid()}`)
    model.script((req) => (req.lastUser === "alpha" ? { text: "A done", until: held.promise } : { text: `${req.lastUser} done` }))
    const first = model.calls.length
    await send(sessionKey, "alpha", ids[0])
    await model.waitForCalls(first + 1)
    expect(await send(sessionKey, "bravo", ids[1])).toEqual({ runId: ids[1], status: "started" })
    expect(await send(sessionKey, "charlie", ids[2])).toEqual({ runId: ids[2], status: "started" })
    // Nothing else reached the model while alpha ran.
    expect(model.calls.length).toBe(first + 1)
    held.open()
    for (const id of ids) expect((await c.chatEnd(id)).state).toBe("final")

    const calls = model.calls.slice(first)
    expect(calls.map((x) => x.lastUser)).toEqual(["alpha", "bravo", "charlie"])
    // Each turn started after the previous one ended, and saw it.
    const finals = ids.map((id) => c.frames.findIndex((f) => f.event === "chat" && f.payload.runId === id && f.payload.state === "final"))
    expect(finals).toEqual([...finals].sort((x, y) => x - y))
    expect(calls[2]!.messages.filter((m) => m.role === "user").map((m) => m.content)).toEqual(["alpha", "bravo", "charlie"])
    expect(await history(sessionKey)).toEqual([
      ["user", "alpha"],
      ["assistant", "A done"],
      ["user", "bravo"],
      ["assistant", "bravo done"],
      ["user", "charlie"],
      ["assistant", "charlie done"],
    ])
  })

  test("collect: messages queued behind a run merge into one next turn; every runId ends ok", async () => {
    const sessionKey = `collect-${uid()}`
    const held = gate()
    const ids = ["ca", "cb", "cc"].map((p) => `${p}-${uid()}`)
    model.script((req) => (req.lastUser === "alpha" ? { text: "A done", until: held.promise } : { text: "merged done" }))
    const first = model.calls.length
    await send(sessionKey, "alpha", ids[0])
    await c.call("sessions.patch", { key: sessionKey, queueMode: "collect" })
    await model.waitForCalls(first + 1)
    await send(sessionKey, "bravo", ids[1])
    await send(sessionKey, "charlie", ids[2])
    held.open()
    for (const id of ids) expect(await c.call("agent.wait", { runId: id, timeoutMs: 5000 })).toMatchObject({ status: "ok" })

    const calls = model.calls.slice(first)
    expect(calls.length).toBe(2)
    // The merged turn sees each collected message once, after the previous reply.
    const afterReply = calls[1]!.messages.slice(calls[1]!.messages.findLastIndex((m) => m.role === "assistant") + 1)
    expect(afterReply.filter((m) => m.role === "user").map((m) => m.content)).toEqual(["bravo", "charlie"])
    const users = (await history(sessionKey)).filter(([r]) => r === "user").map(([, t]) => t)
    for (const word of ["alpha", "bravo", "charlie"]) expect(users.join("\n").split(word).length - 1).toBe(1)
  })

  test("steer: a message sent mid-run is answered within the running turn", async () => {
    const sessionKey = `steer-${uid()}`
    const held = gate()
    const [a, b] = [`sa-${uid()}`, `sb-${uid()}`]
    model.script((req) => (req.lastUser === "alpha" ? { text: "A partial", until: held.promise } : { text: `steered: ${req.lastUser}` }))
    const first = model.calls.length
    await send(sessionKey, "alpha", a)
    await c.call("sessions.patch", { key: sessionKey, queueMode: "steer" })
    await model.waitForCalls(first + 1)
    await send(sessionKey, "bravo", b)
    held.open()
    const fin = await c.chatEnd(a)
    expect(fin).toMatchObject({ state: "final", message: { content: [{ text: "steered: bravo" }] } })
    expect(await c.call("agent.wait", { runId: b, timeoutMs: 5000 })).toMatchObject({ status: "ok" })
    expect(model.calls.slice(first).map((x) => x.lastUser)).toEqual(["alpha", "bravo"])
    expect(await history(sessionKey)).toEqual([
      ["user", "alpha"],
      ["assistant", "A partial"],
      ["user", "bravo"],
      ["assistant", "steered: bravo"],
    ])
  })
})

describe("model errors", () => {
  test("a non-retryable error ends the run with an error chat event naming the model and the cause", async () => {
    const sessionKey = `err-${uid()}`
    const runId = `err-${uid()}`
    model.script([{ error: { kind: "auth", retryable: false, message: "invalid x-api-key", status: 401 } }])
    const calls = model.calls.length
    await send(sessionKey, "will fail", runId)
    const end = await c.chatEnd(runId)
    expect(end).toMatchObject({ state: "error", errorMessage: "fake/fake-model: invalid x-api-key" })
    const waited = await c.call("agent.wait", { runId, timeoutMs: 2000 })
    expect(waited).toMatchObject({ runId, status: "error", error: "fake/fake-model: invalid x-api-key" })
    // Not retried: an auth failure does not get better by asking again.
    expect(model.calls.length).toBe(calls + 1)
    expect(await history(sessionKey)).toEqual([["user", "will fail"]])
    // The `agent` method turns the same failure into an error reply with the run's details.
    model.script([{ error: { kind: "auth", retryable: false, message: "invalid x-api-key", status: 401 } }])
    const { final } = await c.twoStage("agent", { message: "fail again", idempotencyKey: `err2-${uid()}` })
    expect(final).toMatchObject({ ok: false, error: { code: "UNAVAILABLE", details: { status: "error", errorKind: "auth" } } })
    expect(final.error!.message).toContain("invalid x-api-key")
  })

  test("a retryable error is retried and the retry's text replaces what streamed before", async () => {
    const runId = `retry-${uid()}`
    model.script([{ text: "Broken ", error: { kind: "overloaded", retryable: true, message: "overloaded", status: 529 } }, { text: ["Recovered ", "answer"] }])
    await send(`retry-${uid()}`, "survive a hiccup", runId)
    const end = await c.chatEnd(runId)
    expect(end).toMatchObject({ state: "final", message: { content: [{ text: "Recovered answer" }] } })
    const deltas = c.runEvents(runId).filter((e) => e.state === "delta")
    expect(deltas.find((d) => d.deltaText === "Recovered ")).toMatchObject({ replace: true })
  })
})
