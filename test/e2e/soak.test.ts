/**
 * The soak's CI form (test/load/soak.ts; `bun run bench` runs it for 30 minutes): 60 s of mixed traffic against the
 * compiled gateway: connect/close churn, agent turns against an instant fake model (sessions created and deleted),
 * config and status reads. The first half is warm-up (RSS climbs for ~30 s while JIT tiers and caches fill); then RSS
 * at the end must be within 10% of RSS after the warm-up, descriptors must not grow, and no call may fail.
 * SOAK_SECONDS changes the length.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { type FakeServer, startFakeOpenAI } from "../fakes/openai.ts"
import { SOCKET_SLACK, soak, soakConfig } from "../load/soak.ts"
import { E2E_TOKEN, startBinary, type GatewayProcess } from "./harness.ts"

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60)
let fake: FakeServer
let gw: GatewayProcess

beforeAll(async () => {
  fake = startFakeOpenAI(() => ({ text: "ok", usage: { input: 10, output: 1 } }))
  gw = await startBinary({ binary: process.env.GATEWAY_TEST_BINARY, args: ["--token", E2E_TOKEN], config: soakConfig(fake.url) })
})

afterAll(async () => {
  await gw?.stop("SIGKILL")
  await fake?.stop()
})

test(
  `soak ${SECONDS} s: churn, agent turns, reads; RSS within 10% of after warm-up, no fd growth, no errors`,
  async () => {
    const res = await soak({ url: gw.url, token: E2E_TOKEN, pid: gw.proc.pid, fake, durationMs: SECONDS * 1000, warmupMs: Math.round(SECONDS * 500) })
    expect(res.firstErrors).toEqual([])
    expect(res.counts.churnConnections).toBeGreaterThan(SECONDS * 4)
    expect(res.counts.agentTurns).toBeGreaterThan(SECONDS * 4)
    expect(res.counts.sessionsDeleted).toBeGreaterThan(0)
    expect(res.rssMB.ratio).toBeLessThanOrEqual(1.1)
    expect(res.fds.end.files).toEqual(res.fds.afterWarmup.files)
    expect(res.fds.end.sockets).toBeLessThanOrEqual(res.fds.afterWarmup.sockets + SOCKET_SLACK)
    expect(res.fds.end.pipes + res.fds.end.other).toBeLessThanOrEqual(res.fds.afterWarmup.pipes + res.fds.afterWarmup.other)
    expect(gw.proc.exitCode).toBeNull()
  },
  (SECONDS + 30) * 1000,
)
