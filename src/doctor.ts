/** The checks behind `gateway doctor`, as data (the CLI prints them; tests assert on them). */
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { GatewayClient, GatewayUnreachableError } from "./client/index.ts"
import { StartupRefusal, readGeneratedToken, resolveAuth, resolveBind } from "./config/auth.ts"
import { loadConfig } from "./config/load.ts"
import { resolvePaths } from "./config/paths.ts"
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

async function portCheck(host: string, port: number, token: string | undefined, password: string | undefined): Promise<DoctorCheck> {
  const connectHost = host === "0.0.0.0" ? "127.0.0.1" : host
  try {
    const c = await GatewayClient.connect({ url: `ws://${connectHost}:${port}`, token, password, timeoutMs: 3000, scopes: ["operator.read"] })
    const h = await c.request("health")
    c.close()
    return { name: "port", status: h.ok ? "ok" : "warn", detail: `${port}: answered by a gateway ${c.hello.server.version} (health ${h.ok ? "ok" : "not ok"})` }
  } catch (err) {
    if (!(err instanceof GatewayUnreachableError)) {
      return { name: "port", status: "warn", detail: `${port}: something answers but the handshake failed: ${(err as Error).message}` }
    }
  }
  try {
    const probe = Bun.listen({ hostname: host, port, socket: { data() {} } })
    probe.stop(true)
    return { name: "port", status: "ok", detail: `${port} on ${host} is free (no gateway running)` }
  } catch (err) {
    return { name: "port", status: "fail", detail: `${port} on ${host} is taken by another program: ${(err as Error).message}` }
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
    const gw = loaded.config.gateway
    const port = env.GATEWAY_PORT ? Number(env.GATEWAY_PORT) : gw.port
    try {
      const bind = resolveBind(gw.bind)
      const token = env.GATEWAY_TOKEN || env.OPENCLAW_GATEWAY_TOKEN || gw.auth.token
      const password = env.GATEWAY_PASSWORD || env.OPENCLAW_GATEWAY_PASSWORD || gw.auth.password
      if (!bind.loopback) resolveAuth({ ...loaded.config, gateway: { ...gw, auth: { ...gw.auth, token, password } } }, paths, bind)
      checks.push({
        name: "auth",
        status: "ok",
        detail: `bind ${gw.bind} (${bind.host}), auth ${gw.auth.mode ?? (token ? "token" : password ? "password" : "generated token")}`,
      })
      checks.push(await portCheck(bind.host, port, token ?? (password ? undefined : readGeneratedToken(paths)), password))
    } catch (err) {
      checks.push({ name: "auth", status: "fail", detail: err instanceof StartupRefusal ? err.message : String(err) })
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
