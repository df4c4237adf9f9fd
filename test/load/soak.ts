/**
 * The soak: mixed traffic against a running gateway for a fixed time, watching for leaks. Traffic, paced so it fits a
 * shared 2-core machine:
 *   - connect/close churn: `cli` connections that handshake, call `health` and close (as OpenClaw's CLI does);
 *   - agent turns against an instant fake model on two operator connections, each session used for 20 turns and
 *     then deleted (so transcripts stay short and sessions come and go);
 *   - reads: config.get, status and system-presence on one connection.
 * Memory and descriptors are read at two quiet points (traffic paused, churn sockets closed): after the warm-up and at
 * the end. The end's RSS must be within 10% of the warm-up's; the open files must be the same ones, and sockets may
 * differ only by the gateway's keep-alive pool to the model (SOCKET_SLACK). Any failed call is an error.
 *
 *   bun test/load/soak.ts [--seconds 120] [--binary dist/gateway]
 */
import type { FakeServer } from "../fakes/openai.ts"
import { cliConnectFrame } from "./connections.ts"
import { fdKinds, round, rssMB } from "./proc.ts"

export interface SoakOptions {
  url: string
  token: string
  pid: number
  /** The fake model the gateway is configured with (its request log is cleared as the soak goes). */
  fake: FakeServer
  durationMs: number
  warmupMs: number
  /** Target rates (per second) of the three kinds of traffic. */
  churnPerSec?: number
  turnsPerSec?: number
  readsPerSec?: number
}

export interface SoakResult {
  durationMs: number
  warmupMs: number
  counts: { churnConnections: number; agentTurns: number; sessionsDeleted: number; reads: number; errors: number }
  firstErrors: string[]
  rssMB: { afterWarmup: number; end: number; ratio: number; max: number }
  /** Descriptors at the two quiet points; files by path (they must be the same), sockets and the rest counted. */
  fds: { afterWarmup: ReturnType<typeof fdKinds>; end: ReturnType<typeof fdKinds> }
  /** RSS every ~10 s, for the shape of the curve. */
  rssSamples: [number, number][]
}

/** The gateway's pool of keep-alive connections to the model may hold one or two more idle sockets at one point. */
export const SOCKET_SLACK = 2

interface Rpc {
  call(method: string, params?: unknown, twoStage?: boolean): Promise<unknown>
  close(): void
}

/** An authenticated connection that matches replies to requests (agent answers twice: accepted, then final). */
function rpc(url: string, token: string, scopes: string[], mode: "cli" | "backend"): Promise<Rpc> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    const pending = new Map<string, { resolve(v: unknown): void; reject(e: Error): void; twoStage: boolean }>()
    let next = 0
    let stage: "challenge" | "hello" | "open" = "challenge"
    ws.onerror = () => reject(new Error("soak: cannot connect"))
    ws.onclose = (ev) => {
      for (const p of pending.values()) p.reject(new Error(`connection closed ${ev.code}`))
      pending.clear()
    }
    ws.onmessage = (ev) => {
      const text = String(ev.data)
      if (stage === "challenge") {
        stage = "hello"
        const frame = JSON.parse(cliConnectFrame(token))
        frame.params.client.mode = mode
        frame.params.scopes = scopes
        ws.send(JSON.stringify(frame))
        return
      }
      if (stage === "hello") {
        if (!text.startsWith('{"type":"res","id":"c1","ok":true')) return reject(new Error(`soak: connect refused: ${text.slice(0, 200)}`))
        stage = "open"
        return resolve({
          call(method, params, twoStage = false) {
            const id = `s${++next}`
            return new Promise((res, rej) => {
              pending.set(id, { resolve: res, reject: rej, twoStage })
              ws.send(JSON.stringify({ type: "req", id, method, params: params ?? {} }))
            })
          },
          close: () => ws.close(),
        })
      }
      if (!text.startsWith('{"type":"res"')) return
      const f = JSON.parse(text) as { id: string; ok: boolean; payload?: { status?: string }; error?: { message: string } }
      const p = pending.get(f.id)
      if (!p) return
      if (p.twoStage && f.ok && f.payload?.status === "accepted") return
      pending.delete(f.id)
      if (!f.ok) p.reject(new Error(f.error?.message ?? "error"))
      else if (p.twoStage && f.payload?.status !== "ok") p.reject(new Error(`agent status ${f.payload?.status}`))
      else p.resolve(f.payload)
    }
  })
}

