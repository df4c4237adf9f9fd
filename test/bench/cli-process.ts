/**
 * The CLI as a process, for `bun run bench`: `gateway health` (start → handshake → `health` → exit) against a
 * running gateway, beside a FLOOR that does the same handshake and request (floor-health.ts), and `gateway
 * --version` beside a compiled program that only prints a version (floor-version.ts). Both floors are compiled with
 * the product's flags (buildFloors) and measured in the same run, alternating with the gateway run by run.
 *
 * Wall time is spawn → exit seen from here; peak RSS is the child's ru_maxrss as GNU time reports it, in separate
 * runs (time's own fork and exec are then not in the wall time). Bun.spawn's resourceUsage() cannot be used for
 * RSS: a posix_spawn child reports the spawning process's RSS (this bench's, ~35 MB) when that is higher.
 *
 * Both `health` clients talk to the same gateway (started with --token, fresh home): the gateway's as a user runs
 * it (GATEWAY_HOME set; it finds the port in the runtime file, the token in GATEWAY_TOKEN), the floor told the URL
 * and token. A second gateway row keeps the token in gateway.json instead, the case where the CLI validates the
 * config with zod (src/config/local.ts), for information.
 */
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { StartFn } from "./hostile.ts"
import { BENCH_TOKEN, median, round } from "./wire.ts"

const GNU_TIME = ["/usr/bin/time", "/bin/time"].find((p) => existsSync(p))

export const CLI_TARGETS = {
  healthWall: "gateway health as a process (start → answer → exit) <= 3 x the floor's wall time",
  healthRss: "gateway health as a process: peak RSS <= floor + 15 MB",
  versionWall: "gateway --version <= 15 ms",
}

/** Compiles the two CLI floors with the product's flags (install/build.ts: minified, bytecode, ESM, split). */
export async function buildFloors(outDir: string): Promise<{ health: string; version: string }> {
  const out = { health: join(outDir, "bench-floor-health"), version: join(outDir, "bench-floor-version") }
  for (const [name, outfile] of [
    ["floor-health.ts", out.health],
    ["floor-version.ts", out.version],
  ] as const) {
    const result = await Bun.build({
      entrypoints: [join(import.meta.dir, name)],
      compile: { target: `bun-${process.platform}-${process.arch}` as Bun.Build.CompileTarget, outfile, autoloadDotenv: false, autoloadBunfig: false },
      minify: true,
      bytecode: true,
      format: "esm",
      splitting: true,
    })
    if (!result.success) throw new Error(`building ${outfile} failed: ${result.logs.map(String).join("\n")}`)
  }
  return out
}

interface Sample {
  wallMs: number[]
  maxRssMB: number[]
}

interface Summary {
  wallMs: { median: number; min: number; max: number }
  maxRssMB: { median: number; min: number; max: number } | null
  runs: number
}

function summary(s: Sample): Summary {
  const st = (v: number[]) => ({ median: round(median(v)), min: round(Math.min(...v)), max: round(Math.max(...v)) })
  return { wallMs: st(s.wallMs), maxRssMB: s.maxRssMB.length ? st(s.maxRssMB) : null, runs: s.wallMs.length }
}

interface Cmd {
  argv: string[]
  env: Record<string, string>
  /** What stdout must start with (a run that does not is an error, not a figure). */
  expect: string
}

