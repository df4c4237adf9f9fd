/**
 * The long forms of test/load/ for `bun run bench`, each figure beside its floor or target:
 *   connections  1,000 `cli` connections opened (4 handshakes in flight, the per-address cap), held while `health`
 *                round trips are timed, then all closed at once; the same load against the floor server;
 *   fuzz         22,000 mutated recorded frames before and after the handshake (seed 1);
 *   soak         mixed traffic (churn, agent turns against an instant fake model, reads) for --soak-minutes
 *                (default 30), RSS and descriptors compared between the end and the warm-up.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startFakeOpenAI } from "../fakes/openai.ts"
import { type ConnectionLoadResult, connectionLoad } from "../load/connections.ts"
import { FUZZ_CONFIG, type FuzzResult, fuzz } from "../load/fuzz.ts"
import { SOCKET_SLACK, type SoakResult, soak, soakConfig } from "../load/soak.ts"
import { BENCH_TOKEN } from "./wire.ts"

/** What run.ts passes: starts a binary on a fresh home (written with `config` when given) and stops it. */
export type StartFn = (binary: string, home: string) => Promise<{ url: string; pid: number; stop(): Promise<void> }>

function homeWith(config?: unknown): string {
  const home = mkdtempSync(join(tmpdir(), "gw-bench-hostile-"))
  if (config !== undefined) writeFileSync(join(home, "gateway.json"), JSON.stringify(config), { mode: 0o600 })
  return home
}

export const CONNECTION_TARGETS = {
  open: "1,000 cli connections opened in < 3 s",
  release: "closing all 1,000 at once releases every socket within 5 s",
  rssReturn: "RSS back within 20 MB of its pre-load value after the close",
  holdingRss: "RSS while holding 1,000 connections <= floor's (same load) + 60 MB",
}

export interface ConnectionsBench {
  gateway: ConnectionLoadResult
  floor: ConnectionLoadResult
  targets: typeof CONNECTION_TARGETS
  pass: { open: boolean; release: boolean; rssReturn: boolean; holdingRss: boolean }
}

export async function benchConnections(gatewayBin: string, floorBin: string, start: StartFn, quick: boolean): Promise<ConnectionsBench> {
  const run = async (bin: string) => {
    const home = homeWith()
    const s = await start(bin, home)
    try {
      return await connectionLoad({
        url: s.url,
        token: BENCH_TOKEN,
        pid: s.pid,
        connections: 1000,
        concurrency: 4,
        holdMs: quick ? 1000 : 3000,
        releaseTimeoutMs: 5000,
      })
    } finally {
      await s.stop()
      rmSync(home, { recursive: true, force: true })
    }
  }
  const floor = await run(floorBin)
  const gateway = await run(gatewayBin)
  const ok = (r: ConnectionLoadResult) => r.opened === r.connections && r.failed === 0
  return {
    gateway,
    floor,
    targets: CONNECTION_TARGETS,
    pass: {
      open: ok(gateway) && gateway.openMs < 3000,
      release: gateway.releaseMs !== null && gateway.releaseMs <= 5000,
      rssReturn: gateway.rssReturnMs !== null,
      holdingRss: gateway.rssMB.holding <= floor.rssMB.holding + 60,
    },
  }
}

export async function benchFuzz(gatewayBin: string, start: StartFn, frames: number): Promise<FuzzResult & { pass: boolean }> {
  const home = homeWith(FUZZ_CONFIG)
  const s = await start(gatewayBin, home)
  try {
    const port = new URL(s.url).port
    const res = await fuzz({ url: s.url, httpUrl: `http://127.0.0.1:${port}`, token: BENCH_TOKEN, seed: 1, frames })
    return { ...res, pass: res.failureCount === 0 && res.healthyAfter }
  } finally {
    await s.stop()
    rmSync(home, { recursive: true, force: true })
  }
}

export async function benchSoak(
  gatewayBin: string,
  start: StartFn,
  minutes: number,
): Promise<SoakResult & { pass: { rss: boolean; fds: boolean; errors: boolean } }> {
  const fake = startFakeOpenAI(() => ({ text: "ok", usage: { input: 10, output: 1 } }))
  const home = homeWith(soakConfig(fake.url))
  const s = await start(gatewayBin, home)
  try {
    const durationMs = minutes * 60_000
    // RSS climbs for ~30 s while JIT tiers and caches fill: the warm-up is a quarter of the soak, 30 s to 2 min.
    const warmupMs = Math.min(120_000, Math.max(Math.min(30_000, durationMs / 2), durationMs / 4))
    const res = await soak({ url: s.url, token: BENCH_TOKEN, pid: s.pid, fake, durationMs, warmupMs })
    const { afterWarmup: w, end: e } = res.fds
    return {
      ...res,
      pass: {
        rss: res.rssMB.ratio <= 1.1,
        fds: e.files.join() === w.files.join() && e.sockets <= w.sockets + SOCKET_SLACK && e.pipes + e.other <= w.pipes + w.other,
        errors: res.counts.errors === 0,
      },
    }
  } finally {
    await s.stop()
    await fake.stop()
    rmSync(home, { recursive: true, force: true })
  }
}
