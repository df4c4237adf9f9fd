/** The checks behind `gateway doctor`, as data (the CLI prints them; tests assert on them). */
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { explainAuthError } from "./client/explain.ts"
import { GatewayClient, GatewayRequestError, GatewayUnreachableError } from "./client/index.ts"
import { planAuth, readGeneratedToken, resolveBind } from "./config/auth.ts"
import { loadConfig } from "./config/load.ts"
import { applyOverrides, envOverrides } from "./config/manager.ts"
import { resolvePaths } from "./config/paths.ts"
import { liveRuntime } from "./config/runtime.ts"
import { startupProblems } from "./config/startup-check.ts"
import { describePortHolder } from "./server/port-holder.ts"
import { openStore } from "./store/index.ts"
import { BUILD_ID, VERSION } from "./version.ts"

export interface DoctorCheck {
  name: string
  status: "ok" | "warn" | "fail"
  detail: string
}

export interface DoctorReport {
  ok: boolean
  version: string
  buildId: string
  bun: string
  platform: string
  sqliteVersion: string | null
  vecVersion: string | null
  checks: DoctorCheck[]
}

async function portCheck(host: string, port: number, token: string | undefined, password: string | undefined, home: string): Promise<DoctorCheck> {
  const connectHost = host === "0.0.0.0" ? "127.0.0.1" : host
  // The running gateway of this state home listens where its runtime file says (a --port flag, install --port).
  const rt = await liveRuntime(resolvePaths(home, {}))
  const url = rt?.url ?? `ws://${connectHost}:${port}`
  const where = rt
    ? `${rt.port} (from ${rt.portSource === "flag" ? "its --port flag" : rt.portSource === "env" ? "GATEWAY_PORT" : "the config"})`
    : String(port)
  try {
    const c = await GatewayClient.connect({ url, token, password, timeoutMs: 3000, scopes: ["operator.read"] })
    const h = await c.request("health")
    c.close()
    return {
      name: "port",
      status: h.ok ? "ok" : "warn",
      detail: `${where}: answered by a gateway ${c.hello.server.version} (health ${h.ok ? "ok" : "not ok"})`,
    }
  } catch (err) {
    if (!(err instanceof GatewayUnreachableError) || rt) {
      const why = err instanceof GatewayRequestError ? (explainAuthError(err, { url, runtime: rt }) ?? err.message) : (err as Error).message
      return { name: "port", status: "warn", detail: `${where}: something answers but the handshake failed: ${why}` }
    }
  }
  try {
    const probe = Bun.listen({ hostname: host, port, socket: { data() {} } })
    probe.stop(true)
    return { name: "port", status: "ok", detail: `${port} on ${host} is free (no gateway running)` }
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code !== "EADDRINUSE" && !/in use/i.test((err as Error).message))
      return { name: "port", status: "fail", detail: `${port} on ${host}: ${(err as Error).message}` }
    return { name: "port", status: "fail", detail: await describePortHolder({ host, port, token, password, home }) }
  }
}

