/**
 * Cron from the command line against the compiled binary: `gateway cron add` (cron expression with a zone and an
 * announce; every; at), `list --json`, `status`, `run` + `runs --json` with a loopback model, `disable`/`enable`,
 * `rm`, and the usage errors a mistyped add gets; an announce delivered to the fake Telegram server exactly once
 * although the gateway was killed (SIGKILL) in the middle of the run and restarted twice.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startFakeOpenAI, type FakeServer } from "../fakes/openai.ts"
import { DEFAULT_USER, startFakeTelegram } from "../fakes/telegram.ts"
import { directedModel, E2E_TOKEN, fakeModelConfig, runCli, startBinary, type GatewayProcess } from "./harness.ts"

let fake: FakeServer
let gw: GatewayProcess

beforeAll(async () => {
  fake = startFakeOpenAI(directedModel)
  gw = await startBinary({ args: ["--token", E2E_TOKEN], config: fakeModelConfig(fake.url) })
})

afterAll(async () => {
  await gw?.stop()
  await fake?.stop()
})

const cli = (...args: string[]) => runCli(["cron", ...args, "--url", gw.url, "--token", E2E_TOKEN], { GATEWAY_HOME: gw.home })

async function json(...args: string[]): Promise<any> {
  const r = await cli(...args, "--json")
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" })
  return JSON.parse(r.out)
}

describe("gateway cron", () => {
  test("add (cron + tz + announce, every, at), list --json, status", async () => {
    const standup = await json(
      "add",
      "--name",
      "standup",
      "--cron",
      "0 9 * * 1-5",
      "--tz",
      "Asia/Seoul",
      "--message",
      "What is on my calendar today?",
      "--announce",
      "telegram:123456",
    )
    expect(standup).toMatchObject({
      name: "standup",
      schedule: { kind: "cron", expr: "0 9 * * 1-5", tz: "Asia/Seoul" },
      sessionTarget: "isolated",
      payload: { kind: "agentTurn", message: "What is on my calendar today?" },
      delivery: { mode: "announce", channel: "telegram", to: "123456" },
    })
    // The next weekday 09:00 in Seoul is 00:00 UTC.
    expect(new Date(standup.state.nextRunAtMs).toISOString()).toEndWith("T00:00:00.000Z")
    const ping = await json("add", "--name", "ping", "--every", "10m", "--message", "check the build")
    expect(ping.schedule).toEqual({ kind: "every", everyMs: 600_000 })
    const once = await json("add", "--name", "xmas", "--at", "2099-12-24T09:00+09:00", "--system-event", "merry christmas")
    expect(once).toMatchObject({ sessionTarget: "main", deleteAfterRun: true, state: { nextRunAtMs: Date.parse("2099-12-24T00:00:00Z") } })

    const listed = await json("list")
    expect(listed.jobs.map((j: { name: string }) => j.name)).toEqual(["standup", "ping", "xmas"])
    const human = await cli("list")
    expect(human.code).toBe(0)
    expect(human.out).toContain('cron "0 9 * * 1-5" Asia/Seoul → telegram:123456')
    expect(human.out).toContain("every 10m")
    const status = await cli("status")
    expect(status.out).toContain("3 job(s)")
    expect(status.out).toMatch(/heartbeat\s+every 30m/)
  })

  test("run by name, runs --json, disable / enable, rm", async () => {
    const started = await json("run", "ping")
    expect(started).toMatchObject({ ok: true, ran: true })
    let entries: any[] = []
    for (let i = 0; i < 100 && !entries.length; i++) {
      entries = (await json("runs", "ping")).entries
      if (!entries.length) await Bun.sleep(100)
    }
    expect(entries[0]).toMatchObject({ status: "ok", jobId: expect.any(String), action: "finished" })
    expect(typeof entries[0].durationMs).toBe("number")
    expect((await cli("runs", "ping")).out).toMatch(/ ok +\d+ ms/)

    expect(await json("disable", "ping")).toMatchObject({ enabled: false })
    expect((await json("list")).jobs.map((j: { name: string }) => j.name)).not.toContain("ping")
    expect((await json("list", "--all")).jobs.map((j: { name: string }) => j.name)).toContain("ping")
    expect((await json("enable", "ping")).state.nextRunAtMs).toBeGreaterThan(Date.now())

    const { jobs } = await json("list")
    for (const j of jobs) {
      const out = await json("rm", j.id.slice(0, 8))
      expect(out).toMatchObject({ id: j.id, removed: true })
    }
    expect((await json("list", "--all")).jobs).toEqual([])
    const gone = await cli("rm", "ping")
    expect(gone.code).toBe(1)
    expect(gone.err).toContain("no cron job 'ping'")
  })

  test("mistakes are refused with one line naming the flag or field", async () => {
    const two = await cli("add", "--name", "x", "--every", "10m", "--cron", "* * * * *", "--message", "m")
    expect(two.code).toBe(1)
    expect(two.err).toContain("exactly one schedule")
    const badEvery = await cli("add", "--name", "x", "--every", "soon", "--message", "m")
    expect(badEvery.err).toContain("--every")
    const badExpr = await cli("add", "--name", "x", "--cron", "61 * * * *", "--message", "m")
    expect(badExpr.code).toBe(1)
    expect(badExpr.err).toContain("schedule.expr")
    const badPeer = await cli("add", "--name", "x", "--every", "1h", "--message", "m", "--announce", "telegram")
    expect(badPeer.err).toContain("--announce must be channel:peer")
    const unknown = await cli("add", "--name", "x", "--evry", "1h")
    expect(unknown.code).toBe(2)
    const help = await runCli(["cron", "add", "--help"], { GATEWAY_HOME: gw.home })
    expect(help.out + help.err).toContain("--announce")
  })
})

describe("cron announce across kill -9", () => {
  test("a run cut off by SIGKILL is picked up after the restart and announced exactly once", async () => {
    const tg = startFakeTelegram()
    // The first answer is slow, so the gateway is killed while the run waits for it.
    let calls = 0
    const model = startFakeOpenAI(() => ({ text: "Standup in 5 minutes", delayMs: calls++ === 0 ? 3000 : 0 }))
    const home = mkdtempSync(join(tmpdir(), "gw-cron-e2e-"))
    const config = fakeModelConfig(model.url, { channels: { telegram: { botToken: tg.token, apiRoot: tg.url, pollTimeoutSeconds: 1 } } })
    let g = await startBinary({ home, args: ["--token", E2E_TOKEN], config })
    try {
      const c = (...args: string[]) => runCli(["cron", ...args, "--url", g.url, "--token", E2E_TOKEN, "--json"], { GATEWAY_HOME: home })
      const added = JSON.parse(
        (await c("add", "--name", "standup", "--every", "1d", "--message", "announce the standup", "--announce", `telegram:${DEFAULT_USER.id}`)).out,
      )
      expect(JSON.parse((await c("run", "standup")).out)).toMatchObject({ ran: true })
      for (let i = 0; i < 100 && model.requests.length === 0; i++) await Bun.sleep(50)
      expect(model.requests.length).toBe(1)
      g.proc.kill("SIGKILL")
      await g.proc.exited
      expect(tg.sentOf("sendMessage")).toHaveLength(0)

      g = await startBinary({ home, args: ["--token", E2E_TOKEN], config })
      await tg.waitFor("sendMessage", 15_000)
      let entries: any[] = []
      for (let i = 0; i < 100 && !entries.length; i++) {
        entries = JSON.parse((await c("runs", added.id)).out).entries
        if (!entries.length) await Bun.sleep(100)
      }
      expect(entries).toHaveLength(1)
      expect(entries[0]).toMatchObject({ status: "ok", summary: "Standup in 5 minutes" })

      await g.stop()
      g = await startBinary({ home, args: ["--token", E2E_TOKEN], config })
      await Bun.sleep(1500)
      const sends = tg.sentOf("sendMessage")
      expect(sends).toHaveLength(1)
      expect(sends[0]!.params.text).toContain("Standup in 5 minutes")
      expect(String(sends[0]!.params.chat_id)).toBe(String(DEFAULT_USER.id))
      expect(JSON.parse((await c("runs", added.id)).out).entries).toHaveLength(1)
    } finally {
      await g.stop()
      await model.stop()
      await tg.stop()
      rmSync(home, { recursive: true, force: true })
    }
  }, 60_000)
})
