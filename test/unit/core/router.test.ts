/**
 * The router's contract, in process: idempotency (a conflicting reuse is refused and changes nothing; a retry after
 * a restart answers with the stored outcome), wake's key and next-heartbeat deferral, origin and delivery target
 * stored with the message and published when the run ends, and session keys resolved in one place.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { BusPayload } from "../../../src/bus/index.ts"
import { InboundAccepted, ReplyReady, RunFinished } from "../../../src/router/events.ts"
import { resolveSessionKey } from "../../../src/router/session-keys.ts"
import { fakeModel, type FakeModel } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"
import type { TestClient } from "../../harness/ws-client.ts"

const uid = () => crypto.randomUUID().slice(0, 8)

describe("session keys are resolved in one place", () => {
  test("every door's spec maps to an OpenClaw key", () => {
    expect(resolveSessionKey({ kind: "key", key: "main" })).toBe("agent:main:main")
    expect(resolveSessionKey({ kind: "key", key: "work", agentId: "ops" })).toBe("agent:ops:work")
    expect(resolveSessionKey({ kind: "key", key: "agent:x:y" })).toBe("agent:x:y")
    expect(resolveSessionKey({ kind: "main", agentId: "ops" })).toBe("agent:ops:main")
    expect(resolveSessionKey({ kind: "explicit", id: "k1" })).toBe("agent:main:explicit:k1")
    expect(resolveSessionKey({ kind: "openai", user: "u7" })).toBe("agent:main:openai:u7")
    expect(resolveSessionKey({ kind: "subagent" })).toMatch(/^agent:main:subagent:[0-9a-f-]{36}$/)
    expect(resolveSessionKey({ kind: "channel", channel: "telegram", chatType: "direct", peerId: "42" })).toBe("agent:main:telegram:dm:42")
    expect(resolveSessionKey({ kind: "channel", channel: "discord", accountId: "bot1", chatType: "group", peerId: "g:9", threadId: "t1" })).toBe(
      "agent:main:discord:bot1:group:g_9:thread:t1",
    )
  })
})

describe("idempotency", () => {
  let gw: InProcessGateway
  let model: FakeModel
  let c: TestClient

  beforeAll(async () => {
    model = fakeModel((req) => ({ text: `re: ${req.lastUser}` }))
    gw = await startInProcess({ models: model })
    c = await gw.connect()
  })
  afterAll(() => gw?.stop())

  test("a key reused for a different message or session is refused, naming the conflict, and stores nothing", async () => {
    const key = `dup-${uid()}`
    const sessionKey = `idem-${uid()}`
    expect(await c.call("chat.send", { sessionKey, message: "first", idempotencyKey: key })).toEqual({ runId: key, status: "started" })
    const other = await c.request("chat.send", { sessionKey, message: "second", idempotencyKey: key })
    expect(other.ok).toBe(false)
    expect(other.error).toMatchObject({ code: "INVALID_REQUEST", details: { code: "IDEMPOTENCY_CONFLICT", fields: ["message"] } })
    expect(other.error?.message).toContain(key)
    const elsewhere = await c.request("chat.send", { sessionKey: `${sessionKey}-b`, message: "first", idempotencyKey: key })
    expect(elsewhere.error).toMatchObject({ details: { code: "IDEMPOTENCY_CONFLICT", fields: ["session"] } })
    expect(await c.call("agent.wait", { runId: key, timeoutMs: 3000 })).toMatchObject({ status: "ok" })
    const h = await c.call("chat.history", { sessionKey })
    expect(h.messages.filter((m: { role: string }) => m.role === "user").map((m: { content: string }) => m.content)).toEqual(["first"])
    expect((await c.call("chat.history", { sessionKey: `${sessionKey}-b` })).messages).toEqual([])
  })

  test("the same send again is answered with what became of it, not run twice", async () => {
    const key = `again-${uid()}`
    const sessionKey = `idem-${uid()}`
    const before = model.calls.length
    await c.call("chat.send", { sessionKey, message: "once", idempotencyKey: key })
    await c.call("agent.wait", { runId: key, timeoutMs: 3000 })
    expect(await c.call("chat.send", { sessionKey, message: "once", idempotencyKey: key })).toEqual({ runId: key, status: "ok" })
    expect(model.calls.length).toBe(before + 1)
  })

  test("wake takes an idempotency key: a retried wake starts one run", async () => {
    const key = `wake-${uid()}`
    const sessionKey = `wake-${uid()}`
    const before = model.calls.length
    const first = await c.call("wake", { text: "check the build", sessionKey, idempotencyKey: key })
    const again = await c.call("wake", { text: "check the build", sessionKey, idempotencyKey: key })
    expect(first).toMatchObject({ ok: true, runId: key, mode: "now", queued: false })
    expect(again).toMatchObject({ ok: true, runId: key, duplicate: true })
    expect(await c.call("agent.wait", { runId: key, timeoutMs: 3000 })).toMatchObject({ status: "ok" })
    expect(model.calls.length).toBe(before + 1)
  })

  test("wake with mode next-heartbeat is stored for the next beat, not run now", async () => {
    const key = `beat-${uid()}`
    const sessionKey = `beat-${uid()}`
    const before = model.calls.length
    const res = await c.call("wake", { text: "later", mode: "next-heartbeat", sessionKey, idempotencyKey: key })
    expect(res).toMatchObject({ ok: true, runId: key, mode: "next-heartbeat", queued: true })
    await Bun.sleep(100)
    expect(model.calls.length).toBe(before)
    expect(await c.call("agent.wait", { runId: key, timeoutMs: 50 })).toEqual({ runId: key, status: "timeout" })
    expect((await c.call("chat.history", { sessionKey })).messages).toEqual([])
  })
})

describe("after a restart", () => {
  test("a retried chat.send and agent answer with the stored final state", async () => {
    const home = mkdtempSync(join(tmpdir(), "gw-router-restart-"))
    try {
      const first = await startInProcess({ home, models: fakeModel([{ text: "stored answer" }]) })
      const c1 = await first.connect()
      const key = `persist-${uid()}`
      await c1.call("chat.send", { sessionKey: "restart", message: "remember me", idempotencyKey: key })
      expect(await c1.call("agent.wait", { runId: key, timeoutMs: 3000 })).toMatchObject({ status: "ok" })
      await first.stop()

      const model = fakeModel()
      const second = await startInProcess({ home, models: model })
      try {
        const c2 = await second.connect()
        expect(await c2.call("chat.send", { sessionKey: "restart", message: "remember me", idempotencyKey: key })).toEqual({ runId: key, status: "ok" })
        // Already finished: no interim `accepted`, the one reply is the stored final.
        const agent = await c2.request("agent", { sessionKey: "restart", message: "remember me", idempotencyKey: key })
        expect(agent.payload).toMatchObject({ runId: key, status: "ok", result: { payloads: [{ text: "stored answer" }] } })
        expect(model.calls.length).toBe(0)
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})

describe("origin and delivery target", () => {
  let gw: InProcessGateway
  let c: TestClient

  beforeAll(async () => {
    gw = await startInProcess({ models: fakeModel((req) => ({ text: `answer to ${req.lastUser}` })) })
    c = await gw.connect()
  })
  afterAll(() => gw?.stop())

  test("stored with the message and published with the finished run: the connection, or a channel peer on request", async () => {
    const bus = gw.gateway.services.bus
    const accepted: BusPayload<typeof InboundAccepted>[] = []
    const finished: BusPayload<typeof RunFinished>[] = []
    const replies: BusPayload<typeof ReplyReady>[] = []
    bus.subscribe(InboundAccepted, (p) => accepted.push(p))
    bus.subscribe(RunFinished, (p) => finished.push(p))
    bus.subscribe(ReplyReady, (p) => replies.push(p))

    const [plain, routed] = [`plain-${uid()}`, `routed-${uid()}`]
    await c.call("chat.send", { sessionKey: "deliver", message: "to me", idempotencyKey: plain })
    await c.call("agent.wait", { runId: plain, timeoutMs: 3000 })
    await c.call("chat.send", {
      sessionKey: "deliver",
      message: "to telegram",
      idempotencyKey: routed,
      deliver: true,
      channel: "telegram",
      to: "123456",
      threadId: 7,
    })
    await c.call("agent.wait", { runId: routed, timeoutMs: 3000 })

    const a = accepted.find((x) => x.runId === plain)!
    expect(a.origin).toMatchObject({ door: "ws.chat.send", connId: expect.any(String) })
    expect(a.delivery).toEqual({ kind: "connection", connId: a.origin.connId! })
    expect(finished.find((x) => x.runId === routed)).toMatchObject({
      status: "ok",
      text: "answer to to telegram",
      deliveries: [{ kind: "channel", channel: "telegram", to: "123456", threadId: "7" }],
      inputIds: [routed],
    })
    expect(replies.filter((r) => r.runId === routed)).toEqual([
      {
        runId: routed,
        sessionKey: "agent:main:deliver",
        text: "answer to to telegram",
        target: { kind: "channel", channel: "telegram", to: "123456", threadId: "7" },
      },
    ])
  })
})

describe("a door used from a run-end subscriber", () => {
  test("a message accepted while a run is being recorded as ended runs next (it is not steered into the ended run)", async () => {
    const gw = await startInProcess({ models: fakeModel((req) => ({ text: `answer to ${req.lastUser}` })) })
    try {
      const c = await gw.connect()
      const { bus, router } = gw.gateway.services
      const sessionKey = "agent:main:listener"
      const first = `first-${uid()}`
      const followUp = `follow-${uid()}`
      await c.call("chat.send", { sessionKey, message: "warm up", idempotencyKey: `warm-${uid()}` })
      await c.call("sessions.patch", { key: sessionKey, queueMode: "steer" })
      const off = bus.subscribe(RunFinished, (p) => {
        if (p.runId !== first) return
        off()
        router.accept({ origin: { door: "cron" }, session: { kind: "key", key: sessionKey }, message: "from the listener", idempotencyKey: followUp })
      })
      await c.call("chat.send", { sessionKey, message: "start", idempotencyKey: first })
      expect(await c.call("agent.wait", { runId: followUp, timeoutMs: 3000 })).toMatchObject({
        status: "ok",
        terminalReply: { text: "answer to from the listener" },
      })
    } finally {
      await gw.stop()
    }
  })
})
