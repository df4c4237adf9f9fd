/**
 * Agent runs when things go wrong, against the compiled binary and in-process fake model servers: failover from a
 * failing provider to a fallback on the other wire format, a missing API key, and a gateway killed with SIGKILL in
 * the middle of a run and restarted on the same state directory.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  KINDS,
  agentTwoStage,
  expectValidTranscript,
  providerFor,
  runEvents,
  scriptedFake,
  sendAgent,
  toolCallIndex,
  toolResultsOf,
  uid,
  userTexts,
  waitEvent,
  type Payload,
  type ScriptedFake,
} from "./agent-helpers.ts"
import { E2E_TOKEN, connected, startBinary, type GatewayProcess, type RawSocket } from "./harness.ts"

const OPS = { scopes: ["operator.read", "operator.write", "operator.admin"], caps: ["tool-events"] }

describe.each(KINDS)("provider failover from a failing %s provider", (kind) => {
  const other = kind === "openai" ? "anthropic" : "openai"
  let primary: ScriptedFake
  let backup: ScriptedFake
  let gw: GatewayProcess
  let ops: RawSocket

  beforeAll(async () => {
    primary = scriptedFake(kind)
    backup = scriptedFake(other)
    // The primary fails by the status named in the message; the backup answers unless told to fail too.
    primary.script((body) => ({ error: { status: Number(/\[(\d{3})\]/.exec(userTexts(kind, body).at(-1)!)![1]) } }))
    backup.script((body) => (userTexts(other, body).at(-1)!.includes("[all]") ? { error: { status: 500 } } : { text: ["Backup ", "answer"] }))
    gw = await startBinary({
      args: ["--token", E2E_TOKEN],
      config: {
        models: { default: "primary/fake-model", fallbacks: ["backup/fake-model"], providers: { primary: providerFor(primary), backup: providerFor(backup) } },
      },
    })
    ops = (await connected(gw.url, OPS)).sock
  })

  afterAll(async () => {
    ops?.close()
    await gw?.stop()
    await Promise.all([primary?.server.stop(), backup?.server.stop()])
  })

  test("retryable errors are retried, then the fallback model answers; auth errors fail over at once; all failing is an error", async () => {
    const statuses = kind === "openai" ? [500, 429, 401] : [529, 429, 401]
    const runs = statuses.map((s) => ({ status: s, key: `failover-${s}-${uid()}`, message: `please answer [${s}]` }))
    const allFail = { key: `failover-all-${uid()}`, message: "nobody can answer [all] [503]" }
    const [r1, r2, r3, r4] = await Promise.all([...runs, allFail].map((r) => agentTwoStage(ops, { message: r.message, idempotencyKey: r.key }, 20_000)))

    for (const [i, res] of [r1!, r2!, r3!].entries()) {
      const run = runs[i]!
      expect(res.final.ok).toBe(true)
      const p = res.final.payload as Payload
      expect(p).toMatchObject({ runId: run.key, status: "ok", result: { payloads: [{ text: "Backup answer" }] } })
      expect(p.result.meta.agentMeta).toMatchObject({ provider: "backup", model: "fake-model" })
      // Retryable: the first try plus one retry per backoff step (250 ms, 1 s, 3 s) on the primary; auth: no retry
      // against the same key.
      const tries = primary.server.requests.filter((b) => userTexts(kind, b).at(-1) === run.message).length
      expect(tries).toBe(run.status === 401 ? 1 : 4)
      expect(backup.server.requests.filter((b) => userTexts(other, b).at(-1) === run.message).length).toBe(1)
      const models = runEvents(ops, run.key, "agent")
        .filter((e) => e.stream === "lifecycle" && e.data.phase === "model")
        .map((e) => e.data.provider)
      expect(models[0]).toBe("primary")
      expect(models.at(-1)).toBe("backup")
    }

    // Every candidate failed: an error final res, a lifecycle error and a chat error event.
    expect(r4!.final.ok).toBe(false)
    expect(r4!.final.error).toMatchObject({ code: "UNAVAILABLE" })
    expect((r4!.final.error as Payload).message).toContain("backup/fake-model")
    expect(runEvents(ops, allFail.key, "agent").at(-1)).toMatchObject({ stream: "lifecycle", data: { phase: "error" } })
    expect(runEvents(ops, allFail.key, "chat").at(-1)).toMatchObject({ state: "error" })
  }, 30_000)
})

describe("a missing API key", () => {
  let gw: GatewayProcess
  let ops: RawSocket

  beforeAll(async () => {
    // The harness hands the binary a clean environment: no ANTHROPIC_API_KEY, no OPENAI_API_KEY.
    gw = await startBinary({ args: ["--token", E2E_TOKEN], config: { models: { default: "anthropic/claude-sonnet-4-5" } } })
    ops = (await connected(gw.url, OPS)).sock
  })

  afterAll(async () => {
    ops?.close()
    await gw?.stop()
  })

  test("the run ends with a clear error naming the variable, and the gateway keeps serving", async () => {
    const key = `nokey-${uid()}`
    const { accepted, final } = await agentTwoStage(ops, { message: "hello?", idempotencyKey: key })
    expect(accepted.payload).toMatchObject({ runId: key, status: "accepted" })
    expect(final.ok).toBe(false)
    expect(final.error).toMatchObject({ code: "UNAVAILABLE" })
    expect((final.error as Payload).message).toContain("ANTHROPIC_API_KEY")
    expect((final.error as Payload).details).toMatchObject({ runId: key, status: "error", errorKind: "auth" })

    const lifecycle = runEvents(ops, key, "agent").filter((e) => e.stream === "lifecycle")
    expect(lifecycle.map((e) => e.data.phase)).toEqual(["start", "error"])
    expect(lifecycle[1]!.data.error).toContain("ANTHROPIC_API_KEY")
    const chatErr = runEvents(ops, key, "chat").at(-1)!
    expect(chatErr).toMatchObject({ state: "error", errorKind: "unknown" })
    expect(chatErr.errorMessage).toContain("ANTHROPIC_API_KEY")

    const waited = await ops.request("agent.wait", { runId: key, timeoutMs: 1000 })
    expect(waited.payload).toMatchObject({ runId: key, status: "error" })
    expect((waited.payload as Payload).error).toContain("ANTHROPIC_API_KEY")

    // Through chat.send, and with an OpenAI model override: same clarity.
    const runId = `nokey-chat-${uid()}`
    expect((await ops.request("chat.send", { sessionKey: "nokey", message: "hi", idempotencyKey: runId })).payload).toEqual({ runId, status: "started" })
    const err = await waitEvent(ops, "chat", (c) => c.runId === runId && c.state === "error")
    expect(err.errorMessage).toContain("ANTHROPIC_API_KEY")
    const oa = await agentTwoStage(ops, { message: "hi", idempotencyKey: `nokey-oa-${uid()}`, model: "openai/gpt-4o-mini" })
    expect((oa.final.error as Payload).message).toContain("OPENAI_API_KEY")

    expect(gw.proc.exitCode).toBeNull()
    const health = await ops.request("health")
    expect(health.ok).toBe(true)
    expect(ops.closeEvent).toBeUndefined()
  })
})

describe("crash safety", () => {
  let fake: ScriptedFake
  let home: string
  let gw: GatewayProcess | undefined

  beforeAll(() => {
    fake = scriptedFake("openai")
    home = mkdtempSync(join(tmpdir(), "gw-e2e-crash-"))
  })

  afterAll(async () => {
    await gw?.stop()
    await fake?.server.stop()
    rmSync(home, { recursive: true, force: true })
  })

  test("SIGKILL mid-run: after a restart the run resumes from its persisted steps and the queued message runs", async () => {
    const config = { models: { default: "fake/fake-model", providers: { fake: providerFor(fake) } } }
    gw = await startBinary({ home, args: ["--token", E2E_TOKEN], config })
    const ops = (await connected(gw.url, OPS)).sock
    const sessionKey = "crashy"
    const runId = `crash-${uid()}`
    const call = `call_write_${uid()}`
    fake.script([
      { toolCalls: [{ id: call, name: "write", args: { path: "before-crash.txt", content: "saved\n" } }] },
      { text: ["Half an ", "answer"], hangUntilAborted: true },
    ])
    sendAgent(ops, { message: "write a file, then crash", idempotencyKey: runId, sessionKey })
    await waitEvent(ops, "agent", (e) => e.runId === runId && e.stream === "assistant" && e.data.text === "Half an answer")
    // A second message waits in the session's lane: acknowledged, so it must survive the crash.
    const queued = `queued-${uid()}`
    expect((await ops.request("chat.send", { sessionKey, message: "queued behind", idempotencyKey: queued })).payload).toEqual({
      runId: queued,
      status: "started",
    })

    gw.proc.kill("SIGKILL")
    expect(await gw.proc.exited).not.toBe(0)
    ops.close()

    const from = fake.mark()
    fake.script((body) => ({ text: userTexts("openai", body).at(-1) === "queued behind" ? "answer to the queued message" : "finished after the restart" }))
    gw = await startBinary({ home, args: ["--token", E2E_TOKEN], config })
    const ops2 = (await connected(gw.url, OPS)).sock
    // The cut-off run is resumed: its finished tool step is kept, only the killed model call is made again.
    const waited = await ops2.request("agent.wait", { runId, timeoutMs: 5000 })
    expect(waited.payload).toMatchObject({ runId, status: "ok", terminalReply: { text: "finished after the restart" } })
    const queuedDone = await ops2.request("agent.wait", { runId: queued, timeoutMs: 5000 })
    expect(queuedDone.payload).toMatchObject({ runId: queued, status: "ok", terminalReply: { text: "answer to the queued message" } })

    const got = await ops2.request("sessions.get", { key: sessionKey })
    const msgs = (got.payload as Payload).messages as Payload[]
    expect(msgs[0]).toMatchObject({ role: "user", content: "write a file, then crash", runId })
    // The half-streamed text of the killed step was never stored; each message is in the transcript once.
    expect(msgs.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant", "user", "assistant"])
    expect(msgs[3]).toMatchObject({ role: "assistant", runId })
    expect(msgs[4]).toMatchObject({ content: "queued behind", runId: queued })
    expectValidTranscript(msgs)

    // Retrying the key answers with the stored result and does not start the run again.
    const retry = await agentTwoStage(ops2, { message: "write a file, then crash", idempotencyKey: runId, sessionKey })
    expect(retry.final.ok).toBe(true)
    expect((retry.final.payload as Payload).result.payloads[0].text).toBe("finished after the restart")
    const reqs = fake.since(from)
    expect(reqs.length).toBe(2)
    expect(userTexts("openai", reqs[0])).toEqual(["write a file, then crash"])
    expect(userTexts("openai", reqs[1])).toEqual(["write a file, then crash", "queued behind"])
    for (const req of reqs) {
      const results = toolResultsOf("openai", req)
      expect(results.map((r) => r.id)).toEqual([call])
      expect(toolCallIndex("openai", req, call)).toBeLessThan(results[0]!.index)
    }
    ops2.close()
  })
})
