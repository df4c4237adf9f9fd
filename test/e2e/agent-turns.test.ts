/**
 * Agent turns end to end, once per wire format: the compiled binary talks to an in-process fake OpenAI
 * chat-completions server and to a fake Anthropic messages server (real SSE on the wire), and the tests assert on
 * the raw gateway frames, on what the fake received, and on the stored transcript. Covered: a plain `agent` turn,
 * chat.send, a multi-step tool turn, abort mid-stream and mid-tool, idempotency keys, two messages racing into one
 * session (followup and collect), compaction (proactive and after a context-overflow error) and a mid-stream
 * disconnect that is retried transparently.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import {
  KINDS,
  agentTwoStage,
  assistantTexts,
  expectStrictlyIncreasing,
  expectValidTranscript,
  finalRes,
  overflowError,
  providerFor,
  resOn,
  runEvents,
  scriptedFake,
  sendAgent,
  systemOf,
  toolCallIndex,
  toolCallsOf,
  toolResultsOf,
  uid,
  userTexts,
  waitEvent,
  type Payload,
  type ScriptedFake,
} from "./agent-helpers.ts"
import { E2E_TOKEN, connected, startBinary, waitUntil, type GatewayProcess, type RawSocket } from "./harness.ts"

/** Command lines of all processes (Linux /proc), to see whether a tool's child process still runs. */
function commandLines(): string[] {
  const out: string[] = []
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      out.push(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" "))
    } catch {
      // the process ended meanwhile
    }
  }
  return out
}

const SUMMARY_MARK = "SUMMARY-OF-EARLIER-TURNS"
const FILLER = "The quick brown fox jumps over the lazy dog while the gateway keeps counting tokens. "

