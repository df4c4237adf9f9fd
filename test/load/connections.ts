/**
 * Connection load against a running gateway (or the bench floor): opens N authenticated `cli`-mode connections (as
 * OpenClaw's CLI connects) with at most `concurrency` handshakes in flight, holds them while one more connection
 * measures `health` round trips, then closes them all at once and watches the server release every socket (its
 * /proc/<pid>/fd count back to where it was) and its RSS come back. Everything is on 127.0.0.1.
 *
 *   bun test/load/connections.ts [--connections 1000] [--concurrency 4] [--hold-ms 3000] [--binary dist/gateway]
 *
 * Standalone, it starts the binary itself and prints one JSON result.
 */
import { join } from "node:path"
import type { LoadResult } from "../bench/load-client.ts"
import { cpuMs, fdCount, peakRssMB, resetPeak, round, rssMB, timeUntil } from "./proc.ts"

export interface ConnectionLoadOptions {
  url: string
  token: string
  /** The server's pid, for /proc readings. */
  pid: number
  connections: number
  /** Handshakes in flight at once; keep it within gateway.preauth.maxPerAddress (all of them come from 127.0.0.1). */
  concurrency: number
  /** How long `health` round trips are measured while the connections are held. */
  holdMs: number
  /** Waiting for sockets and memory to come back after the close, at most. */
  releaseTimeoutMs?: number
  /** Quiet time before the held RSS is read, after the presence event listing everyone has arrived. */
  settleMs?: number
}

export interface ConnectionLoadResult {
  connections: number
  opened: number
  failed: number
  firstFailure?: string
  openMs: number
  /** Server CPU spent while the connections opened. */
  openServerCpuMs: number
  /** Events the first connection received while the others joined (presence is coalesced: a handful, not N). */
  eventsOnFirstWhileOpening: number
  /** Bytes all clients received from hello-ok on while the others joined: the fan-out's cost on the wire. */
  fanOutBytesWhileOpening: number
  health: { requests: number; p50Ms: number; p99Ms: number; maxMs: number; errors: number }
  /** afterClose: 3 s after the mass close. */
  rssMB: { before: number; peak: number | null; holding: number; afterClose: number; afterCloseDelta: number }
  /** Time from the mass close until RSS was within 20 MB of `before` (null: not within releaseTimeoutMs). */
  rssReturnMs: number | null
  fds: { before: number; holding: number; afterClose: number }
  /** Time from the mass close until the server's fd count was back to `before` (null: not within releaseTimeoutMs). */
  releaseMs: number | null
  closeServerCpuMs: number
}

interface Client {
  ws: WebSocket
  events: number
  bytes: number
  /** The last presence event's text, kept to tell when the fan-out of the joins is complete. */
  lastPresence?: string
}

const HELLO_PREFIX = '{"type":"res","id":"c1","ok":true,"payload":{"type":"hello-ok"'

export function cliConnectFrame(token: string): string {
  return JSON.stringify({
    type: "req",
    id: "c1",
    method: "connect",
    params: {
      minProtocol: 4,
      maxProtocol: 4,
      client: { id: "cli", version: "load", platform: "linux", deviceFamily: "Linux", mode: "cli", instanceId: crypto.randomUUID() },
      caps: [],
      auth: { token },
      role: "operator",
      scopes: ["operator.read"],
    },
  })
}

/** Opens one connection and completes the handshake; counts what arrives afterwards. Rejects on anything else. */
export function openClient(url: string, token: string, timeoutMs = 10_000): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    const client: Client = { ws, events: 0, bytes: 0 }
    let stage: "challenge" | "hello" | "open" = "challenge"
    const timer = setTimeout(() => fail("no hello-ok in time"), timeoutMs)
    const fail = (why: string) => {
      clearTimeout(timer)
      try {
        ws.close()
      } catch {}
      reject(new Error(why))
    }
    ws.onmessage = (ev) => {
      const text = String(ev.data)
      if (stage === "open") {
        client.events++
        client.bytes += text.length
        if (text.startsWith('{"type":"event","event":"presence"')) client.lastPresence = text
        return
      }
      if (stage === "challenge") {
        if (!text.includes('"connect.challenge"')) return fail(`expected the challenge, got ${text.slice(0, 200)}`)
        stage = "hello"
        ws.send(cliConnectFrame(token))
        return
      }
      // The hello-ok carries the whole presence list: checked by its prefix, not parsed.
      if (!text.startsWith(HELLO_PREFIX)) return fail(`connect refused: ${text.slice(0, 300)}`)
      stage = "open"
      clearTimeout(timer)
      resolve(client)
    }
    ws.onerror = () => fail("socket error (upgrade refused?)")
    ws.onclose = (ev) => {
      if (stage !== "open") fail(`closed ${ev.code} ${ev.reason} before hello-ok`)
    }
  })
}

/**
 * `health` round trips, one at a time on one new connection, for `ms` — measured from a separate process (the bench's
 * load client): this one is busy reading what the server sends to the thousand connections it holds, which would be
 * counted as server latency otherwise.
 */
