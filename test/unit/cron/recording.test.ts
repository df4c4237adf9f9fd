/**
 * cron.list against OpenClaw's recorded reply (../shared/reference/openclaw-wire, cli call cron.list): the recorded
 * jobs of the kinds we run parse with our CronJob schema, the reply envelope parses with our result schema, and every
 * key our jobs carry is one OpenClaw's jobs carry too (bar the extensions listed here).
 */
import { describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { METHODS } from "../../../src/protocol/index.ts"
import { CronJob } from "../../../src/protocol/methods/cron.ts"
import { fakeModel } from "../../harness/fake-model.ts"
import { startInProcess } from "../../harness/inproc.ts"

const RECORDING = "/work/shared/reference/openclaw-wire/normalized/cli__call-cron.list.008.jsonl"
/** Keys of ours that OpenClaw's recorded jobs do not show (documented extensions). */
const OURS_ONLY = new Set(["deleteAfterRun", "missed"])

/** The recording normalises times and numbers to placeholders; give them numbers again. */
function denormalise(v: unknown): unknown {
  if (v === "<ts>" || v === "<num>") return 1_790_000_000_000
  if (Array.isArray(v)) return v.map(denormalise)
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, denormalise(x)]))
  return v
}

function recordedReply(): { jobs: Record<string, unknown>[] } & Record<string, unknown> {
  for (const line of readFileSync(RECORDING, "utf8").split("\n")) {
    if (!line.trim()) continue
    const f = JSON.parse(line).frame
    if (f?.type === "res" && f.payload?.jobs) return denormalise(f.payload) as never
  }
  throw new Error("no cron.list reply in the recording")
}

describe.skipIf(!existsSync(RECORDING))("cron.list vs OpenClaw's recording", () => {
  test("the recorded envelope and jobs parse with our schemas", () => {
    const reply = recordedReply()
    const ours = reply.jobs.filter((j) => ["systemEvent", "agentTurn"].includes((j.payload as { kind: string }).kind))
    expect(ours.length).toBeGreaterThanOrEqual(2)
    for (const job of ours) expect(CronJob().safeParse(job).error).toBeUndefined()
    const envelope = { ...reply, jobs: ours }
    expect(METHODS["cron.list"].result.safeParse(envelope).error).toBeUndefined()
  })

  test("every key of our jobs is one OpenClaw's jobs carry", async () => {
    const recordedKeys = new Set(recordedReply().jobs.flatMap((j) => Object.keys(j)))
    const recordedStateKeys = new Set(["nextRunAtMs", "runningAtMs", "lastRunAtMs", "lastStatus", "lastError", "lastDurationMs"])
    const gw = await startInProcess({ models: fakeModel(() => ({ text: "ok" })) })
    try {
      const c = await gw.connect()
      await c.call("cron.add", {
        name: "standup",
        description: "weekday standup",
        schedule: { kind: "cron", expr: "0 9 * * 1-5", tz: "Asia/Seoul" },
        payload: { kind: "agentTurn", message: "What is on my calendar today?" },
        delivery: { mode: "announce", channel: "telegram", to: "123456" },
      })
      const { jobs } = await c.call("cron.list", {})
      for (const key of Object.keys(jobs[0])) if (!OURS_ONLY.has(key)) expect({ key, known: recordedKeys.has(key) }).toEqual({ key, known: true })
      for (const key of Object.keys(jobs[0].state)) expect(recordedStateKeys.has(key)).toBe(true)
    } finally {
      await gw.stop()
    }
  })
})