describe.each(KINDS)("agent turns over the %s wire", (kind) => {
  let fake: ScriptedFake
  let gw: GatewayProcess
  /** read+write+admin, with the tool-events cap. */
  let ops: RawSocket
  /** read only, no caps: must never see tool events. */
  let watcher: RawSocket
  const callId = (name: string) => `${kind === "openai" ? "call" : "toolu"}_${name}_${uid()}`

  beforeAll(async () => {
    fake = scriptedFake(kind)
    gw = await startBinary({
      args: ["--token", E2E_TOKEN],
      config: {
        models: {
          default: "fake/fake-model",
          providers: {
            fake: providerFor(fake, [
              { id: "fake-model", contextWindow: 64_000 },
              { id: "tiny", contextWindow: 3000 },
            ]),
          },
        },
        agents: { defaults: { compaction: { reserveTokens: 500, keepRecentTokens: 200 } } },
        // backgroundAfterMs 0: a foreground command never moves to the background, so abort meets it running.
        tools: { exec: { mode: "full", backgroundAfterMs: 0 } },
      },
    })
    ops = (await connected(gw.url, { scopes: ["operator.read", "operator.write", "operator.admin"], caps: ["tool-events"] })).sock
    watcher = (await connected(gw.url, { scopes: ["operator.read"] })).sock
  })

  afterAll(async () => {
    ops?.close()
    watcher?.close()
    await gw?.stop()
    await fake?.server.stop()
  })

  test("plain turn: accepted, streamed events, final res with the fake's text and usage", async () => {
    const key = `plain-${kind}-${uid()}`
    fake.script([{ text: ["Hello", " from", " the fake"], usage: { input: 100, cacheRead: 23, output: 45 } }])
    const from = fake.mark()
    const { accepted, final } = await agentTwoStage(ops, { message: "hi there, plain turn", idempotencyKey: key })

    expect(accepted.ok).toBe(true)
    expect(accepted.payload).toMatchObject({ runId: key, status: "accepted", agentId: "main", sessionKey: `agent:main:explicit:${key}` })
    expect(final.ok).toBe(true)
    const p = final.payload as Payload
    expect(p).toMatchObject({ runId: key, status: "ok", summary: "completed", stopReason: "stop" })
    expect(p.result.payloads).toEqual([{ text: "Hello from the fake", mediaUrl: null }])
    expect(p.result.meta.agentMeta).toMatchObject({ provider: "fake", model: "fake-model", sessionKey: `agent:main:explicit:${key}`, steps: 1 })
    // input counts every prompt token, cached ones included, whatever the wire's own convention.
    expect(p.result.meta.agentMeta.usage).toMatchObject({ input: 123, cacheRead: 23, output: 45, total: 168 })

    // Agent events: lifecycle start … assistant snapshots … lifecycle end, per-run seq 1, 2, 3, … on the cap connection.
    const agent = runEvents(ops, key, "agent")
    expect(agent[0]).toMatchObject({ stream: "run_status" })
    expect(agent.map((e) => e.seq)).toEqual(agent.map((_, i) => i + 1))
    const lifecycle = agent.filter((e) => e.stream === "lifecycle").map((e) => e.data.phase)
    expect(lifecycle[0]).toBe("start")
    expect(lifecycle.at(-1)).toBe("end")
    const assistant = agent.filter((e) => e.stream === "assistant")
    expect(assistant.length).toBeGreaterThanOrEqual(1)
    let snapshot = ""
    for (const a of assistant) {
      snapshot += a.data.delta
      expect(a.data.text).toBe(snapshot)
    }
    expect(snapshot).toBe("Hello from the fake")
    const end = agent.find((e) => e.stream === "lifecycle" && e.data.phase === "end")!
    expect(end.data).toMatchObject({ aborted: false, stopReason: "stop", terminalReply: { disposition: "visible", text: "Hello from the fake" } })
    expect(agent.find((e) => e.stream === "usage")?.data).toMatchObject({ inputTokens: 123, outputTokens: 45 })
    for (const e of agent) expect(e).toMatchObject({ sessionKey: `agent:main:explicit:${key}`, agentId: "main", isHeartbeat: false })

    // Chat view: deltas mirror the assistant events' seq, then one final.
    const chat = runEvents(ops, key, "chat").filter((c) => c.state !== "status")
    expect(chat.at(-1)).toMatchObject({
      state: "final",
      stopReason: "stop",
      message: { role: "assistant", content: [{ type: "text", text: "Hello from the fake" }] },
    })
    expect(chat.at(-1)!.usage).toMatchObject({ input: 123, output: 45 })
    const deltas = chat.filter((c) => c.state === "delta")
    expect(deltas.map((d) => d.seq)).toEqual(assistant.map((a) => a.seq))
    expect(deltas.map((d) => d.deltaText).join("")).toBe("Hello from the fake")

    // Frame order: accepted before the first event of the run, the final res after lifecycle end.
    const idx = (pred: (f: Payload) => boolean) => ops.frames.findIndex((f) => pred(f as Payload))
    expect(ops.frames.indexOf(accepted)).toBeLessThan(idx((f) => f.type === "event" && f.payload?.runId === key))
    expect(ops.frames.indexOf(final)).toBeGreaterThan(
      idx((f) => f.type === "event" && f.event === "agent" && f.payload.runId === key && f.payload.data?.phase === "end"),
    )

    // A read-only connection sees the same run, seq strictly increasing.
    await waitUntil(() => runEvents(watcher, key, "agent").some((e) => e.data.phase === "end"), "watcher lifecycle end")
    const watched = runEvents(watcher, key, "agent")
    expect(watched.length).toBe(agent.length)
    expectStrictlyIncreasing(watched.map((e) => e.seq))

    // What the model got.
    const reqs = fake.since(from)
    expect(reqs.length).toBe(1)
    expect(reqs[0].model).toBe("fake-model")
    expect(reqs[0].stream).toBe(true)
    expect(userTexts(kind, reqs[0]).at(-1)).toBe("hi there, plain turn")
    expect(systemOf(kind, reqs[0])).toContain("## Tools")
    const headers = fake.server.headers[from]!
    if (kind === "openai") expect(headers.authorization).toBe("Bearer sk-test")
    else expect(headers["x-api-key"]).toBe("sk-test")
  })

  test("chat.send: started, chat events to final, chat.history has both messages", async () => {
    const sessionKey = `chat-${kind}-${uid()}`
    const runId = `chat-run-${uid()}`
    fake.script([{ text: ["Chat ", "answer"] }])
    const res = await ops.request("chat.send", { sessionKey, message: "hello over chat", idempotencyKey: runId })
    expect(res.ok).toBe(true)
    expect(res.payload).toEqual({ runId, status: "started" })

    const fin = await waitEvent(ops, "chat", (c) => c.runId === runId && c.state === "final")
    expect(fin).toMatchObject({ sessionKey: `agent:main:${sessionKey}`, message: { content: [{ type: "text", text: "Chat answer" }] } })
    const states = runEvents(ops, runId, "chat").map((c) => c.state)
    expect(states[0]).toBe("status")
    expect(states).toContain("delta")
    expect(states.at(-1)).toBe("final")

    const hist = await ops.request("chat.history", { sessionKey })
    expect(hist.ok).toBe(true)
    const msgs = (hist.payload as Payload).messages as Payload[]
    expect(msgs.map((m) => [m.role, typeof m.content === "string" ? m.content : m.content[0].text])).toEqual([
      ["user", "hello over chat"],
      ["assistant", "Chat answer"],
    ])
  })

  test("multi-step tool turn: write, then read + ls in parallel, then text", async () => {
    const sessionKey = `tools-${kind}-${uid()}`
    const runId = `tools-run-${uid()}`
    const file = `notes-${kind}-${uid()}.txt`
    const [w, r, l] = [callId("write"), callId("read"), callId("ls")]
    fake.script([
      { toolCalls: [{ id: w, name: "write", args: { path: file, content: "line one\nline two\n" } }] },
      {
        toolCalls: [
          { id: r, name: "read", args: { path: file } },
          { id: l, name: "ls", args: { path: "." } },
        ],
      },
      { text: "Wrote and read the file." },
    ])
    const from = fake.mark()
    const { final } = await agentTwoStage(ops, { message: "write a note, then read it back", idempotencyKey: runId, sessionKey })
    expect(final.ok).toBe(true)
    const p = final.payload as Payload
    expect(p.result.payloads[0].text).toBe("Wrote and read the file.")
    expect(p.result.meta.agentMeta.steps).toBe(3)
    expect([...p.result.meta.agentMeta.successfulToolNames].sort()).toEqual(["ls", "read", "write"])

    // The file is really in the workspace.
    const abs = join(gw.home, "workspace", file)
    expect(existsSync(abs)).toBe(true)
    expect(readFileSync(abs, "utf8")).toBe("line one\nline two\n")

    // Tool events, only on the connection with the tool-events cap.
    const tools = runEvents(ops, runId, "agent").filter((e) => e.stream === "tool")
    for (const [id, name] of [
      [w, "write"],
      [r, "read"],
      [l, "ls"],
    ] as const) {
      const start = tools.find((e) => e.data.toolCallId === id && e.data.phase === "start")
      const result = tools.find((e) => e.data.toolCallId === id && e.data.phase === "result")
      expect(start?.data).toMatchObject({ name })
      expect(result?.data).toMatchObject({ name, isError: false })
      expect(result!.seq).toBeGreaterThan(start!.seq)
    }
    expect(tools.find((e) => e.data.toolCallId === w && e.data.phase === "start")!.data.args).toEqual({ path: file, content: "line one\nline two\n" })
    expect(tools.find((e) => e.data.toolCallId === r && e.data.phase === "result")!.data.result).toContain("line two")
    expect(tools.find((e) => e.data.toolCallId === l && e.data.phase === "result")!.data.result).toContain(file)
    expect(runEvents(ops, runId, "agent").map((e) => e.seq)).toEqual(runEvents(ops, runId, "agent").map((_, i) => i + 1))
    // The watcher got the run (so absence of tool events means something), but no tool stream.
    await waitUntil(() => runEvents(watcher, runId, "agent").some((e) => e.data.phase === "end"), "watcher lifecycle end")
    expect(runEvents(watcher, runId, "agent").filter((e) => e.stream === "tool")).toEqual([])
    expect(watcher.events("agent").filter((f) => (f.payload as Payload).stream === "tool")).toEqual([])

    // Each follow-up request replays the calls with their results, paired by call id.
    const reqs = fake.since(from)
    expect(reqs.length).toBe(3)
    const second = toolResultsOf(kind, reqs[1])
    expect(second.map((x) => x.id)).toEqual([w])
    expect(second[0]!.text).toContain(file)
    expect(toolCallIndex(kind, reqs[1], w)).toBeGreaterThanOrEqual(0)
    expect(toolCallIndex(kind, reqs[1], w)).toBeLessThan(second[0]!.index)
    expect(toolCallsOf(kind, reqs[1])).toEqual([{ id: w, name: "write", args: { path: file, content: "line one\nline two\n" } }])
    const third = toolResultsOf(kind, reqs[2])
    expect(third.map((x) => x.id).sort()).toEqual([w, r, l].sort())
    expect(third.find((x) => x.id === r)!.text).toContain("line two")
    for (const x of third) expect(toolCallIndex(kind, reqs[2], x.id)).toBeLessThan(x.index)

    const got = await ops.request("sessions.get", { key: sessionKey })
    const msgs = (got.payload as Payload).messages as Payload[]
    expect(msgs.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant", "tool", "tool", "assistant"])
    expectValidTranscript(msgs)
  })

  test("abort mid-stream: chat aborted, final res aborted, transcript keeps the partial text and stays usable", async () => {
    const sessionKey = `abort-stream-${kind}-${uid()}`
    const runId = `abort-stream-${uid()}`
    fake.script([{ text: ["Partial ", "answer"], hangUntilAborted: true }])
    const id = sendAgent(ops, { message: "start a long answer", idempotencyKey: runId, sessionKey })
    await waitEvent(ops, "agent", (e) => e.runId === runId && e.stream === "assistant" && e.data.text === "Partial answer")

    const t0 = Date.now()
    const ab = await ops.request("chat.abort", { sessionKey })
    expect(ab.payload).toMatchObject({ ok: true, aborted: true, runIds: [runId] })
    const aborted = await waitEvent(ops, "chat", (c) => c.runId === runId && c.state === "aborted")
    expect(aborted).toMatchObject({ stopReason: "aborted", message: { content: [{ type: "text", text: "Partial answer" }] } })
    const final = await finalRes(ops, id)
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(final.ok).toBe(true)
    expect(final.payload).toMatchObject({ runId, status: "aborted", result: { meta: { aborted: true } } })
    expect(runEvents(ops, runId, "agent").find((e) => e.stream === "lifecycle" && e.data.phase === "end")?.data).toMatchObject({ aborted: true })
    expect(runEvents(ops, runId, "chat").some((c) => c.state === "final")).toBe(false)

    const got = await ops.request("sessions.get", { key: sessionKey })
    const msgs = (got.payload as Payload).messages as Payload[]
    expect(msgs.map((m) => m.role)).toEqual(["user", "assistant"])
    expect(msgs[1]!.content).toEqual([{ type: "text", text: "Partial answer" }])
    expectValidTranscript(msgs)

    // The session takes the next message, and the model sees the aborted exchange as plain history.
    fake.script([{ text: "Next answer" }])
    const from = fake.mark()
    const next = await agentTwoStage(ops, { message: "continue", idempotencyKey: `after-abort-${uid()}`, sessionKey })
    expect((next.final.payload as Payload).result.payloads[0].text).toBe("Next answer")
    expect(userTexts(kind, fake.since(from)[0])).toEqual(["start a long answer", "continue"])
    expect(assistantTexts(kind, fake.since(from)[0])).toEqual(["Partial answer"])
  })

  test("abort mid-tool: a running `sleep` is killed promptly and recorded as an aborted tool result", async () => {
    const sessionKey = `abort-tool-${kind}-${uid()}`
    const runId = `abort-tool-${uid()}`
    const seconds = `30.${Math.floor(Math.random() * 900 + 100)}`
    const call = callId("exec")
    fake.script([{ toolCalls: [{ id: call, name: "exec", args: { command: `sleep ${seconds}` } }] }, { text: "should never be asked" }])
    const from = fake.mark()
    const id = sendAgent(ops, { message: "run a slow command", idempotencyKey: runId, sessionKey })
    await waitEvent(ops, "agent", (e) => e.runId === runId && e.stream === "tool" && e.data.phase === "start")
    const sleeping = () => commandLines().includes(`sleep ${seconds}`)
    await waitUntil(sleeping, "the sleep command to run")

    const t0 = Date.now()
    const ab = await ops.request("sessions.abort", { key: sessionKey })
    expect(ab.payload).toMatchObject({ ok: true, aborted: true, runIds: [runId] })
    const final = await finalRes(ops, id)
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(final.payload).toMatchObject({ runId, status: "aborted" })
    await waitEvent(ops, "chat", (c) => c.runId === runId && c.state === "aborted")
    expect(sleeping()).toBe(false)

    const result = runEvents(ops, runId, "agent").find((e) => e.stream === "tool" && e.data.phase === "result")
    expect(result?.data).toMatchObject({ name: "exec", toolCallId: call, isError: true })
    expect(String(result!.data.result)).toContain("aborted")
    expect(fake.since(from).length).toBe(1)

    const got = await ops.request("sessions.get", { key: sessionKey })
    const msgs = (got.payload as Payload).messages as Payload[]
    expect(msgs.map((m) => m.role)).toEqual(["user", "assistant", "tool"])
    expect(msgs[2]).toMatchObject({ toolCallId: call, toolName: "exec", isError: true })
    expect(msgs[2]!.content).toContain("aborted")
    expectValidTranscript(msgs)
  })

  test("abort with a message queued behind the running one: both end aborted, the queued one never reaches the model", async () => {
    const sessionKey = `abort-queue-${kind}-${uid()}`
    const [ka, kb] = [`abq-a-${uid()}`, `abq-b-${uid()}`]
    fake.script([{ text: ["Working ", "on it"], hangUntilAborted: true }, { text: "must not be asked" }])
    const from = fake.mark()
    expect((await ops.request("chat.send", { sessionKey, message: "long one", idempotencyKey: ka })).payload).toMatchObject({ status: "started" })
    expect((await ops.request("chat.send", { sessionKey, message: "queued one", idempotencyKey: kb })).payload).toMatchObject({ status: "started" })
    await waitEvent(ops, "chat", (c) => c.runId === ka && c.state === "delta")
    const ab = await ops.request("chat.abort", { sessionKey })
    expect(ab.payload).toMatchObject({ ok: true, aborted: true })
    expect([...(ab.payload as Payload).runIds].sort()).toEqual([ka, kb].sort())
    // Every run a client was told "started" about ends with a terminal chat event.
    await waitEvent(ops, "chat", (c) => c.runId === ka && c.state === "aborted")
    await waitEvent(ops, "chat", (c) => c.runId === kb && c.state === "aborted", 3000)
    for (const runId of [ka, kb]) expect((await ops.request("agent.wait", { runId, timeoutMs: 2000 })).payload).toMatchObject({ runId, status: "aborted" })
    await Bun.sleep(300)
    expect(fake.since(from).length).toBe(1)
    const msgs = ((await ops.request("sessions.get", { key: sessionKey })).payload as Payload).messages as Payload[]
    expect(msgs.map((m) => [m.role, m.runId])).toEqual([
      ["user", ka],
      ["assistant", ka],
    ])
  })

  test("idempotency: the same key sent twice at once and once more after the end runs once", async () => {
    const key = `idem-${kind}-${uid()}`
    fake.script([{ text: ["Once ", "and ", "only ", "once"], chunkDelayMs: 60 }])
    const from = fake.mark()
    const id1 = sendAgent(ops, { message: "do it once", idempotencyKey: key })
    const id2 = sendAgent(ops, { message: "do it once", idempotencyKey: key })
    const [f1, f2] = await Promise.all([finalRes(ops, id1), finalRes(ops, id2)])
    for (const [id, f] of [
      [id1, f1],
      [id2, f2],
    ] as const) {
      expect(resOn(ops, id)[0]!.payload).toMatchObject({ runId: key, status: "accepted" })
      expect(f.ok).toBe(true)
      expect(f.payload).toMatchObject({ runId: key, status: "ok", result: { payloads: [{ text: "Once and only once" }] } })
    }

    // After completion: one res straight away with the stored final payload, no new events.
    const eventsBefore = runEvents(ops, key, "agent").length
    const id3 = sendAgent(ops, { message: "do it once", idempotencyKey: key })
    const f3 = await finalRes(ops, id3)
    expect(f3.payload).toMatchObject({ runId: key, status: "ok", result: { payloads: [{ text: "Once and only once" }] } })
    await Bun.sleep(150)
    expect(resOn(ops, id3).length).toBe(1)
    expect(runEvents(ops, key, "agent").length).toBe(eventsBefore)
    expect(runEvents(ops, key, "agent").filter((e) => e.stream === "lifecycle" && e.data.phase === "start").length).toBe(1)
    expect(fake.since(from).length).toBe(1)

    // chat.send: an in-flight duplicate says so; a replay after the end returns the stored status.
    const sessionKey = `idem-chat-${kind}-${uid()}`
    const ck = `idem-chat-${uid()}`
    fake.script([{ text: ["chat ", "once"], chunkDelayMs: 60 }])
    const from2 = fake.mark()
    const r1 = await ops.request("chat.send", { sessionKey, message: "once", idempotencyKey: ck })
    const r2 = await ops.request("chat.send", { sessionKey, message: "once", idempotencyKey: ck })
    expect(r1.payload).toEqual({ runId: ck, status: "started" })
    expect(r2.payload).toEqual({ runId: ck, status: "in_flight" })
    await waitEvent(ops, "chat", (c) => c.runId === ck && c.state === "final")
    const r3 = await ops.request("chat.send", { sessionKey, message: "once", idempotencyKey: ck })
    expect(r3.payload).toEqual({ runId: ck, status: "ok" })
    expect(fake.since(from2).length).toBe(1)
    const hist = await ops.request("chat.history", { sessionKey })
    expect(((hist.payload as Payload).messages as Payload[]).map((m) => m.role)).toEqual(["user", "assistant"])
  })

  test("two messages racing into one session run one after the other", async () => {
    const sessionKey = `race-${kind}-${uid()}`
    const [ka, kb] = [`race-a-${uid()}`, `race-b-${uid()}`]
    fake.script((body) => (userTexts(kind, body).at(-1) === "first message" ? { text: ["A1 ", "A2 ", "A3 ", "A4"], chunkDelayMs: 80 } : { text: "B answer" }))
    const from = fake.mark()
    ops.send({ type: "req", id: "race-1", method: "chat.send", params: { sessionKey, message: "first message", idempotencyKey: ka } })
    ops.send({ type: "req", id: "race-2", method: "chat.send", params: { sessionKey, message: "second message", idempotencyKey: kb } })
    expect((await ops.response("race-1")).payload).toEqual({ runId: ka, status: "started" })
    expect((await ops.response("race-2")).payload).toEqual({ runId: kb, status: "started" })
    const [finA, finB] = await Promise.all([
      waitEvent(ops, "chat", (c) => c.runId === ka && c.state === "final"),
      waitEvent(ops, "chat", (c) => c.runId === kb && c.state === "final"),
    ])
    expect(finA.message.content[0].text).toBe("A1 A2 A3 A4")
    expect(finB.message.content[0].text).toBe("B answer")

    const reqs = fake.since(from)
    expect(reqs.length).toBe(2)
    // The second model call started only after the first run ended, and it already saw the first exchange.
    const endA = runEvents(ops, ka, "agent").find((e) => e.stream === "lifecycle" && e.data.phase === "end")!
    const startB = runEvents(ops, kb, "agent").find((e) => e.stream === "lifecycle" && e.data.phase === "start")!
    expect(fake.arrivals[from + 1]!).toBeGreaterThanOrEqual(endA.ts)
    expect(fake.arrivals[from + 1]! - fake.arrivals[from]!).toBeGreaterThanOrEqual(4 * 80 - 20)
    expect(startB.ts).toBeGreaterThanOrEqual(endA.ts)
    expect(userTexts(kind, reqs[1])).toEqual(["first message", "second message"])
    expect(assistantTexts(kind, reqs[1])).toEqual(["A1 A2 A3 A4"])
  })

  test("queueMode collect: messages arriving mid-run merge into one next turn", async () => {
    const sessionKey = `collect-${kind}-${uid()}`
    const [ka, kb, kc] = [`col-a-${uid()}`, `col-b-${uid()}`, `col-c-${uid()}`]
    fake.script((body) => (userTexts(kind, body).at(-1) === "alpha" ? { text: ["a1 ", "a2 ", "a3"], chunkDelayMs: 100 } : { text: "merged answer" }))
    const from = fake.mark()
    expect((await ops.request("chat.send", { sessionKey, message: "alpha", idempotencyKey: ka })).payload).toMatchObject({ status: "started" })
    const patched = await ops.request("sessions.patch", { key: sessionKey, queueMode: "collect" })
    expect(patched.payload).toMatchObject({ ok: true, entry: { queueMode: "collect" } })
    const rb = await ops.request("chat.send", { sessionKey, message: "bravo", idempotencyKey: kb })
    const rc = await ops.request("chat.send", { sessionKey, message: "charlie", idempotencyKey: kc })
    expect(rb.payload).toEqual({ runId: kb, status: "started" })
    expect(rc.payload).toEqual({ runId: kc, status: "started", mergedInto: kb })

    const fin = await waitEvent(ops, "chat", (c) => c.runId === kb && c.state === "final")
    expect(fin.message.content[0].text).toBe("merged answer")
    const waited = await ops.request("agent.wait", { runId: kc, timeoutMs: 5000 })
    expect(waited.payload).toMatchObject({ status: "ok" })

    const reqs = fake.since(from)
    expect(reqs.length).toBe(2)
    // Each collected message is its own user entry, once, after the reply to alpha.
    expect(userTexts(kind, reqs[1]).join("\n")).toBe(["alpha", "bravo", "charlie"].join("\n"))
    expect(fake.arrivals[from + 1]!).toBeGreaterThanOrEqual(runEvents(ops, ka, "agent").find((e) => e.data.phase === "end")!.ts)
  })

  test("compaction: a tiny context window triggers a summary that replaces the old turns", async () => {
    const sessionKey = `compact-${kind}-${uid()}`
    fake.script((body) =>
      systemOf(kind, body).includes("## Goal")
        ? { text: `${SUMMARY_MARK}\n## Goal\nKeep chatting about long messages.` }
        : { text: `ack ${userTexts(kind, body).at(-1)!.split(" ")[0]}` },
    )
    const from = fake.mark()
    let compactedAt = -1
    for (let turn = 0; turn < 8 && compactedAt < 0; turn++) {
      const { final } = await agentTwoStage(ops, {
        message: `turn-${turn} ${FILLER.repeat(14)}`,
        idempotencyKey: `compact-${turn}-${uid()}`,
        sessionKey,
        model: "fake/tiny",
      })
      expect(final.payload).toMatchObject({ status: "ok", result: { payloads: [{ text: `ack turn-${turn}` }] } })
      if (fake.since(from).some((b) => systemOf(kind, b).includes("## Goal"))) compactedAt = turn
    }
    expect(compactedAt).toBeGreaterThan(0)

    const reqs = fake.since(from)
    const si = reqs.findIndex((b) => systemOf(kind, b).includes("## Goal"))
    const summaryReq = reqs[si]
    expect(systemOf(kind, summaryReq)).toContain("## Next Steps")
    expect(userTexts(kind, summaryReq)[0]).toContain("[User]: turn-0")
    expect(summaryReq.tools ?? []).toEqual([])

    // The turn's model call right after the summary carries the summary, not the early turns.
    const after = reqs[si + 1]
    const users = userTexts(kind, after)
    expect(users[0]).toStartWith(`Summary of the earlier conversation: ${SUMMARY_MARK}`)
    expect(JSON.stringify(after.messages)).not.toContain("turn-0 ")
    expect(users.at(-1)).toStartWith(`turn-${compactedAt} `)

    const evs = ops
      .events("agent")
      .map((f) => f.payload as Payload)
      .filter((e) => e.sessionKey === `agent:main:${sessionKey}` && e.stream === "compaction")
    expect(evs.map((e) => e.data.phase)).toEqual(["start", "end"])
    expect(evs[1]!.data.tokensAfter).toBeLessThan(evs[1]!.data.tokensBefore)

    // One more turn: still summary-based.
    const more = fake.mark()
    await agentTwoStage(ops, { message: "one more short turn", idempotencyKey: `compact-more-${uid()}`, sessionKey, model: "fake/tiny" })
    const last = fake.since(more)
    expect(last.length).toBe(1)
    expect(userTexts(kind, last[0])[0]).toStartWith(`Summary of the earlier conversation: ${SUMMARY_MARK}`)
    expect(JSON.stringify(last[0].messages)).not.toContain("turn-0 ")

    const got = await ops.request("sessions.get", { key: sessionKey })
    const entry = (got.payload as Payload).entry
    expect(entry.compactionCount).toBe(1)
    const msgs = (got.payload as Payload).messages as Payload[]
    expect(msgs.filter((m) => m.role === "summary").length).toBe(1)
    // The full history stays stored; the chat view still lists the first turn.
    const hist = await ops.request("chat.history", { sessionKey })
    expect(((hist.payload as Payload).messages as Payload[])[0]!.content).toStartWith("turn-0 ")
  })

  test("compaction after a context-overflow error, then the same turn is retried", async () => {
    const sessionKey = `overflow-${kind}-${uid()}`
    fake.script([{ text: "first reply" }])
    await agentTwoStage(ops, { message: `early ${FILLER.repeat(12)}`, idempotencyKey: `overflow-1-${uid()}`, sessionKey })

    let mainCalls = 0
    fake.script((body) => {
      if (systemOf(kind, body).includes("## Goal")) return { text: `${SUMMARY_MARK}: the user wrote a long first message.` }
      // The silent pre-compaction memory flush: nothing worth keeping.
      if (systemOf(kind, body).includes("memory keeper")) return { text: "NO_REPLY" }
      return mainCalls++ === 0 ? overflowError(kind) : { text: "answered after compaction" }
    })
    const from = fake.mark()
    const runId = `overflow-2-${uid()}`
    const { final } = await agentTwoStage(ops, { message: `late ${FILLER.repeat(12)}`, idempotencyKey: runId, sessionKey })
    expect(final.payload).toMatchObject({ status: "ok", result: { payloads: [{ text: "answered after compaction" }] } })

    // The overflowing call, the memory flush, the summary, the retried call.
    const all = fake.since(from)
    expect(all.length).toBe(4)
    expect(systemOf(kind, all[1]!)).toContain("memory keeper")
    const reqs = all.filter((b) => !systemOf(kind, b).includes("memory keeper"))
    expect(reqs.length).toBe(3)
    expect(systemOf(kind, reqs[1])).toContain("## Goal")
    expect(userTexts(kind, reqs[1])[0]).toContain("[User]: early")
    expect(userTexts(kind, reqs[2])[0]).toStartWith(`Summary of the earlier conversation: ${SUMMARY_MARK}`)
    expect(userTexts(kind, reqs[2]).at(-1)).toStartWith("late ")
    expect(JSON.stringify(reqs[2].messages)).not.toContain("early ")
    expect(
      runEvents(ops, runId, "agent")
        .filter((e) => e.stream === "compaction")
        .map((e) => e.data.phase),
    ).toEqual(["start", "end"])
  })

  test("a mid-stream disconnect and a mid-stream error event are retried transparently", async () => {
    const runId = `disconnect-${kind}-${uid()}`
    fake.script([
      // OpenAI: role chunk + 2 text chunks; Anthropic: message_start, ping, block start + 1 text delta. Then the cut.
      { text: ["Broken ", "stream ", "text"], disconnectAfterChunks: kind === "openai" ? 3 : 4 },
      { text: ["Also ", "broken"], streamError: { message: "Overloaded", type: kind === "openai" ? "server_error" : "overloaded_error" } },
      { text: ["Recovered ", "answer"] },
    ])
    const from = fake.mark()
    const { final } = await agentTwoStage(ops, { message: "survive a flaky stream", idempotencyKey: runId }, 20_000)
    expect(final.ok).toBe(true)
    expect(final.payload).toMatchObject({ status: "ok", result: { payloads: [{ text: "Recovered answer", mediaUrl: null }] } })
    expect(fake.since(from).length).toBe(3)

    // Text streamed before a retry is replaced: the first delta after it says replace and restarts the snapshot.
    const assistant = runEvents(ops, runId, "agent").filter((e) => e.stream === "assistant")
    expect(assistant.at(-1)!.data.text).toBe("Recovered answer")
    const restart = assistant.findLast((e) => e.data.replace === true)
    expect(restart?.data.text).toBe("Recovered ")
    const chatFinal = runEvents(ops, runId, "chat").at(-1)!
    expect(chatFinal).toMatchObject({ state: "final", message: { content: [{ text: "Recovered answer" }] } })

    const got = await ops.request("sessions.get", { key: `agent:main:explicit:${runId}` })
    const msgs = (got.payload as Payload).messages as Payload[]
    expect(msgs.map((m) => m.role)).toEqual(["user", "assistant"])
    expect(msgs[1]!.content).toEqual([{ type: "text", text: "Recovered answer" }])
  })
})