async function healthLatency(url: string, token: string, ms: number): Promise<ConnectionLoadResult["health"]> {
  const cfg = { url, token, connections: 1, inflight: 1, warmupMs: 200, durationMs: ms }
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "../bench/load-client.ts"), JSON.stringify(cfg)], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  })
  const timer = setTimeout(() => child.kill("SIGKILL"), ms + 30_000)
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  clearTimeout(timer)
  if (code !== 0) throw new Error(`health load client failed (${code}): ${err.slice(-2000)}`)
  const r = JSON.parse(out.trim().split("\n").pop()!) as LoadResult
  return { requests: r.requests, p50Ms: r.latencyMs.p50, p99Ms: r.latencyMs.p99, maxMs: r.latencyMs.max, errors: r.errors + r.strays + r.closed }
}

export async function connectionLoad(opts: ConnectionLoadOptions): Promise<ConnectionLoadResult> {
  const { pid } = opts
  const releaseTimeoutMs = opts.releaseTimeoutMs ?? 10_000
  // The probe connection is part of the baseline: it stays open throughout.
  const probe = await openClient(opts.url, opts.token)
  await Bun.sleep(300)
  Bun.gc(true)
  const rssBefore = rssMB(pid)
  const fdsBefore = fdCount(pid)
  const canPeak = resetPeak(pid)

  const clients: Client[] = []
  let failed = 0
  let firstFailure: string | undefined
  const cpu0 = cpuMs(pid)
  const t0 = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < opts.connections) {
        next++
        try {
          clients.push(await openClient(opts.url, opts.token))
        } catch (err) {
          failed++
          firstFailure ??= (err as Error).message
        }
      }
    }),
  )
  const openMs = round(performance.now() - t0)
  const openServerCpuMs = round(cpuMs(pid) - cpu0)
  const eventsOnFirstWhileOpening = clients[0]?.events ?? 0
  const fanOutBytesWhileOpening = clients.reduce((n, c) => n + c.bytes, 0)

  // The hold starts once the joins are announced: the last presence event lists every client (a server that sends no
  // presence, like the floor, has nothing to wait for). Its fan-out is a burst of ~N² bytes this process must read.
  if (probe.lastPresence !== undefined) {
    const everyone = opts.connections + 1
    await timeUntil(() => (probe.lastPresence?.split('"connId"').length ?? 0) - 1 >= everyone, 30_000, 50)
  }
  await Bun.sleep(opts.settleMs ?? 500)
  const rssHolding = rssMB(pid)
  const fdsHolding = fdCount(pid)
  const health = await healthLatency(opts.url, opts.token, opts.holdMs)
  const peak = canPeak ? peakRssMB(pid) : null

  // All at once, as when a client machine drops off the network or a load balancer restarts.
  const cpu1 = cpuMs(pid)
  const tClose = performance.now()
  for (const c of clients) c.ws.close()
  const releaseMs = (await timeUntil(() => fdCount(pid) <= fdsBefore, releaseTimeoutMs)) ?? null
  const rssBack = await timeUntil(() => rssMB(pid) <= rssBefore + 20, Math.max(0, releaseTimeoutMs - (performance.now() - tClose)), 100)
  const rssReturnMs = rssBack === undefined ? null : round(performance.now() - tClose)
  // The settled figure: three seconds after the close.
  await Bun.sleep(Math.max(0, tClose + 3000 - performance.now()))
  const closeServerCpuMs = round(cpuMs(pid) - cpu1)
  const rssAfter = rssMB(pid)
  const fdsAfter = fdCount(pid)
  probe.ws.close()

  return {
    connections: opts.connections,
    opened: clients.length,
    failed,
    ...(firstFailure ? { firstFailure } : {}),
    openMs,
    openServerCpuMs,
    eventsOnFirstWhileOpening,
    fanOutBytesWhileOpening,
    health,
    rssMB: { before: rssBefore, peak, holding: rssHolding, afterClose: rssAfter, afterCloseDelta: round(rssAfter - rssBefore) },
    rssReturnMs,
    fds: { before: fdsBefore, holding: fdsHolding, afterClose: fdsAfter },
    releaseMs,
    closeServerCpuMs,
  }
}

if (import.meta.main) {
  const { startBinary } = await import("../e2e/harness.ts")
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(name)
    return i >= 0 ? Number(process.argv[i + 1]) : dflt
  }
  const bi = process.argv.indexOf("--binary")
  const token = "load-token-0123456789abcdef"
  const gw = await startBinary({ args: ["--token", token], ...(bi >= 0 ? { binary: process.argv[bi + 1] } : {}), config: { logging: { level: "warn" } } })
  try {
    const res = await connectionLoad({
      url: gw.url,
      token,
      pid: gw.proc.pid,
      connections: arg("--connections", 1000),
      concurrency: arg("--concurrency", 4),
      holdMs: arg("--hold-ms", 3000),
    })
    process.stdout.write(`${JSON.stringify(res, null, 2)}\n`)
  } finally {
    await gw.stop("SIGKILL")
  }
}
