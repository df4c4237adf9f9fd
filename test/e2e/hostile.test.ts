/**
 * The compiled gateway under hostile load, short forms of test/load/ (the long forms run in `bun run bench`):
 * presence fan-out with hundreds of clients (coalesced, linear, a mass close released at once), the caps on
 * unauthenticated sockets (refused before a frame is read; bounded memory under partial 20 MiB frames), and a seeded
 * fuzz of recorded frames before and after the handshake.
 *
 * GATEWAY_TEST_BINARY runs these against another build (e.g. the one before a fix) instead of dist/gateway.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { cliConnectFrame, openClient } from "../load/connections.ts"
import { FUZZ_CONFIG, fuzz } from "../load/fuzz.ts"
import { partialFrame } from "../load/partial-frame.ts"
import { cpuMs, fdCount, peakRssMB, resetPeak, rssMB, timeUntil } from "../load/proc.ts"
import { E2E_TOKEN, connected, startBinary, type GatewayProcess, type RawFrame } from "./harness.ts"
import { TcpWebSocket } from "./tcp-ws.ts"

const binary = process.env.GATEWAY_TEST_BINARY
const token = ["--token", E2E_TOKEN]
let fan: GatewayProcess
let preauth: GatewayProcess
let total: GatewayProcess
let fuzzed: GatewayProcess

beforeAll(async () => {
  ;[fan, preauth, total, fuzzed] = await Promise.all([
    startBinary({ binary, args: token, config: { logging: { level: "warn" } } }),
    startBinary({ binary, args: token, config: { logging: { level: "warn" }, gateway: { handshakeTimeoutMs: 2000 } } }),
    startBinary({ binary, args: token, config: { logging: { level: "warn" }, gateway: { preauth: { maxPerAddress: 100, maxTotal: 5 } } } }),
    startBinary({ binary, args: token, config: FUZZ_CONFIG }),
  ])
})

afterAll(async () => {
  await Promise.all([fan, preauth, total, fuzzed].map((g) => g?.stop("SIGKILL")))
})

const presenceOf = (f: RawFrame) => (f.payload as { presence: { connId?: string; mode?: string }[] }).presence

describe("presence fan-out", () => {
  const N = 300
  // Shared by the two tests: the second closes what the first opened.
  let watcher: Awaited<ReturnType<typeof connected>>
  let second: Awaited<ReturnType<typeof connected>>
  const clients: Awaited<ReturnType<typeof openClient>>[] = []
  let fds0 = 0
  let rss0 = 0
  let lastFull: RawFrame | undefined

  test(`${N} cli clients join: presence coalesced, linear cost, each frame shared but for its seq, exact hello-ok snapshots`, async () => {
    const pid = fan.proc.pid
    watcher = await connected(fan.url)
    await watcher.sock.waitFor((f) => f.event === "presence")
    second = await connected(fan.url)
    await watcher.sock.waitFor((f) => f.event === "presence" && presenceOf(f).length === 3)
    await Bun.sleep(300)
    Bun.gc(true)
    fds0 = fdCount(pid)
    rss0 = rssMB(pid)
    const before = watcher.sock.events("presence").length

    const cpu0 = cpuMs(pid)
    const t0 = performance.now()
    let next = 0
    // Four handshakes at a time: all of them come from 127.0.0.1 (gateway.preauth.maxPerAddress is 4).
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next++ < N) clients.push(await openClient(fan.url, E2E_TOKEN))
      }),
    )
    const openMs = performance.now() - t0
    // Before the fix every join serialised the whole list once per connection: ~9 s of CPU for 300 joins.
    expect(cpuMs(pid) - cpu0).toBeLessThan(2000)

    // The trailing event of the last window carries the final list.
    lastFull = await watcher.sock.waitFor((f) => f.event === "presence" && presenceOf(f).length === N + 3, 5000)
    const events = watcher.sock.events("presence").length - before
    // One event per 250 ms window at most (plus the leading one), not one per join.
    expect(events).toBeLessThanOrEqual(Math.ceil(openMs / 250) + 2)
    expect(events).toBeLessThan(N / 10)
    // Each connection gets the same frame text but for its own seq.
    const twin = await second.sock.waitFor((f) => f.event === "presence" && presenceOf(f).length === N + 3, 5000)
    const { seq: _a, ...fullRest } = lastFull
    const { seq: _b, ...twinRest } = twin
    expect(JSON.stringify(twinRest)).toBe(JSON.stringify(fullRest))
    // hello-ok's snapshot stays exact: a newcomer sees everyone already there (coalescing is for events only).
    const late = await connected(fan.url)
    expect(late.hello.snapshot.presence).toHaveLength(N + 3)
    late.sock.close()
  }, 30_000)

  test(`closing the ${N} at once releases every socket within 5 s, the leave is announced, and memory comes back`, async () => {
    const pid = fan.proc.pid
    expect(clients.length).toBeGreaterThan(0)
    const cpu1 = cpuMs(pid)
    for (const c of clients) c.ws.close()
    // Before the fix each close re-sent the list to everyone left: no socket was released for many seconds.
    expect(await timeUntil(() => fdCount(pid) <= fds0, 5000)).toBeDefined()
    expect(cpuMs(pid) - cpu1).toBeLessThan(1000)
    const after = await watcher.sock.waitFor(
      (f) => f.event === "presence" && presenceOf(f).length === 3 && (f.seq as number) > ((lastFull?.seq as number) ?? 0),
      3000,
    )
    expect(presenceOf(after).map((p) => p.mode)).toEqual(["gateway", "cli", "cli"])
    // Memory comes back too (the hub asks for a collection a second after a mass close).
    expect(await timeUntil(() => rssMB(pid) <= rss0 + 20, 4000, 100)).toBeDefined()
    // Seq stayed gapless on the watcher through all of it.
    const seqs = watcher.sock
      .events()
      .filter((f) => f.seq !== undefined)
      .map((f) => f.seq)
    expect(seqs).toEqual(seqs.map((_, i) => i + 1))
    for (const s of [watcher, second]) s.sock.close()
  }, 30_000)
})

describe("unauthenticated sockets", () => {
  test("a fifth unauthenticated socket from one address is refused with 429 before upgrading; hello-ok and close free a slot", async () => {
    const held = await Promise.all(Array.from({ length: 4 }, () => TcpWebSocket.open(preauth.port)))
    await expect(TcpWebSocket.open(preauth.port)).rejects.toThrow(/HTTP\/1\.1 429/)
    // Completing connect frees the slot: the socket is no longer unauthenticated.
    await held[0]!.waitForJson((f) => f.event === "connect.challenge")
    held[0]!.sendText(cliConnectFrame(E2E_TOKEN))
    await held[0]!.waitForJson((f) => f.type === "res" && f.ok === true)
    const fifth = await TcpWebSocket.open(preauth.port)
    await expect(TcpWebSocket.open(preauth.port)).rejects.toThrow(/429/)
    // So does closing one.
    held[1]!.destroy()
    const sixth = await waitForUpgrade(preauth.port)
    // Authenticated connections never count: free every slot, then hold ten authenticated ones.
    for (const s of [...held, fifth, sixth]) s.destroy()
    // A client-side destroy reaches the gateway a little later, so a 429 just after it is retried (for up to 2 s).
    const ten = []
    for (let i = 0; i < 10; i++) ten.push(await retryFor2s(() => connected(preauth.url)))
    const extra = []
    for (let i = 0; i < 4; i++) extra.push(await waitForUpgrade(preauth.port))
    for (const s of extra) s.destroy()
    for (const c of ten) c.sock.close()
  })

  test("beyond gateway.preauth.maxTotal every address is refused with 503", async () => {
    const held = await Promise.all(Array.from({ length: 5 }, () => TcpWebSocket.open(total.port)))
    await expect(TcpWebSocket.open(total.port)).rejects.toThrow(/HTTP\/1\.1 503/)
    for (const s of held) s.destroy()
    await waitForUpgrade(total.port).then((s) => s.destroy())
  })

  test("100 sockets from one address each sending a partial 20 MiB frame: RSS rises < 100 MB, all closed or refused within the handshake timeout", async () => {
    const pid = preauth.proc.pid
    await Bun.sleep(200)
    Bun.gc(true)
    const rss0 = rssMB(pid)
    const fds0 = fdCount(pid)
    const canPeak = resetPeak(pid)
    const MiB = 1024 * 1024
    const t0 = performance.now()
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => partialFrame(preauth.port, 20 * MiB, 20 * MiB - 1024, 15_000)))
    const elapsed = performance.now() - t0
    const rise = (canPeak ? peakRssMB(pid) : rssMB(pid)) - rss0
    const refused = outcomes.filter((o) => "refused" in o)
    const closed = outcomes.filter((o) => "closed" in o)
    // Before the fix all 100 were upgraded and each pinned its 20 MiB until the timeout: ~2 GB.
    expect(rise).toBeLessThan(100)
    expect(closed.length).toBeLessThanOrEqual(4)
    expect(refused.every((o) => "refused" in o && o.refused === 429)).toBe(true)
    // handshakeTimeoutMs is 2000 here; refusals come at once.
    expect(elapsed).toBeLessThan(2000 + 1500)
    for (const o of refused) expect(o.ms).toBeLessThan(1000)
    expect(await timeUntil(() => fdCount(pid) <= fds0, 2000)).toBeDefined()
    // And the gateway serves as before.
    const { sock } = await connected(preauth.url)
    expect((await sock.request("health")).ok).toBe(true)
    sock.close()
  }, 30_000)
})

describe("fuzz", () => {
  test("4,000 mutated recorded frames (seed 7) before and after connect: every reply well formed, the gateway stays healthy", async () => {
    const res = await fuzz({ url: fuzzed.url, httpUrl: `http://127.0.0.1:${fuzzed.port}`, token: E2E_TOKEN, seed: 7, frames: 4000 })
    expect(res.failures).toEqual([])
    expect(res.healthyAfter).toBe(true)
    expect(res.replies).toBeGreaterThan(3000)
    expect(fuzzed.proc.exitCode).toBeNull()
    expect(fuzzed.stderr()).not.toMatch(/uncaught|unhandled|panic|segmentation/i)
  }, 60_000)
})

/** Retries an upgrade until a slot is free (a close reaches the server a moment after the client sends it). */
const waitForUpgrade = (port: number) => retryFor2s(() => TcpWebSocket.open(port))

async function retryFor2s<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 2000
  for (;;) {
    try {
      return await attempt()
    } catch (err) {
      if (Date.now() > deadline) throw err
      await Bun.sleep(20)
    }
  }
}