export async function soak(o: SoakOptions): Promise<SoakResult> {
  const counts = { churnConnections: 0, agentTurns: 0, sessionsDeleted: 0, reads: 0, errors: 0 }
  const firstErrors: string[] = []
  const error = (what: string, err: unknown) => {
    counts.errors++
    if (firstErrors.length < 10) firstErrors.push(`${what}: ${(err as Error)?.message ?? String(err)}`)
  }
  let stop = false
  // Pausing: every loop parks at the top of its next iteration; `parked` counts them.
  let gate: Promise<void> | undefined
  let openGate = () => {}
  let parked = 0
  const loops: Promise<void>[] = []
  const loop = (intervalMs: number, body: () => Promise<void>) => {
    loops.push(
      (async () => {
        while (!stop) {
          if (gate) {
            parked++
            await gate
            parked--
            continue
          }
          const t0 = performance.now()
          await body()
          const wait = intervalMs - (performance.now() - t0)
          if (wait > 0) await Bun.sleep(wait)
        }
      })(),
    )
  }
  const quiet = async <T>(read: () => Promise<T>): Promise<T> => {
    gate = new Promise((r) => (openGate = r))
    while (parked < loops.length) await Bun.sleep(5)
    // Let closes of churn sockets reach the server.
    await Bun.sleep(500)
    try {
      return await read()
    } finally {
      gate = undefined
      openGate()
    }
  }
  /** Median of five readings a second apart: one reading can catch the heap just before a collection. */
  const steadyRss = async () => {
    const v: number[] = []
    for (let i = 0; i < 5; i++) {
      if (i) await Bun.sleep(1000)
      v.push(rssMB(o.pid))
    }
    return v.sort((a, b) => a - b)[2]!
  }

  // Churn: two loops, each a full connect → health → close cycle.
  const churnEvery = 2000 / (o.churnPerSec ?? 10)
  for (let i = 0; i < 2; i++) {
    loop(churnEvery, async () => {
      try {
        const c = await rpc(o.url, o.token, ["operator.read"], "cli")
        await c.call("health")
        c.close()
        counts.churnConnections++
      } catch (err) {
        error("churn", err)
      }
    })
  }
  // Agent turns: two connections; a session lives for 20 turns, then is deleted.
  const agents = [
    await rpc(o.url, o.token, ["operator.read", "operator.write"], "backend"),
    await rpc(o.url, o.token, ["operator.read", "operator.write"], "backend"),
  ]
  const turnEvery = 2000 / (o.turnsPerSec ?? 10)
  agents.forEach((c, n) => {
    let generation = 0
    let turns = 0
    loop(turnEvery, async () => {
      const sessionKey = `agent:main:soak-${n}-${generation}`
      try {
        await c.call("agent", { message: `turn ${turns}`, sessionKey, idempotencyKey: crypto.randomUUID() }, true)
        counts.agentTurns++
        if (++turns % 20 === 0) {
          await c.call("sessions.delete", { key: sessionKey, deleteTranscript: true })
          counts.sessionsDeleted++
          generation++
        }
      } catch (err) {
        error("agent", err)
      }
      // The fake logs every request; the soak does not need them.
      if (o.fake.requests.length > 1000) o.fake.requests.length = 0
    })
  })
  // Reads.
  const reader = await rpc(o.url, o.token, ["operator.read"], "backend")
  const reads = ["config.get", "status", "system-presence"]
  let r = 0
  loop(1000 / (o.readsPerSec ?? 5), async () => {
    try {
      await reader.call(reads[r++ % reads.length]!)
      counts.reads++
    } catch (err) {
      error("read", err)
    }
  })

  const t0 = performance.now()
  const rssSamples: [number, number][] = []
  let max = 0
  const sampler = setInterval(() => {
    const v = rssMB(o.pid)
    max = Math.max(max, v)
    const t = Math.round((performance.now() - t0) / 1000)
    if (!rssSamples.length || t - rssSamples.at(-1)![0] >= 10) rssSamples.push([t, v])
  }, 1000)

  await Bun.sleep(o.warmupMs)
  const warm = await quiet(async () => ({ rss: await steadyRss(), fds: fdKinds(o.pid) }))
  await Bun.sleep(Math.max(0, o.durationMs - (performance.now() - t0) - 3500))
  const end = await quiet(async () => ({ rss: await steadyRss(), fds: fdKinds(o.pid) }))
  stop = true
  clearInterval(sampler)
  await Promise.all(loops)
  for (const c of [...agents, reader]) c.close()

  return {
    durationMs: Math.round(performance.now() - t0),
    warmupMs: o.warmupMs,
    counts,
    firstErrors,
    rssMB: { afterWarmup: warm.rss, end: end.rss, ratio: round(end.rss / warm.rss, 3), max },
    fds: { afterWarmup: warm.fds, end: end.fds },
    rssSamples,
  }
}

/** gateway.json for a soak against `fakeUrl`. */
export function soakConfig(fakeUrl: string): Record<string, unknown> {
  return {
    logging: { level: "warn" },
    models: {
      default: "fake/fake-model",
      providers: { fake: { baseUrl: fakeUrl, apiKey: "sk-soak", models: [{ id: "fake-model", contextWindow: 1_000_000 }] } },
    },
  }
}

if (import.meta.main) {
  const { startBinary } = await import("../e2e/harness.ts")
  const { startFakeOpenAI } = await import("../fakes/openai.ts")
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(name)
    return i >= 0 ? Number(process.argv[i + 1]) : dflt
  }
  const bi = process.argv.indexOf("--binary")
  const token = "soak-token-0123456789abcdef"
  const fake = startFakeOpenAI(() => ({ text: "ok", usage: { input: 10, output: 1 } }))
  const gw = await startBinary({ args: ["--token", token], config: soakConfig(fake.url), ...(bi >= 0 ? { binary: process.argv[bi + 1] } : {}) })
  try {
    const seconds = arg("--seconds", 120)
    const res = await soak({ url: gw.url, token, pid: gw.proc.pid, fake, durationMs: seconds * 1000, warmupMs: Math.min(60_000, seconds * 250) })
    process.stdout.write(`${JSON.stringify(res, null, 2)}\n`)
  } finally {
    await gw.stop("SIGKILL")
    await fake.stop()
  }
}
