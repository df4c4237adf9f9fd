/**
 * Run-loop defects, each pinned by a test that failed before its fix: a stalled model held its lane and run slot
 * until the run timed out; retry-after was ignored and the last backoff step was unreachable; the global cap could be
 * exceeded by one; timeouts of 2^31 ms or more fired at once; the OpenAI-compatible stream repeated text after a
 * model retry.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Semaphore } from "../../../src/agent/lanes.ts"
import { OpenAiDeltas } from "../../../src/server/openai-delta.ts"
import { MAX_TIMER_MS, timerDelay } from "../../../src/util/timers.ts"
import { fakeModel, type FakeModel } from "../../harness/fake-model.ts"
import { INPROC_TOKEN, startInProcess, type InProcessGateway } from "../../harness/inproc.ts"
import type { TestClient } from "../../harness/ws-client.ts"

const uid = () => crypto.randomUUID().slice(0, 8)

describe("the global run cap", () => {
  test("a slot freed by a release goes to the waiter, not to an acquire made in between", async () => {
    const sem = new Semaphore(() => 1)
    const order: string[] = []
    const releaseA = await sem.acquire()
    const b = sem.acquire().then((r) => (order.push("b"), r))
    await Bun.sleep(1)
    releaseA()
    // Synchronously after the release, before b has woken up: the old semaphore let this one in too.
    const c = sem.acquire().then((r) => (order.push("c"), r))
    expect(sem.inUse).toBe(1)
    const releaseB = await b
    expect(sem.inUse).toBe(1)
    releaseB()
    ;(await c)()
    expect(order).toEqual(["b", "c"])
    expect(sem.inUse).toBe(0)
  })

  test("raising the limit lets waiters in at once; an aborted waiter gives its place up", async () => {
    let limit = 1
    const sem = new Semaphore(() => limit)
    const r1 = await sem.acquire()
    const ac = new AbortController()
    const aborted = sem.acquire(ac.signal)
    const w = sem.acquire()
    ac.abort()
    await expect(aborted).rejects.toThrow("aborted")
    limit = 2
    r1()
    ;(await w)()
    expect(sem.inUse).toBe(0)
  })
})

describe("timers", () => {
  test("delays of 2^31 ms and more are capped instead of firing at once", () => {
    expect(timerDelay(2 ** 31)).toBe(MAX_TIMER_MS)
    expect(timerDelay(Number.POSITIVE_INFINITY)).toBe(MAX_TIMER_MS)
    expect(timerDelay(-5)).toBe(0)
    expect(timerDelay(1500)).toBe(1500)
  })
})

describe("OpenAI stream pieces after a model retry", () => {
  const run = (events: { text: string; delta: string; replace?: boolean }[]) => {
    const d = new OpenAiDeltas()
    return events.map((e) => d.push(e)).join("")
  }

  test("a retry that repeats the text sends only what is new", () => {
    expect(
      run([
        { text: "Hel", delta: "Hel" },
        { text: "H", delta: "H", replace: true },
        { text: "Hello", delta: "ello" },
        { text: "Hello world", delta: " world" },
      ]),
    ).toBe("Hello world")
  })

  test("a retry that says something else follows after a blank line instead of being glued on", () => {
    expect(
      run([
        { text: "Hi th", delta: "Hi th" },
        { text: "Good", delta: "Good", replace: true },
        { text: "Good day", delta: " day" },
      ]),
    ).toBe("Hi th\n\nGood day")
  })

  test("a new step's text is not mistaken for a retry", () => {
    expect(
      run([
        { text: "Let me look.", delta: "Let me look." },
        { text: "Done", delta: "Done" },
        { text: "Done.", delta: "." },
      ]),
    ).toBe("Let me look.Done.")
  })
})

describe("the run loop in process", () => {
  let gw: InProcessGateway
  let model: FakeModel
  let c: TestClient

  beforeAll(async () => {
    model = fakeModel()
    gw = await startInProcess({
      models: model,
      config: {
        agents: { defaults: { modelIdleSeconds: 1, maxConcurrent: 1, timeoutSeconds: 60 } },
        http: { chatCompletions: { enabled: true } },
        tools: { exec: { mode: "full" } },
      },
    })
    c = await gw.connect()
  })
  afterAll(() => gw?.stop())

  test("a model that goes quiet is cut off after modelIdleSeconds and retried; the slot is free for others", async () => {
    const sessionKey = `idle-${uid()}`
    const other = `idle-other-${uid()}`
    model.script([{ text: ["Thinking", " more"], stall: { afterChunks: 1 } }, { text: "recovered" }, { text: "other session answered" }])
    const first = model.calls.length
    const [a, b] = [`stall-${uid()}`, `next-${uid()}`]
    const started = Date.now()
    await c.call("chat.send", { sessionKey, message: "go", idempotencyKey: a })
    await c.call("chat.send", { sessionKey: other, message: "me too", idempotencyKey: b })
    expect(await c.call("agent.wait", { runId: a, timeoutMs: 8000 })).toMatchObject({ status: "ok", terminalReply: { text: "recovered" } })
    expect(await c.call("agent.wait", { runId: b, timeoutMs: 8000 })).toMatchObject({ status: "ok", terminalReply: { text: "other session answered" } })
    // With maxConcurrent 1 the other session could only run once the stalled call let go: well before the 60 s run timeout.
    expect(Date.now() - started).toBeLessThan(8000)
    expect(model.calls[first]!.outcome).toBe("aborted")
    expect(model.calls.length - first).toBe(3)
  }, 15_000)

  test("retry-after from the provider is honoured, and every backoff step is used before giving up", async () => {
    const sessionKey = `retry-${uid()}`
    const fail = (retryAfterMs?: number) => ({
      error: { kind: "rate_limit", retryable: true, message: "slow down", status: 429, ...(retryAfterMs ? { retryAfterMs } : {}) },
    })
    model.script([fail(700), fail(), fail(), { text: "finally" }])
    const first = model.calls.length
    const runId = `ra-${uid()}`
    await c.call("chat.send", { sessionKey, message: "please", idempotencyKey: runId })
    expect(await c.call("agent.wait", { runId, timeoutMs: 12_000 }, 13_000)).toMatchObject({ status: "ok", terminalReply: { text: "finally" } })
    const at = model.calls.slice(first).map((x) => x.startedAt)
    expect(at.length).toBe(4)
    // retry-after 700 ms beats the first backoff step (250 ms); then 1 s and 3 s.
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(690)
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(990)
    expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(2990)
  }, 15_000)

  test("timeouts of 2^31 ms or more are capped, not fired at once", async () => {
    const sessionKey = `big-${uid()}`
    model.script([
      { text: "slow but fine", delayMs: 150 },
      { text: "agent fine", delayMs: 150 },
    ])
    const runId = `big-${uid()}`
    await c.call("chat.send", { sessionKey, message: "take your time", idempotencyKey: runId, timeoutMs: 2 ** 31 + 5 })
    expect(await c.call("agent.wait", { runId, timeoutMs: 5000 })).toMatchObject({ status: "ok", terminalReply: { text: "slow but fine" } })
    const agent = await c.twoStage("agent", { sessionKey, message: "again", idempotencyKey: `big-agent-${uid()}`, timeout: 2 ** 31 / 1000 + 1 })
    expect(agent.final.payload).toMatchObject({ status: "ok", result: { payloads: [{ text: "agent fine" }] } })
    const bash = await c.call("exec.bash", { command: "echo capped", timeoutMs: 2 ** 31 + 10 })
    expect(bash).toMatchObject({ stdout: "capped\n", exitCode: 0 })
  })

  test("the OpenAI-compatible stream does not repeat text after a model retry", async () => {
    model.script([{ text: ["Hel"], error: { kind: "network", retryable: true, message: "connection reset" } }, { text: ["Hel", "lo ", "world"] }])
    const res = await gw.gateway.app.request("/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${INPROC_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gateway", stream: true, messages: [{ role: "user", content: "greet" }] }),
    })
    expect(res.status).toBe(200)
    const body = await res.text()
    const content = body
      .split("\n")
      .filter((l) => l.startsWith("data: {"))
      .map((l) => JSON.parse(l.slice(6)) as { choices: { delta: { content?: string } }[] })
      .map((chunk) => chunk.choices[0]?.delta.content ?? "")
      .join("")
    expect(content).toBe("Hello world")
  })
})

describe("how runs end", () => {
  test("a run that cannot resolve any model fails with the reason and leaves no unanswered message in the transcript", async () => {
    const gw = await startInProcess({ models: fakeModel([], { handles: { "fake/fake-model": new Error("OPENAI_API_KEY is not set") } }) })
    try {
      const c = await gw.connect()
      const runId = `nokey-${uid()}`
      await c.call("chat.send", { sessionKey: "nokey", message: "hello?", idempotencyKey: runId })
      const end = await c.chatEnd(runId)
      expect(end).toMatchObject({ state: "error", errorMessage: "OPENAI_API_KEY is not set" })
      expect(await c.call("agent.wait", { runId, timeoutMs: 1000 })).toMatchObject({ status: "error", error: "OPENAI_API_KEY is not set" })
      expect((await c.call("chat.history", { sessionKey: "nokey" })).messages).toEqual([])
    } finally {
      await gw.stop()
    }
  })

  test("a timeout is an error event of kind timeout that says after how long", async () => {
    const gw = await startInProcess({ models: fakeModel([{ text: ["slow"], hang: true }]) })
    try {
      const c = await gw.connect()
      const runId = `slow-${uid()}`
      await c.call("chat.send", { sessionKey: "slow", message: "take forever", idempotencyKey: runId, timeoutMs: 1000 })
      const end = await c.chatEnd(runId, 5000)
      expect(end).toMatchObject({ state: "error", errorKind: "timeout" })
      expect(end.errorMessage).toContain("timed out after 1 s")
      expect(await c.call("agent.wait", { runId, timeoutMs: 1000 })).toMatchObject({ status: "timeout" })
    } finally {
      await gw.stop()
    }
  })

  test("a run cut off by shutdown says the gateway was shutting down", async () => {
    const home = mkdtempSync(join(tmpdir(), "gw-shutdown-"))
    try {
      const first = await startInProcess({ home, models: fakeModel([{ text: ["partial"], hang: true }]) })
      const c = await first.connect()
      const runId = `cut-${uid()}`
      await c.call("chat.send", { sessionKey: "cut", message: "long job", idempotencyKey: runId })
      await c.event("chat", (p) => p.runId === runId && p.state === "delta")
      await first.stop()
      const second = await startInProcess({ home, models: fakeModel() })
      try {
        const c2 = await second.connect()
        expect(await c2.call("agent.wait", { runId, timeoutMs: 1000 })).toMatchObject({ status: "aborted", error: "aborted: the gateway was shutting down" })
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
