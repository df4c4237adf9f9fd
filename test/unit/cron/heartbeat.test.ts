/**
 * The heartbeat in process with a ManualClock: idle beats make no model call, a beat with something to do makes one
 * light call, acknowledgements stay quiet, the daily budget stops beats, and a wake for the next beat rides along.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { ManualClock } from "../../../src/cron/clock.ts"
import { FakeChannel } from "../../harness/fake-channel.ts"
import { fakeModel, type FakeModel } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"
import type { TestClient } from "../../harness/ws-client.ts"

const MIN = 60_000
let gw: InProcessGateway | undefined

afterEach(async () => {
  await gw?.stop()
  gw = undefined
})

async function start(model: FakeModel, heartbeat: Record<string, unknown> = {}, extra: Record<string, unknown> = {}, tg?: FakeChannel) {
  const clock = new ManualClock(Date.parse("2026-06-01T10:00:00Z"))
  gw = await startInProcess({
    clock,
    models: model,
    config: { agents: { defaults: { heartbeat: { every: "1m", ...heartbeat } } }, ...extra },
    ...(tg ? { channelAdapters: async () => tg } : {}),
  })
  const c = await gw.connect()
  return { clock, c, workspace: join(gw.home, "workspace") }
}

function writeHeartbeat(workspace: string, text: string) {
  writeFileSync(join(workspace, "HEARTBEAT.md"), text)
}

const beats = (c: TestClient) => c.events("heartbeat")

describe("heartbeat", () => {
  test("zero model calls over many beats with the bootstrap file, then a checklist-only file", async () => {
    const model = fakeModel(() => ({ text: "should never be called" }))
    const { clock, c, workspace } = await start(model)
    for (let i = 0; i < 60; i++) await clock.advance(MIN)
    writeHeartbeat(workspace, "# Heartbeat\n\n## Daily\n- [ ]\n- [ ] \n<!-- remember the plants -->\n")
    for (let i = 0; i < 60; i++) await clock.advance(MIN)
    expect(model.calls).toHaveLength(0)
    await c.waitFor(() => beats(c).length >= 120, 5000, "120 beats")
    expect(beats(c).every((b) => b.status === "skipped" && b.reason === "empty-heartbeat-file")).toBe(true)
    expect(await c.call("last-heartbeat", {})).toMatchObject({ status: "skipped", reason: "empty-heartbeat-file" })
    expect((await c.call("cron.status", {})).heartbeat).toMatchObject({ enabled: true, everyMs: MIN, tokensToday: 0 })
  })

  test("a beat with content makes one light call (no transcript), and HEARTBEAT_OK is not delivered", async () => {
    const tg = new FakeChannel("telegram")
    const model = fakeModel([{ text: "Hello there" }, { text: "HEARTBEAT_OK" }, { text: "The build is red: fix the lint step." }])
    const { clock, c, workspace } = await start(
      model,
      { target: "telegram", to: "4242" },
      { channels: { telegram: { botToken: "123456:TEST-TOKEN", dmPolicy: "open" } } },
      tg,
    )
    // History in the main session that a light beat must not carry.
    const sent = await c.call("chat.send", { sessionKey: "main", message: "remember my secret word: pineapple", idempotencyKey: "h1" })
    await c.chatEnd(sent.runId)
    writeHeartbeat(workspace, "# Heartbeat\n- [ ] check the build\n")
    await clock.advance(MIN)
    await c.waitFor(() => beats(c).some((b) => b.status === "ok-token"), 5000, "an acknowledged beat")
    expect(model.calls).toHaveLength(2)
    const beat = model.calls[1]!
    expect(beat.messages).toHaveLength(1)
    expect(beat.lastUser).toContain("check the build")
    expect(JSON.stringify(beat.messages)).not.toContain("pineapple")
    expect(tg.sent).toHaveLength(0)
    // The acknowledged beat left no rows in the main session's history.
    const history = JSON.stringify((await c.call("chat.history", { sessionKey: "main" })).messages)
    expect(history).toContain("pineapple")
    expect(history).not.toContain("HEARTBEAT_OK")
    expect(history).not.toContain("check the build")

    await clock.advance(MIN)
    await c.waitFor(() => beats(c).some((b) => b.status === "sent"), 5000, "a delivered beat")
    await tg.waitForSent(1)
    expect(tg.sent.map((s) => [s.target.to, s.text])).toEqual([["4242", "The build is red: fix the lint step."]])
    expect(model.calls[2]!.messages).toHaveLength(1)
    // A beat that said something stays in the history (the next chat turn knows what it told the owner).
    expect(JSON.stringify((await c.call("chat.history", { sessionKey: "main" })).messages)).toContain("The build is red")
    const last = await c.call("last-heartbeat", {})
    expect(last).toMatchObject({ status: "sent", channel: "telegram", to: "4242" })
    expect((await c.call("cron.status", {})).heartbeat.tokensToday).toBeGreaterThan(0)
  })

  test("the daily heartbeat budget stops beats", async () => {
    const model = fakeModel(() => ({ text: "HEARTBEAT_OK", usage: { input: 20, output: 10 } }))
    const { clock, c, workspace } = await start(model, { dailyTokenBudget: 50 })
    writeHeartbeat(workspace, "- check the mail\n")
    for (let i = 0; i < 10; i++) {
      await clock.advance(MIN)
      await c.waitFor(() => beats(c).length >= i + 1, 5000, `beat ${i + 1}`)
    }
    // 30 tokens a beat: two beats (60) reach the budget of 50, every later beat is skipped.
    expect(model.calls).toHaveLength(2)
    expect(
      beats(c)
        .slice(2)
        .every((b) => b.status === "skipped" && b.reason === "budget"),
    ).toBe(true)
    expect((await c.call("cron.status", {})).heartbeat).toMatchObject({ tokensToday: 60, dailyTokenBudget: 50 })
    // usage.status shows the heartbeat's share apart from the day's total.
    const usage = await c.call("usage.status", {})
    expect(usage.heartbeat).toMatchObject({ runs: 2, totalTokens: 60, dailyTokenBudget: 50 })
    expect(usage.today.totalTokens).toBeGreaterThanOrEqual(60)
  })

  test("a wake for the next heartbeat waits for the beat and is carried into it", async () => {
    const model = fakeModel(() => ({ text: "Reminder sent." }))
    const { clock, c } = await start(model)
    const wake = await c.call("wake", { mode: "next-heartbeat", text: "call mom at noon" })
    expect(wake.queued).toBe(true)
    await Bun.sleep(50)
    expect(model.calls).toHaveLength(0)
    await clock.advance(MIN)
    await c.waitFor(() => beats(c).some((b) => b.status === "sent"), 5000, "the beat carrying the wake")
    expect(model.calls).toHaveLength(1)
    expect(model.calls[0]!.lastUser).toContain("call mom at noon")
    const waited = await c.call("agent.wait", { runId: wake.runId, timeoutMs: 1000 })
    expect(waited.status).toBe("ok")
    // Carried once: the next beat has nothing to do again.
    await clock.advance(MIN)
    await c.waitFor(() => beats(c).length >= 2, 5000, "the second beat")
    expect(model.calls).toHaveLength(1)
  })

  test("set-heartbeats off stops beats; active hours skip beats outside the window", async () => {
    const model = fakeModel(() => ({ text: "HEARTBEAT_OK" }))
    // 10:00Z is 19:00 in Seoul: outside 08:00-18:00.
    const { clock, c, workspace } = await start(model, { activeHours: { start: "08:00", end: "18:00", timezone: "Asia/Seoul" } })
    writeHeartbeat(workspace, "- stretch\n")
    await clock.advance(MIN)
    await c.waitFor(() => beats(c).length >= 1, 5000)
    expect(beats(c)[0]).toMatchObject({ status: "skipped", reason: "quiet-hours" })
    expect(await c.call("set-heartbeats", { enabled: false })).toEqual({ ok: true, enabled: false })
    for (let i = 0; i < 5; i++) await clock.advance(MIN)
    expect(beats(c)).toHaveLength(1)
    expect((await c.call("cron.status", {})).heartbeat.enabled).toBe(false)
    expect(model.calls).toHaveLength(0)
  })
})

describe("what a beat is told", () => {
  test("the time of the last heartbeat turn, whether HEARTBEAT.md changed, and cron runs since then", async () => {
    const model = fakeModel(() => ({ text: "HEARTBEAT_OK" }))
    const { clock, c, workspace } = await start(model)
    writeHeartbeat(workspace, "- look at the cron results\n")
    await clock.advance(MIN)
    await c.waitFor(() => beats(c).length >= 1, 5000)
    expect(model.calls[0]!.lastUser).toContain("(first heartbeat turn)")
    const job = await c.call("cron.add", {
      name: "backup",
      schedule: { kind: "every", everyMs: 30_000 },
      payload: { kind: "agentTurn", message: "run the backup" },
    })
    await clock.advance(MIN)
    await c.waitFor(() => model.calls.length >= 3 && beats(c).length >= 2, 5000)
    const beat = model.calls.find((m, i) => i > 0 && m.lastUser.includes("This is a heartbeat"))!
    expect(beat.lastUser).toContain("last heartbeat turn: 2026-06-01T10:01:00.000Z")
    expect(beat.lastUser).toMatch(/HEARTBEAT.md (un)?changed since then/)
    expect(beat.lastUser).toContain("Cron jobs that ran since then:\n- backup: ok")
    await c.call("cron.remove", { id: job.id })
  })
})
