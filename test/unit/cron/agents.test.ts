/**
 * Cron, the heartbeat and the agent's cron tool with agents.list: jobs and beats belong to the configured default
 * agent (not a fixed "main"), and the tool works only on its own agent's jobs, at most once a minute.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ManualClock } from "../../../src/cron/clock.ts"
import { fakeModel } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"

const MIN = 60_000
let gw: InProcessGateway | undefined
const dirs: string[] = []

afterEach(async () => {
  await gw?.stop()
  gw = undefined
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const call = (input: Record<string, unknown>) => ({ toolCalls: [{ name: "cron", input }] })

describe("cron and the heartbeat follow the default agent", () => {
  test("cron.add without agentId belongs to the configured default agent, and its run works", async () => {
    const clock = new ManualClock(Date.parse("2026-06-01T00:00:00Z"))
    const model = fakeModel(() => ({ text: "done" }))
    gw = await startInProcess({
      clock,
      models: model,
      config: { agents: { defaults: { heartbeat: { every: "0m" } }, list: [{ id: "ops" }, { id: "helper" }] } },
    })
    const c = await gw.connect()
    const job = await c.call("cron.add", { name: "ops job", schedule: { kind: "every", everyMs: 10 * MIN }, payload: { kind: "agentTurn", message: "go" } })
    expect(job.agentId).toBe("ops")
    await clock.advance(10 * MIN)
    await c.waitFor(() => c.events("cron").some((e) => e.jobId === job.id && e.action === "finished"), 5000, "the run")
    const [entry] = (await c.call("cron.runs", { id: job.id })).entries
    expect(entry).toMatchObject({ status: "ok" })
    expect(model.calls).toHaveLength(1)
  })

  test("the heartbeat reads the default agent's HEARTBEAT.md and carries the wakes of its main session", async () => {
    const ws = mkdtempSync(join(tmpdir(), "gw-ops-ws-"))
    dirs.push(ws)
    const clock = new ManualClock(Date.parse("2026-06-01T10:00:00Z"))
    const model = fakeModel(() => ({ text: "HEARTBEAT_OK" }))
    gw = await startInProcess({
      clock,
      models: model,
      config: { agents: { defaults: { heartbeat: { every: "1m" } }, list: [{ id: "ops", workspace: ws }, { id: "helper" }] } },
    })
    const c = await gw.connect()
    const beats = () => c.events("heartbeat")
    // The wake lands in agent:ops:main (the router's main session of the default agent); the beat must find it there.
    const wake = await c.call("wake", { mode: "next-heartbeat", text: "call mom at noon" })
    expect(wake.queued).toBe(true)
    await clock.advance(MIN)
    await c.waitFor(() => beats().length >= 1, 5000, "the first beat")
    expect(beats()[0]).not.toMatchObject({ status: "skipped" })
    expect(model.calls).toHaveLength(1)
    expect(model.calls[0]!.lastUser).toContain("call mom at noon")
    expect((await c.call("agent.wait", { runId: wake.runId, timeoutMs: 1000 })).status).toBe("ok")

    writeFileSync(join(ws, "HEARTBEAT.md"), "# Heartbeat\n- [ ] check the ops dashboard\n")
    await clock.advance(MIN)
    await c.waitFor(() => beats().length >= 2, 5000, "the second beat")
    expect(model.calls).toHaveLength(2)
    expect(model.calls[1]!.lastUser).toContain("check the ops dashboard")
  })
})

describe("the agent's cron tool is scoped to its own agent", () => {
  test("adds jobs for the calling agent; lists, removes and runs only its own; refuses sub-minute cron expressions", async () => {
    const clock = new ManualClock(Date.parse("2026-06-01T00:00:00Z"))
    const model = fakeModel([{ text: "unused" }])
    gw = await startInProcess({
      clock,
      models: model,
      config: { agents: { defaults: { heartbeat: { every: "0m" } }, list: [{ id: "ops" }, { id: "helper" }] } },
    })
    const c = await gw.connect()
    const operator = await c.call("cron.add", {
      name: "operator backup",
      schedule: { kind: "every", everyMs: 60 * MIN },
      payload: { kind: "agentTurn", message: "back up" },
    })
    model.script([
      call({ action: "add", name: "stretch", message: "remind me to stretch", every: "2h" }),
      call({ action: "add", name: "spin", message: "x", cron: "* * * * * *" }),
      call({ action: "add", name: "spin2", message: "x", cron: "0,30 * 9 * * *", tz: "UTC" }),
      call({ action: "list" }),
      call({ action: "remove", id: operator.id }),
      call({ action: "run", id: operator.id }),
      { text: "done" },
    ])
    const sent = await c.call("chat.send", { sessionKey: "agent:helper:main", message: "set it up", idempotencyKey: "t1" })
    await c.chatEnd(sent.runId)
    const result = (i: number) => model.calls[i]!.lastToolResult!
    expect(result(1)).toMatchObject({ isError: false })
    expect(result(2)).toMatchObject({ isError: true })
    expect(result(2).content).toContain("at most once a minute")
    expect(result(3)).toMatchObject({ isError: true })
    expect(result(3).content).toContain("every 30s")
    expect(result(4).content).toContain("stretch")
    expect(result(4).content).not.toContain("operator backup")
    expect(result(5).content).toBe(`No job ${operator.id}.`)
    expect(result(6).content).toBe(`No job ${operator.id}.`)
    const { jobs } = await c.call("cron.list", { includeDisabled: true })
    expect(jobs.map((j: { name: string; agentId: string }) => [j.name, j.agentId]).sort()).toEqual([
      ["operator backup", "ops"],
      ["stretch", "helper"],
    ])
    expect(c.events("cron").some((e) => e.jobId === operator.id && e.action === "started")).toBe(false)
  })
})
