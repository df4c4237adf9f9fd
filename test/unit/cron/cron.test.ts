/**
 * Cron against the whole gateway in process, with a ManualClock: jobs are added and inspected over the WebSocket
 * methods, time is moved by the test, and runs go through the router to the (fake) model.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ManualClock } from "../../../src/cron/clock.ts"
import { DEFAULT_USER, startFakeTelegram, type FakeTelegram } from "../../fakes/telegram.ts"
import { fakeModel, gate, type FakeModel } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"
import type { TestClient } from "../../harness/ws-client.ts"

const MIN = 60_000
const HOUR = 60 * MIN

let gws: InProcessGateway[] = []
const homes: string[] = []
let tg: FakeTelegram | undefined

afterEach(async () => {
  for (const g of gws.splice(0)) await g.stop()
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  await tg?.stop()
  tg = undefined
})

async function start(opts: {
  clock: ManualClock
  models: FakeModel
  home?: string
  config?: Record<string, unknown>
}): Promise<{ gw: InProcessGateway; c: TestClient }> {
  const gw = await startInProcess({
    clock: opts.clock,
    models: opts.models,
    home: opts.home,
    // Heartbeats off: these tests count model calls.
    config: { agents: { defaults: { heartbeat: { every: "0m" } } }, ...opts.config },
  })
  gws.push(gw)
  return { gw, c: await gw.connect() }
}

async function stop(gw: InProcessGateway): Promise<void> {
  gws = gws.filter((g) => g !== gw)
  await gw.stop()
}

function ownHome(): string {
  const h = mkdtempSync(join(tmpdir(), "gw-cron-"))
  homes.push(h)
  return h
}

const finished = (c: TestClient, jobId: string, n = 1, timeoutMs = 5000) =>
  c.waitFor(() => c.events("cron").filter((e) => e.jobId === jobId && e.action === "finished").length >= n, timeoutMs, `${n} finished run(s) of ${jobId}`)

const turn = (message: string, extra: Record<string, unknown> = {}) => ({ kind: "agentTurn", message, ...extra })

describe("cron", () => {
  test("an every job runs on its schedule in cron:<jobId>, with history and events", async () => {
    const clock = new ManualClock(Date.parse("2026-03-07T12:00:00Z"))
    const model = fakeModel(() => ({ text: "build is green" }))
    const { c } = await start({ clock, models: model })
    const job = await c.call("cron.add", { name: "ping", schedule: { kind: "every", everyMs: 10 * MIN }, payload: turn("check the build") })
    expect(job.sessionTarget).toBe("isolated")
    const t0 = clock.now()
    expect(job.state.nextRunAtMs).toBe(t0 + 10 * MIN)
    await clock.advance(10 * MIN)
    await finished(c, job.id)
    await clock.advance(10 * MIN)
    await finished(c, job.id, 2)
    expect(model.calls.length).toBe(2)
    expect(model.calls[0]!.lastUser).toContain("check the build")
    // The second run does not carry the first one: each run sees only its own message.
    expect(model.calls[1]!.messages).toHaveLength(1)
    const { entries } = await c.call("cron.runs", { id: job.id })
    expect(entries.map((e: any) => [e.status, e.runAtMs - t0])).toEqual([
      ["ok", 20 * MIN],
      ["ok", 10 * MIN],
    ])
    expect(entries[0].summary).toBe("build is green")
    const session = await c.call("sessions.get", { key: `cron:${job.id}` }).catch(() => undefined)
    if (session) expect(JSON.stringify(session)).toContain(`cron:${job.id}`)
    const events = c
      .events("cron")
      .filter((e) => e.jobId === job.id)
      .map((e) => e.action)
    expect(events.slice(0, 3)).toEqual(["added", "started", "finished"])
    const listed = await c.call("cron.list", {})
    expect(listed.jobs[0].state.lastStatus).toBe("ok")
    expect(listed.jobs[0].nextRunAtMs).toBe(clock.now() + 10 * MIN)
  })

  test("DST: 30 2 * * * in America/New_York runs at 03:00 EDT on spring-forward day and at 02:30 after", async () => {
    const clock = new ManualClock(Date.parse("2026-03-07T12:00:00Z"))
    const model = fakeModel(() => ({ text: "ok" }))
    const { c } = await start({ clock, models: model })
    const job = await c.call("cron.add", {
      name: "nightly",
      schedule: { kind: "cron", expr: "30 2 * * *", tz: "America/New_York" },
      payload: turn("nightly"),
    })
    for (let i = 0; i < 3; i++) {
      await clock.advance(24 * HOUR)
      await finished(c, job.id, i + 1)
    }
    const { entries } = await c.call("cron.runs", { id: job.id })
    expect(entries.map((e: any) => new Date(e.runAtMs).toISOString()).reverse()).toEqual([
      "2026-03-08T07:00:00.000Z",
      "2026-03-09T06:30:00.000Z",
      "2026-03-10T06:30:00.000Z",
    ])
  })

  test("a job whose run fails records the error and keeps its schedule", async () => {
    const clock = new ManualClock(Date.parse("2026-06-01T00:00:00Z"))
    const model = fakeModel([{ error: { kind: "unknown", retryable: false, message: "provider exploded" } }, { text: "fine again" }])
    const { c } = await start({ clock, models: model })
    const job = await c.call("cron.add", { name: "flaky", schedule: { kind: "every", everyMs: HOUR }, payload: turn("go") })
    await clock.advance(HOUR)
    await finished(c, job.id)
    let [entry] = (await c.call("cron.runs", { id: job.id })).entries
    expect(entry.status).toBe("error")
    expect(entry.error).toContain("provider exploded")
    expect((await c.call("cron.list", {})).jobs[0].state).toMatchObject({ lastStatus: "error", nextRunAtMs: clock.now() + HOUR })
    await clock.advance(HOUR)
    await finished(c, job.id, 2)
    ;[entry] = (await c.call("cron.runs", { id: job.id })).entries
    expect(entry.status).toBe("ok")
  })

  test("overlapping runs never stack: occurrences due while a run is in flight are skipped", async () => {
    const clock = new ManualClock(Date.parse("2026-06-01T00:00:00Z"))
    const hold = gate()
    const model = fakeModel([{ text: "slow", until: hold.promise }])
    const { c } = await start({ clock, models: model })
    const job = await c.call("cron.add", { name: "every minute", schedule: { kind: "every", everyMs: MIN }, payload: turn("tick") })
    await clock.advance(MIN)
    await model.waitForCalls(1)
    for (let i = 0; i < 3; i++) await clock.advance(MIN)
    expect((await c.call("cron.status", {})).running).toEqual([job.id])
    expect(model.calls.length).toBe(1)
    expect((await c.call("cron.run", { id: job.id })).ran).toBe(false)
    hold.open()
    await c.waitFor(() => c.events("cron").some((e) => e.jobId === job.id && e.action === "finished" && e.status === "ok"), 5000)
    const { entries } = await c.call("cron.runs", { id: job.id })
    expect(entries.map((e: any) => e.status).sort()).toEqual(["ok", "skipped", "skipped", "skipped"])
    expect(entries.filter((e: any) => e.status === "skipped").every((e: any) => e.error === "the previous run was still running")).toBe(true)
    expect(model.calls.length).toBe(1)
  })

  test("a skipped overlapping occurrence keeps the run's in-flight marker, so a restart still resumes that run", async () => {
    const home = ownHome()
    const t0 = Date.parse("2026-06-01T00:00:00Z")
    const clock = new ManualClock(t0)
    const hold = gate()
    const model = fakeModel([{ text: "slow", until: hold.promise }, { text: "resumed" }])
    const a = await start({ clock, models: model, home })
    const job = await a.c.call("cron.add", { name: "minutely", schedule: { kind: "every", everyMs: MIN }, payload: turn("tick") })
    await clock.advance(MIN)
    await model.waitForCalls(1)
    await clock.advance(MIN)
    await finished(a.c, job.id)
    expect(a.c.events("cron").find((e) => e.jobId === job.id && e.action === "finished")).toMatchObject({ status: "skipped" })
    const [listed] = (await a.c.call("cron.list", {})).jobs
    expect(listed.state.runningAtMs).toBe(t0 + MIN)
    // Down before the run ended: the next start picks the run for t0 + 1 min up again.
    await stop(a.gw)
    const b = await start({ clock, models: model, home })
    await b.gw.gateway.services.cron.idle()
    expect(model.calls).toHaveLength(2)
    const { entries } = await b.c.call("cron.runs", { id: job.id })
    expect(entries.find((e: any) => e.status === "ok")).toMatchObject({ runAtMs: t0 + MIN })
  })

  test("cron enabled after booting disabled applies the missed-run policy instead of running every overdue job", async () => {
    const home = ownHome()
    const t0 = Date.parse("2026-06-01T00:00:00Z")
    const model = fakeModel(() => ({ text: "caught up" }))
    const a = await start({ clock: new ManualClock(t0), models: model, home })
    const skip = await a.c.call("cron.add", { name: "skipper", schedule: { kind: "every", everyMs: HOUR, anchorMs: t0 + HOUR }, payload: turn("s") })
    const once = await a.c.call("cron.add", {
      name: "catcher",
      schedule: { kind: "every", everyMs: HOUR, anchorMs: t0 + HOUR },
      payload: turn("c"),
      missed: "run-once",
    })
    await stop(a.gw)
    const clock = new ManualClock(t0 + 3.5 * HOUR)
    const b = await start({ clock, models: model, home, config: { cron: { enabled: false } } })
    expect(model.calls).toHaveLength(0)
    const { hash } = await b.c.call("config.get", {})
    await b.c.call("config.patch", { raw: JSON.stringify({ cron: { enabled: true } }), baseHash: hash })
    await b.c.waitFor(() => b.c.events("cron").filter((e) => e.action === "finished").length >= 2, 3000, "the catch-up")
    await clock.advance(1)
    await b.gw.gateway.services.cron.idle()
    expect(model.calls).toHaveLength(1)
    expect(model.calls[0]!.lastUser).toContain("catcher")
    const skipped = (await b.c.call("cron.runs", { id: skip.id })).entries
    expect(skipped).toHaveLength(1)
    expect(skipped[0]).toMatchObject({ status: "skipped", runAtMs: t0 + HOUR })
    expect(skipped[0].error).toContain("cron was disabled")
    expect((await b.c.call("cron.runs", { id: once.id })).entries).toMatchObject([{ status: "ok", runAtMs: t0 + HOUR }])
    for (const j of (await b.c.call("cron.list", {})).jobs) expect(j.nextRunAtMs).toBe(t0 + 4 * HOUR)
  })

  test("removing a job mid-run aborts the run and leaves nothing behind", async () => {
    const clock = new ManualClock(Date.parse("2026-06-01T00:00:00Z"))
    const model = fakeModel([{ text: "never finishes", hang: true }])
    const { gw, c } = await start({ clock, models: model })
    const job = await c.call("cron.add", { name: "doomed", schedule: { kind: "every", everyMs: MIN }, payload: turn("work") })
    await clock.advance(MIN)
    await model.waitForCalls(1)
    expect(await c.call("cron.remove", { id: job.id })).toEqual({ ok: true, removed: true })
    await c.waitFor(() => model.calls[0]!.outcome === "aborted", 5000, "the run aborted")
    await gw.gateway.services.cron.idle()
    expect((await c.call("cron.list", { includeDisabled: true })).jobs).toEqual([])
    expect((await c.call("cron.status", {})).running).toEqual([])
    await c.call("cron.runs", { id: job.id }).then(
      () => expect.unreachable(),
      (err: Error) => expect(err.message).toContain("no cron job"),
    )
    await clock.advance(10 * MIN)
    expect(model.calls.length).toBe(1)
    expect(
      c
        .events("cron")
        .filter((e) => e.jobId === job.id)
        .map((e) => e.action),
    ).toEqual(["added", "started", "removed"])
    expect(await c.call("cron.remove", { id: job.id })).toEqual({ ok: true, removed: false })
  })

  test("runs missed while the gateway was down: skip records them, run-once runs one", async () => {
    const home = ownHome()
    const t0 = Date.parse("2026-06-01T00:00:00Z")
    const model = fakeModel(() => ({ text: "caught up" }))
    let clock = new ManualClock(t0)
    const a = await start({ clock, models: model, home })
    const skip = await a.c.call("cron.add", { name: "skipper", schedule: { kind: "every", everyMs: HOUR, anchorMs: t0 + HOUR }, payload: turn("s") })
    const once = await a.c.call("cron.add", {
      name: "catcher",
      schedule: { kind: "every", everyMs: HOUR, anchorMs: t0 + HOUR },
      payload: turn("c"),
      missed: "run-once",
    })
    await stop(a.gw)
    // Down for three and a half hours: three runs of each were missed.
    clock = new ManualClock(t0 + 3.5 * HOUR)
    const b = await start({ clock, models: model, home })
    await b.gw.gateway.services.cron.idle()
    expect(model.calls.length).toBe(1)
    expect(model.calls[0]!.lastUser).toContain("catcher")
    const skipped = (await b.c.call("cron.runs", { id: skip.id })).entries
    expect(skipped).toHaveLength(1)
    expect(skipped[0]).toMatchObject({ status: "skipped", runAtMs: t0 + HOUR })
    expect(skipped[0].error).toContain("missed")
    const caught = (await b.c.call("cron.runs", { id: once.id })).entries
    expect(caught).toHaveLength(1)
    expect(caught[0]).toMatchObject({ status: "ok", runAtMs: t0 + HOUR })
    for (const j of (await b.c.call("cron.list", {})).jobs) expect(j.nextRunAtMs).toBe(t0 + 4 * HOUR)
  })

  test("an announce reaches the fake Telegram server exactly once, across restarts", async () => {
    tg = startFakeTelegram()
    const home = ownHome()
    const t0 = Date.parse("2026-06-01T00:00:00Z")
    const clock = new ManualClock(t0)
    const hold = gate()
    const model = fakeModel([{ text: "half", until: hold.promise }, { text: "Standup in 5 minutes" }])
    const config = { channels: { telegram: { botToken: tg.token, apiRoot: tg.url, pollTimeoutSeconds: 1 } } }
    const a = await start({ clock, models: model, home, config })
    const job = await a.c.call("cron.add", {
      name: "standup",
      schedule: { kind: "every", everyMs: 24 * HOUR },
      payload: turn("announce the standup"),
      delivery: { mode: "announce", channel: "telegram", to: String(DEFAULT_USER.id) },
    })
    await clock.advance(24 * HOUR)
    await model.waitForCalls(1)
    // Stopped mid-run: the run is cut off; the next start picks the same scheduled run up again.
    await stop(a.gw)
    const b = await start({ clock, models: model, home, config })
    await tg.waitFor((call) => call.method === "sendMessage", 10_000)
    await b.gw.gateway.services.cron.idle()
    await stop(b.gw)
    const c = await start({ clock, models: model, home, config })
    await Bun.sleep(500)
    const sends = tg.sentOf("sendMessage")
    expect(sends).toHaveLength(1)
    expect(String(sends[0]!.params.chat_id)).toBe(String(DEFAULT_USER.id))
    expect(sends[0]!.params.text).toContain("Standup in 5 minutes")
    const { entries } = await c.c.call("cron.runs", { id: job.id })
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ status: "ok", runAtMs: t0 + 24 * HOUR })
    expect(model.calls.length).toBe(2)
  })

  test("bad definitions are refused naming the field", async () => {
    const clock = new ManualClock(Date.parse("2026-06-01T00:00:00Z"))
    const { c } = await start({ clock, models: fakeModel() })
    const refused = async (params: unknown, text: string) => {
      const res = await c.request("cron.add", params)
      expect(res.ok).toBe(false)
      expect(res.error?.message).toContain(text)
    }
    await refused({ name: "x", schedule: { kind: "cron", expr: "99 * * * *" }, payload: turn("x") }, "schedule.expr")
    await refused({ name: "x", schedule: { kind: "cron", expr: "0 9 * * *", tz: "Nowhere/Land" }, payload: turn("x") }, "schedule.tz")
    await refused(
      { name: "x", schedule: { kind: "every", everyMs: 60_000 }, payload: turn("x"), delivery: { mode: "announce", channel: "telegram" } },
      "delivery",
    )
    await refused({ name: "x", schedule: { kind: "every", everyMs: 60_000 }, sessionTarget: "main", payload: turn("x") }, "systemEvent")
  })
})
