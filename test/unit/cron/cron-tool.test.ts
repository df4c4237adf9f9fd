/** The agent's `cron` tool, driven by the fake model through a real run: add, list, run, remove, and its limits. */
import { afterEach, describe, expect, test } from "bun:test"
import { ManualClock } from "../../../src/cron/clock.ts"
import { fakeModel } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"

let gw: InProcessGateway | undefined
afterEach(async () => {
  await gw?.stop()
  gw = undefined
})

const call = (input: Record<string, unknown>) => ({ toolCalls: [{ name: "cron", input }] })

describe("cron tool", () => {
  test("add, list, run and remove through tool calls; announce only to allowed chats", async () => {
    const model = fakeModel([
      call({ action: "add", name: "stretch", message: "remind me to stretch", every: "2h" }),
      call({ action: "add", name: "leak", message: "x", every: "1h", announce: "telegram:31337" }),
      call({ action: "list" }),
      { text: "done" },
    ])
    gw = await startInProcess({
      models: model,
      clock: new ManualClock(Date.parse("2026-06-01T00:00:00Z")),
      config: { agents: { defaults: { heartbeat: { every: "0m" } } } },
    })
    const c = await gw.connect()
    const sent = await c.call("chat.send", { sessionKey: "main", message: "set it up", idempotencyKey: "t1" })
    await c.chatEnd(sent.runId)
    expect(model.calls[0]!.tools).toContain("cron")
    expect(model.calls[1]!.lastToolResult).toMatchObject({ toolName: "cron", isError: false })
    expect(model.calls[1]!.lastToolResult!.content).toContain('"stretch" every 120m')
    expect(model.calls[2]!.lastToolResult).toMatchObject({ toolName: "cron", isError: true })
    expect(model.calls[2]!.lastToolResult!.content).toContain("may not announce to telegram:31337")
    expect(model.calls[3]!.lastToolResult!.content).toContain("remind me to stretch")
    const { jobs } = await c.call("cron.list", {})
    expect(jobs.map((j: { name: string }) => j.name)).toEqual(["stretch"])
    const id = jobs[0].id

    model.script([call({ action: "remove", id }), { text: "removed" }])
    const again = await c.call("chat.send", { sessionKey: "main", message: "drop it", idempotencyKey: "t2" })
    await c.chatEnd(again.runId)
    expect(model.calls[5]!.lastToolResult!.content).toBe(`Removed ${id}.`)
    expect((await c.call("cron.list", { includeDisabled: true })).jobs).toEqual([])
  })

  test("tools.deny takes it away", async () => {
    const model = fakeModel([{ text: "ok" }])
    gw = await startInProcess({ models: model, config: { tools: { deny: ["cron"] }, agents: { defaults: { heartbeat: { every: "0m" } } } } })
    const c = await gw.connect()
    const sent = await c.call("chat.send", { sessionKey: "main", message: "hi", idempotencyKey: "t3" })
    await c.chatEnd(sent.runId)
    expect(model.calls[0]!.tools).not.toContain("cron")
    expect(model.calls[0]!.tools.length).toBeGreaterThan(0)
  })
})