export async function runDoctor(opts: { home?: string; env?: NodeJS.ProcessEnv } = {}): Promise<DoctorReport> {
  const env = opts.env ?? process.env
  const paths = resolvePaths(opts.home, env)
  const checks: DoctorCheck[] = []

  const loaded = loadConfig(paths.config, paths.systemConfig)
  if (loaded.config)
    checks.push({ name: "config", status: "ok", detail: loaded.exists ? `${paths.config} is valid` : `no ${paths.config}; embedded defaults apply` })
  else checks.push({ name: "config", status: "fail", detail: `${paths.config}: ${loaded.issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}` })

  try {
    mkdirSync(paths.home, { recursive: true, mode: 0o700 })
    const probe = join(paths.home, `.doctor-${process.pid}`)
    writeFileSync(probe, "ok")
    rmSync(probe)
    checks.push({ name: "state dir", status: "ok", detail: `${paths.home} is writable` })
  } catch (err) {
    checks.push({ name: "state dir", status: "fail", detail: `${paths.home} is not writable: ${(err as Error).message}` })
  }

  let sqliteVersion: string | null = null
  let vecVersion: string | null = null
  try {
    const store = await openStore({ file: ":memory:", cacheDir: paths.cacheDir })
    sqliteVersion = store.sqliteVersion
    vecVersion = store.vec.version
    checks.push({
      name: "sqlite",
      status: "ok",
      detail: `SQLite ${store.sqliteVersion}, ${store.appliedMigrations.length} embedded migration(s) apply cleanly`,
    })
    checks.push(
      store.vec.loaded
        ? { name: "sqlite-vec", status: "ok", detail: `sqlite-vec ${store.vec.version} loaded from ${store.vec.path}` }
        : { name: "sqlite-vec", status: "warn", detail: `not loaded (${store.vec.error}); vector search falls back to keyword search` },
    )
    store.close()
  } catch (err) {
    checks.push({ name: "sqlite", status: "fail", detail: (err as Error).message })
  }

  if (loaded.config) {
    let overrides: ReturnType<typeof envOverrides> = {}
    try {
      overrides = envOverrides(env)
    } catch (err) {
      checks.push({ name: "auth", status: "fail", detail: (err as Error).message })
    }
    // The config as `gateway run` would see it from this shell, checked the way start-up checks it.
    const effective = applyOverrides(loaded.config, overrides)
    const gw = effective.gateway
    const problems = startupProblems(effective)
    if (problems.length) checks.push({ name: "auth", status: "fail", detail: problems.map((p) => p.message).join("; ") })
    else {
      const bind = resolveBind(gw.bind)
      const auth = planAuth(effective, bind)
      checks.push({
        name: "auth",
        status: "ok",
        detail: `bind ${gw.bind} (${bind.host}), auth ${gw.auth.mode ?? (auth.generated ? "generated token" : auth.mode)}`,
      })
      const token = auth.token ?? (auth.generated ? readGeneratedToken(paths) : undefined)
      checks.push(await portCheck(bind.host, gw.port, token, auth.password, paths.home))
    }
  }

  checks.push(...permissionChecks([paths.config, paths.tokenFile, paths.database]))
  checks.push(...(await serviceChecks(opts.home, env)))

  return {
    ok: checks.every((c) => c.status !== "fail"),
    version: VERSION,
    buildId: BUILD_ID,
    bun: Bun.version,
    platform: `${process.platform}-${process.arch}`,
    sqliteVersion,
    vecVersion,
    checks,
  }
}

/** Files that may hold secrets must not be readable by other users. */
function permissionChecks(files: string[]): DoctorCheck[] {
  const loose: string[] = []
  for (const f of files) {
    try {
      const mode = statSync(f).mode & 0o777
      if (mode & 0o077) loose.push(`${f} is ${mode.toString(8)} (fix: chmod 600 ${f})`)
    } catch {
      // Absent files have nothing to leak.
    }
  }
  return [
    loose.length
      ? { name: "permissions", status: "warn", detail: loose.join("; ") }
      : { name: "permissions", status: "ok", detail: "config, token and database are private (0600)" },
  ]
}

/** The installed service, if any: running, and running this very binary; lingering for user units. */
async function serviceChecks(home: string | undefined, env: NodeJS.ProcessEnv): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = []
  try {
    const { serviceStatus } = await import("./service/index.ts")
    const s = await serviceStatus({ home, env, probe: false, logLines: 0 })
    if (!s.installed) out.push({ name: "service", status: "ok", detail: "not installed (optional: gateway install)" })
    else if (!s.active)
      out.push({
        name: "service",
        status: "warn",
        detail: `${s.unit} is ${s.state}${s.lastExit.text ? `, last exit ${s.lastExit.text}` : ""}: see gateway status`,
      })
    else if (Bun.isStandaloneExecutable && s.command[0] && s.command[0] !== process.execPath) {
      out.push({ name: "service", status: "warn", detail: `${s.unit} runs ${s.command[0]}, not ${process.execPath}: re-run gateway install` })
    } else out.push({ name: "service", status: "ok", detail: `${s.unit} (${s.backend} ${s.scope}) ${s.state}${s.pid ? `, pid ${s.pid}` : ""}` })
    if (s.installed && s.backend === "systemd" && s.scope === "user") {
      const user = env.USER ?? ""
      const linger = Bun.spawnSync(["loginctl", "show-user", user, "-P", "Linger"], { stderr: "ignore" }).stdout.toString().trim()
      if (linger !== "yes")
        out.push({ name: "linger", status: "warn", detail: `lingering is off: the gateway stops at logout. Fix: sudo loginctl enable-linger ${user}` })
    }
  } catch (err) {
    out.push({ name: "service", status: "warn", detail: `could not inspect the service manager: ${(err as Error).message}` })
  }
  return out
}