/** One run: wall time (plain spawn) or peak RSS (under GNU time). */
async function once(cmd: Cmd, rss: boolean): Promise<number> {
  const marker = "@@maxrss="
  const argv = rss ? [GNU_TIME!, "-f", `${marker}%M`, ...cmd.argv] : cmd.argv
  const t0 = performance.now()
  const p = Bun.spawn(argv, { env: cmd.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  const wall = performance.now() - t0
  if (code !== 0 || !out.startsWith(cmd.expect)) {
    throw new Error(`${cmd.argv.join(" ")} exited ${code}: ${out.slice(0, 300)} ${err.slice(-600)}`)
  }
  if (!rss) return wall
  const kb = Number(err.slice(err.lastIndexOf(marker) + marker.length).trim())
  if (!Number.isFinite(kb)) throw new Error(`no peak RSS from ${GNU_TIME}: ${err.slice(-300)}`)
  return kb / 1024
}

/** Runs every command `runs` times (after one untimed run each), alternating their order, wall and RSS passes. */
async function measure(cmds: Cmd[], runs: number): Promise<Sample[]> {
  const samples = cmds.map(() => ({ wallMs: [] as number[], maxRssMB: [] as number[] }))
  for (const c of cmds) await once(c, false)
  for (let i = 0; i < runs; i++) {
    const order = cmds.map((_, j) => j)
    if (i % 2) order.reverse()
    for (const j of order) samples[j]!.wallMs.push(await once(cmds[j]!, false))
    if (GNU_TIME) for (const j of order) samples[j]!.maxRssMB.push(await once(cmds[j]!, true))
  }
  return samples
}

export interface CliBench {
  method: string
  health: { gateway: Summary; gatewayConfigToken: Summary; floor: Summary; wallRatio: number; rssDeltaMB: number | null }
  version: { gateway: Summary; floor: Summary }
  targets: typeof CLI_TARGETS
  pass: { healthWall: boolean; healthRss: boolean | null; versionWall: boolean }
}

export async function benchCli(
  gatewayBin: string,
  floors: { health: string; version: string },
  opts: { start: StartFn; newHome: () => string; runs: number; progress: (msg: string) => void },
): Promise<CliBench> {
  const PATH = process.env.PATH ?? "/usr/bin:/bin"
  // `health`: one gateway per home; the second home keeps the token in gateway.json (and the client gets none).
  const home = opts.newHome()
  const configHome = opts.newHome()
  writeFileSync(join(configHome, "gateway.json"), JSON.stringify({ gateway: { auth: { token: BENCH_TOKEN } } }), { mode: 0o600 })
  const gw = await opts.start(gatewayBin, home)
  const gwConfig = await opts.start(gatewayBin, configHome)
  let health: CliBench["health"]
  try {
    const env = (h: string, extra: Record<string, string> = {}) => ({
      PATH,
      HOME: h,
      GATEWAY_HOME: h,
      GATEWAY_SYSTEM_CONFIG: join(h, "no-system-config.json"),
      ...extra,
    })
    const [g, gc, f] = await measure(
      [
        { argv: [gatewayBin, "health"], env: env(home, { GATEWAY_TOKEN: BENCH_TOKEN }), expect: "gateway ok" },
        { argv: [gatewayBin, "health"], env: env(configHome), expect: "gateway ok" },
        { argv: [floors.health], env: { PATH, GATEWAY_URL: gw.url, GATEWAY_TOKEN: BENCH_TOKEN }, expect: "floor ok" },
      ],
      opts.runs,
    )
    const [gateway, gatewayConfigToken, floor] = [summary(g!), summary(gc!), summary(f!)]
    health = {
      gateway,
      gatewayConfigToken,
      floor,
      wallRatio: round(gateway.wallMs.median / floor.wallMs.median, 3),
      rssDeltaMB: gateway.maxRssMB && floor.maxRssMB ? round(gateway.maxRssMB.median - floor.maxRssMB.median) : null,
    }
    opts.progress(
      `health as a process: gateway ${gateway.wallMs.median} ms ${gateway.maxRssMB?.median ?? "?"} MB (token in gateway.json: ${gatewayConfigToken.wallMs.median} ms ${gatewayConfigToken.maxRssMB?.median ?? "?"} MB) | floor ${floor.wallMs.median} ms ${floor.maxRssMB?.median ?? "?"} MB`,
    )
  } finally {
    await gw.stop()
    await gwConfig.stop()
  }
  const [v, vf] = await measure(
    [
      { argv: [gatewayBin, "--version"], env: { PATH }, expect: "" },
      { argv: [floors.version], env: { PATH }, expect: "" },
    ],
    opts.runs,
  )
  const version = { gateway: summary(v!), floor: summary(vf!) }
  opts.progress(`--version: gateway ${version.gateway.wallMs.median} ms | console.log binary ${version.floor.wallMs.median} ms`)
  return {
    method:
      `${opts.runs} runs per command after one untimed run, order alternating run by run; wall = Bun.spawn → exit; peak RSS = ru_maxrss from ${GNU_TIME ?? "GNU time (missing: no RSS)"} in separate runs; ` +
      "health: both clients against the same gateway (fresh home, --token), the gateway's finding it through GATEWAY_HOME (runtime file) with GATEWAY_TOKEN, the floor given GATEWAY_URL and GATEWAY_TOKEN",
    health,
    version,
    targets: CLI_TARGETS,
    pass: {
      healthWall: health.wallRatio <= 3,
      healthRss: health.rssDeltaMB === null ? null : health.rssDeltaMB <= 15,
      versionWall: version.gateway.wallMs.median <= 15,
    },
  }
}
