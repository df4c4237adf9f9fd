/**
 * Agent-turn overhead of the compiled gateway against an instant fake model (OpenAI chat-completions SSE on
 * 127.0.0.1): `agent` request → final reply latency (p50/p99) one turn at a time, and turns per second with 16
 * sessions driving turns concurrently. The fake answers at once, so what is measured is the gateway: lanes, SQLite
 * writes, prompt assembly, the AI SDK call and the event fan-out.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startFakeOpenAI } from "../fakes/openai.ts"

import { BENCH_TOKEN as TOKEN } from "./wire.ts"

interface Pending {
  resolve(): void
  reject(e: Error): void
}

/** A minimal raw client: connect, then `agent` calls resolved on their final (second) reply. */
async function connect(url: string): Promise<{ turn(sessionKey: string, message: string): Promise<void>; close(): void }> {
  const ws = new WebSocket(url)
  const pending = new Map<string, Pending>()
  let nextId = 1
  await new Promise<void>((resolve, reject) => {
    ws.onerror = () => reject(new Error("cannot connect"))
    ws.onmessage = (ev) => {
      const f = JSON.parse(String(ev.data)) as {
        type: string
        event?: string
        id?: string
        ok?: boolean
        payload?: { status?: string }
        error?: { message: string }
      }
      if (f.type === "event" && f.event === "connect.challenge") {
        ws.send(
          JSON.stringify({
            type: "req",
            id: "c",
            method: "connect",
            params: {
              minProtocol: 4,
              maxProtocol: 4,
              client: { id: "bench", version: "1", platform: "linux", mode: "backend" },
              auth: { token: TOKEN },
              scopes: ["operator.write"],
            },
          }),
        )
        return
      }
      if (f.type !== "res") return
      if (f.id === "c") return f.ok ? resolve() : reject(new Error(f.error?.message))
      const p = pending.get(f.id!)
      if (!p) return
      if (f.ok && f.payload?.status === "accepted") return
      pending.delete(f.id!)
      if (f.ok && f.payload?.status === "ok") p.resolve()
      else p.reject(new Error(f.error?.message ?? `status ${f.payload?.status}`))
    }
  })
  return {
    turn(sessionKey, message) {
      const id = String(nextId++)
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        ws.send(JSON.stringify({ type: "req", id, method: "agent", params: { message, sessionKey, idempotencyKey: crypto.randomUUID() } }))
      })
    },
    close: () => ws.close(),
  }
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0
}

const r2 = (n: number) => Math.round(n * 100) / 100

export interface AgentTurnsResult {
  sequential: { turns: number; p50Ms: number; p99Ms: number; meanMs: number; modelServerMsP50: number; overheadP50Ms: number }
  concurrent: { sessions: number; durationMs: number; turns: number; turnsPerSec: number; errors: number }
  targets: { overheadP50Ms: number }
  pass: { overheadP50: boolean }
}

export async function benchAgentTurns(
  binary: string,
  opts: { quick: boolean; start: (binary: string, home: string) => Promise<{ url: string; stop(): Promise<void> }> },
): Promise<AgentTurnsResult> {
  // The fake records how long it spends per request, so the gateway's share can be told apart.
  const modelMs: number[] = []
  const fake = startFakeOpenAI(() => ({ text: "ok", usage: { input: 10, output: 1 } }))
  const home = mkdtempSync(join(tmpdir(), "gw-bench-agent-"))
  writeFileSync(
    join(home, "gateway.json"),
    JSON.stringify({
      logging: { level: "warn" },
      models: {
        default: "fake/fake-model",
        providers: { fake: { baseUrl: fake.url, apiKey: "sk-bench", models: [{ id: "fake-model", contextWindow: 1_000_000 }] } },
      },
      agents: { defaults: { maxConcurrent: 16 } },
    }),
  )
  const server = await opts.start(binary, home)
  try {
    const client = await connect(server.url)
    const warmup = opts.quick ? 10 : 30
    const turns = opts.quick ? 60 : 300
    for (let i = 0; i < warmup; i++) await client.turn(`agent:main:bench-warm-${i % 4}`, "warm up")
    const lat: number[] = []
    for (let i = 0; i < turns; i++) {
      const before = fake.requests.length
      const t0 = performance.now()
      // A fresh session every 20 turns keeps transcripts (and so the request size) realistic rather than growing forever.
      await client.turn(`agent:main:bench-seq-${Math.floor(i / 20)}`, `turn ${i}`)
      lat.push(performance.now() - t0)
      if (fake.requests.length !== before + 1) throw new Error("expected exactly one model call per turn")
    }
    // The fake's own handling time: a bare HTTP round trip to it from this process.
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now()
      const res = await fetch(`${fake.url}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "fake-model", messages: [{ role: "user", content: "x" }], stream: true }),
      })
      await res.text()
      modelMs.push(performance.now() - t0)
    }
    const sorted = [...lat].sort((a, b) => a - b)
    const modelSorted = [...modelMs].sort((a, b) => a - b)

    const sessions = 16
    const durationMs = opts.quick ? 2000 : 5000
    // One handshake at a time: all of them come from 127.0.0.1, and the gateway reads at most a few unauthenticated
    // sockets per address at once (gateway.preauth).
    const clients: Awaited<ReturnType<typeof connect>>[] = []
    for (let i = 0; i < sessions; i++) clients.push(await connect(server.url))
    let done = 0
    let errors = 0
    const until = performance.now() + durationMs
    const t0 = performance.now()
    await Promise.all(
      clients.map(async (c, s) => {
        let n = 0
        while (performance.now() < until) {
          try {
            await c.turn(`agent:main:bench-par-${s}-${Math.floor(n++ / 20)}`, `turn ${n}`)
            done++
          } catch {
            errors++
          }
        }
      }),
    )
    const elapsed = performance.now() - t0
    for (const c of [client, ...clients]) c.close()
    const p50 = pct(sorted, 50)
    const overhead = Math.max(0, p50 - pct(modelSorted, 50))
    return {
      sequential: {
        turns,
        p50Ms: r2(p50),
        p99Ms: r2(pct(sorted, 99)),
        meanMs: r2(lat.reduce((a, b) => a + b, 0) / lat.length),
        modelServerMsP50: r2(pct(modelSorted, 50)),
        overheadP50Ms: r2(overhead),
      },
      concurrent: { sessions, durationMs: Math.round(elapsed), turns: done, turnsPerSec: r2((done / elapsed) * 1000), errors },
      targets: { overheadP50Ms: 5 },
      pass: { overheadP50: overhead <= 5 },
    }
  } finally {
    await server.stop()
    await fake.stop()
    rmSync(home, { recursive: true, force: true })
  }
}
