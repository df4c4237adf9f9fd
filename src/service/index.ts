/**
 * Service management behind `gateway install|uninstall|start|stop|restart|status`: picks the backend and scope,
 * runs the backend through a Host (real, dry run or recorder), waits for the service to come up and probes it over
 * RPC. Every function returns a report (ok or not) that the CLI prints as text or JSON; only bugs throw.
 */
import { resolve } from "node:path"
import { explainAuthError } from "../client/explain.ts"
import { GatewayClient, GatewayRequestError } from "../client/index.ts"
import { localConnection } from "../config/local.ts"
import { VERSION } from "../version.ts"
import { probeSystemd, type Backend, type Scope } from "./detect.ts"
import { LaunchdManager } from "./launchd.ts"
import type { InstallSpec, InstalledInfo, LogTail, Runtime, ServiceManager } from "./manager.ts"
import { Host, spawnRunner, type Action, type Runner } from "./runner.ts"
import {
  buildFolderOf,
  copyDestination,
  DEFAULT_NAME,
  ServiceError,
  gatewayProgram,
  isCompiled,
  locate,
  validateBind,
  validateName,
  validatePort,
  type ServiceLocation,
  type ServiceOptions,
} from "./spec.ts"
import { stageImage, stagedPaths } from "./stage.ts"
import { SystemdManager } from "./systemd.ts"

export type { ServiceOptions } from "./spec.ts"
export type { Action } from "./runner.ts"
export type { InstalledInfo } from "./manager.ts"

export interface RpcProbe {
  ok: boolean
  url: string
  ms?: number
  version?: string
  error?: string
}

export type ServiceAction = "install" | "uninstall" | "start" | "stop" | "restart"

export interface ServiceReport {
  ok: boolean
  action: ServiceAction
  /** installed, reinstalled, staged, uninstalled, not-installed, started, stopped, already-stopped, restarted, failed. */
  result: string
  message: string
  backend: Backend | null
  scope: Scope | null
  name: string
  /** gateway.service or the launchd label. */
  unit: string | null
  /** The unit file or plist. */
  path: string | null
  dryRun: boolean
  /** Every file written and command run (or, in a dry run, that would be), in order. Secrets are redacted. */
  actions: Action[]
  notes: string[]
  warnings: string[]
  hints: string[]
  error?: { code: string; message: string }
  runtime?: Runtime
  rpc?: RpcProbe
  logs?: LogTail
}

export interface StatusReport {
  ok: boolean
  backend: Backend | null
  scope: Scope | null
  name: string
  unit: string | null
  path: string | null
  installed: boolean
  /** The unit/plist carries `gateway install`'s marker. */
  generated: boolean
  enabled: boolean | null
  active: boolean
  state: string
  pid: number | null
  lastExit: { code: number | null; text: string | null }
  restarts: number | null
  command: string[]
  home: string | null
  port: number | null
  bind: string | null
  url: string | null
  rpc: RpcProbe | null
  logs: LogTail
  hints: string[]
  error?: { code: string; message: string }
}

export interface Deps {
  /** Default: real commands (spawnRunner). Tests pass a RecordingRunner. */
  runner?: Runner
  /** Default: GatewayClient health over WebSocket. */
  probe?: (target: { url: string; token?: string; password?: string }, timeoutMs: number) => Promise<RpcProbe>
}

function managerFor(host: Host, loc: ServiceLocation, opts: ServiceOptions): ServiceManager {
  const env = opts.env ?? process.env
  return loc.backend === "launchd" ? new LaunchdManager(host, loc, env, opts.uid ?? process.getuid?.()) : new SystemdManager(host, loc, env)
}

function baseReport(action: ServiceAction, host: Host, opts: ServiceOptions, loc?: ServiceLocation): ServiceReport {
  return {
    ok: true,
    action,
    result: "",
    message: "",
    backend: loc?.backend ?? null,
    scope: loc?.scope ?? null,
    name: loc?.name ?? opts.name ?? DEFAULT_NAME,
    unit: loc?.unit ?? null,
    path: loc?.path ?? null,
    dryRun: host.dryRun,
    actions: host.actions,
    notes: host.notes,
    warnings: host.warnings,
    hints: [],
  }
}

/** A dry run's outcome describes what would happen. */
function merge(report: ServiceReport, out: { result: string; message: string }): ServiceReport {
  return { ...report, ...out, message: report.dryRun ? `dry run, nothing changed; would have: ${out.message}` : out.message }
}

function failReport(report: ServiceReport, err: unknown): ServiceReport {
  if (!(err instanceof ServiceError)) throw err
  return {
    ...report,
    ok: false,
    result: "failed",
    message: err.message,
    error: { code: err.data.code ?? "SERVICE_ERROR", message: err.message },
    hints: [...report.hints, ...(err.data.hints ?? [])],
  }
}

/** Health over WebSocket with a short timeout: {ok, ms, version} or the error. */
async function probeRpc(target: { url: string; token?: string; password?: string }, timeoutMs: number): Promise<RpcProbe> {
  const started = performance.now()
  let client: GatewayClient | undefined
  try {
    client = await GatewayClient.connect({ ...target, timeoutMs, scopes: ["operator.read"], clientId: "cli", mode: "probe" })
    const health = await client.request("health", undefined, { timeoutMs })
    const ms = Math.round(performance.now() - started)
    return { ok: health.ok, url: target.url, ms, version: client.hello.server.version, ...(health.ok ? {} : { error: "gateway reports unhealthy" }) }
  } catch (err) {
    const auth = err instanceof GatewayRequestError ? explainAuthError(err, { url: target.url }) : undefined
    return { ok: false, url: target.url, error: auth ?? (err as Error).message }
  } finally {
    client?.close()
  }
}

/**
 * Where and how to reach the installed gateway: its runtime file when it runs (where it really listens), else its
 * unit's --port/--bind/--home, its env file's secret, its config.
 */
async function rpcTarget(
  info: InstalledInfo | undefined,
  loc: ServiceLocation,
  opts: ServiceOptions,
): Promise<{ url: string; token?: string; password?: string; home: string; port: number; bind: string | null }> {
  const home = info?.home ?? loc.defaultHome
  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env), ...(info?.env ?? {}) }
  if (info?.port !== undefined) env.GATEWAY_PORT = String(info.port)
  let url = `ws://127.0.0.1:${info?.port ?? 18789}`
  let token = env.GATEWAY_TOKEN
  let password = env.GATEWAY_PASSWORD
  try {
    const lc = await localConnection(home, env)
    url = lc.url
    token = lc.token
    password = lc.password
  } catch {}
  const bind = info?.bind ?? null
  if (bind && !/^(loopback|localhost|lan|0\.0\.0\.0|::)$/.test(bind)) {
    const u = new URL(url)
    url = `ws://${bind.includes(":") ? `[${bind}]` : bind}:${u.port}`
  }
  if (opts.token) token = opts.token
  return { url, token, password, home, port: Number(new URL(url).port || 80), bind }
}

/** After start: poll the manager until the service runs and (unless disabled) answers RPC, or fails, or time runs out. */
async function waitUntilUp(mgr: ServiceManager, opts: ServiceOptions, deps: Deps, report: ServiceReport): Promise<void> {
  const waitMs = opts.waitMs ?? 15_000
  if (report.dryRun || waitMs <= 0) return
  const probe = deps.probe ?? probeRpc
  const deadline = Date.now() + waitMs
  let rt: Runtime
  let rpc: RpcProbe | undefined
  for (;;) {
    rt = await mgr.runtime()
    if (rt.state.startsWith("failed") || (!rt.active && rt.lastExitCode === 78)) break
    if (rt.active) {
      if (opts.probe === false) break
      rpc = await probe(await rpcTarget(mgr.installed(), mgr.location, opts), Math.min(opts.probeTimeoutMs ?? 3000, Math.max(500, deadline - Date.now())))
      if (rpc.ok) break
    }
    if (Date.now() >= deadline) break
    await Bun.sleep(400)
  }
  report.runtime = rt
  if (rpc) report.rpc = rpc
  if (!rt.active) {
    report.logs = await mgr.logs(opts.logLines ?? 10)
    const refused = rt.lastExitCode === 78 ? " (exit 78: the gateway refused its configuration; it is not restarted until fixed)" : ""
    throw new ServiceError({
      message: `${mgr.location.unit} did not stay up: ${rt.state}${rt.lastExit ? `, last exit: ${rt.lastExit}` : ""}${refused}`,
      hints: [
        ...(report.logs.lines.length ? [`Last log lines (${report.logs.source}):`, ...report.logs.lines.map((l) => `  ${l}`)] : []),
        "More: gateway status",
      ],
    })
  }
  if (rpc && !rpc.ok) report.warnings.push(`${mgr.location.unit} is running but did not answer RPC within ${waitMs} ms: ${rpc.error}`)
}

function checkToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined
  if (!token || /[\x00-\x1f\x7f]/.test(token)) throw new ServiceError({ message: "--token must be a non-empty single line", code: "BAD_OPTION" })
  if (token.length < 16)
    throw new ServiceError({ message: "--token must be at least 16 characters (generate one with: openssl rand -hex 24)", code: "BAD_OPTION" })
  return token
}

/**
 * The argv the service runs: this binary, or (--copy) a copy of it in a stable place. A binary inside a build
 * folder gets a warning: the unit would point into a directory the next build or clean-up rewrites.
 */
function serviceProgram(host: Host, loc: ServiceLocation, opts: ServiceOptions, env: NodeJS.ProcessEnv): string[] {
  const program = gatewayProgram(opts.binary)
  const compiled = Boolean(opts.binary) || isCompiled()
  if (opts.copy) {
    if (!compiled)
      throw new ServiceError({
        message: "--copy copies the compiled binary; this is running from source",
        hints: ["Build it (bun run build) and run dist/gateway install --copy"],
        code: "BAD_OPTION",
      })
    const dest = copyDestination(loc.scope, env)
    if (resolve(program[0]!) === dest) return program
    host.copy(program[0]!, dest, 0o755)
    return [dest]
  }
  const folder = compiled ? buildFolderOf(program[0]!) : undefined
  if (folder) {
    const dest = copyDestination(loc.scope, env)
    host.warn(
      `the service would run ${program[0]}, inside a build folder (${folder}): a rebuild or clean-up there changes or breaks the service. ` +
        `Copy it first (install -m 755 ${program[0]} ${dest}, then run '${dest} install'), or pass --copy`,
    )
  }
  return program
}

/** Refuses early, with the reason and what to do, when the backend cannot work here. A dry run only warns. */
async function preflight(host: Host, loc: ServiceLocation, opts: ServiceOptions, report: ServiceReport): Promise<void> {
  const env = opts.env ?? process.env
  const forced = Boolean(opts.backend || env.GATEWAY_SERVICE_BACKEND)
  const problems: ServiceError[] = []
  if (loc.backend === "systemd" && !forced) {
    const p = await probeSystemd(host, loc.scope, env)
    if (!p.ok) problems.push(new ServiceError({ message: p.reason!, hints: p.hints, code: "NO_SYSTEMD" }))
  }
  if (loc.backend === "launchd" && !forced && (opts.platform ?? process.platform) !== "darwin")
    problems.push(new ServiceError({ message: "launchd is only available on macOS", code: "NO_LAUNCHD" }))
  const uid = opts.uid ?? process.getuid?.()
  if (loc.scope === "system" && uid !== 0) {
    problems.push(
      new ServiceError({
        message: "a system service needs root",
        hints: [`Run: sudo ${gatewayProgram(opts.binary).join(" ")} ${process.argv.slice(2).join(" ")}`],
        code: "NEEDS_ROOT",
      }),
    )
  }
  if (!problems.length) return
  if (host.dryRun) {
    for (const p of problems) report.warnings.push(`${p.message} (dry run: showing the plan anyway)`)
    return
  }
  throw problems[0]
}

/** `gateway install`: write the unit/plist (+ env file), enable, (re)start, wait for it, probe it. */
export async function installService(opts: ServiceOptions, deps: Deps = {}): Promise<ServiceReport> {
  const env = opts.env ?? process.env
  const host = new Host(deps.runner ?? spawnRunner(env), opts.dryRun ?? false)
  let report = baseReport("install", host, opts)
  try {
    const port = validatePort(opts.port)
    const bind = validateBind(opts.bind)
    const token = checkToken(opts.token)
    if (opts.root) {
      const name = validateName(opts.name ?? DEFAULT_NAME)
      const scope: Scope = opts.system ? "system" : "user"
      if (!opts.binary && !isCompiled())
        throw new ServiceError({
          message: "--root copies the compiled binary; this is running from source",
          hints: ["Pass it explicitly: --binary dist/gateway"],
          code: "BAD_OPTION",
        })
      const root = resolve(opts.root)
      const paths = stagedPaths({ root, scope, name })
      report = { ...report, backend: "systemd", scope, name, unit: `${name}.service`, path: paths.unit }
      const out = stageImage(host, {
        root,
        scope,
        name,
        binary: opts.binary ? resolve(opts.binary) : process.execPath,
        port,
        bind,
        token,
        userName: opts.userName,
        force: opts.force,
        version: VERSION,
      })
      return merge(report, out)
    }
    if (opts.userName && !opts.system) throw new ServiceError({ message: "--user-name is for system services: add --system", code: "BAD_OPTION" })
    const loc = locate({ ...opts, user: !opts.system })
    report = baseReport("install", host, opts, loc)
    await preflight(host, loc, opts, report)
    const program = serviceProgram(host, loc, opts, env)
    const spec: InstallSpec = {
      program,
      home: loc.defaultHome,
      port,
      bind,
      token,
      userName: opts.userName,
      force: opts.force ?? false,
      version: VERSION,
      env,
      platform: opts.platform ?? process.platform,
    }
    const mgr = managerFor(host, loc, opts)
    const out = await mgr.install(spec)
    report = merge(report, out)
    await waitUntilUp(mgr, opts, deps, report)
    if (!host.dryRun)
      report.hints.push(`Check it with: gateway status${loc.scope === "system" ? " --system" : ""}${loc.name !== DEFAULT_NAME ? ` --name ${loc.name}` : ""}`)
    return report
  } catch (err) {
    return failReport(report, err)
  }
}

/** `gateway uninstall`: stop, disable, remove the unit/plist and env file; keep the state home. Missing: a no-op. */
export async function uninstallService(opts: ServiceOptions, deps: Deps = {}): Promise<ServiceReport> {
  const env = opts.env ?? process.env
  const host = new Host(deps.runner ?? spawnRunner(env), opts.dryRun ?? false)
  let report = baseReport("uninstall", host, opts)
  try {
    const loc = locate(opts)
    report = baseReport("uninstall", host, opts, loc)
    const uid = opts.uid ?? process.getuid?.()
    const mgr = managerFor(host, loc, opts)
    if (loc.scope === "system" && uid !== 0 && !host.dryRun && (mgr.installed() || host.exists(loc.path))) {
      throw new ServiceError({ message: "removing a system service needs root", hints: ["Run: sudo gateway uninstall --system"], code: "NEEDS_ROOT" })
    }
    return merge(report, await mgr.uninstall())
  } catch (err) {
    return failReport(report, err)
  }
}

/** `gateway start|stop|restart`. start and restart wait until the service answers (like install). */
export async function controlService(action: "start" | "stop" | "restart", opts: ServiceOptions, deps: Deps = {}): Promise<ServiceReport> {
  const env = opts.env ?? process.env
  const host = new Host(deps.runner ?? spawnRunner(env), opts.dryRun ?? false)
  let report = baseReport(action, host, opts)
  try {
    const loc = locate(opts)
    report = baseReport(action, host, opts, loc)
    const uid = opts.uid ?? process.getuid?.()
    if (loc.scope === "system" && uid !== 0 && !host.dryRun)
      throw new ServiceError({ message: `${action}ing a system service needs root`, hints: [`Run: sudo gateway ${action}`], code: "NEEDS_ROOT" })
    const mgr = managerFor(host, loc, opts)
    const out = action === "start" ? await mgr.start() : action === "stop" ? await mgr.stop() : await mgr.restart()
    report = merge(report, out)
    if (action !== "stop") await waitUntilUp(mgr, opts, deps, report)
    return report
  } catch (err) {
    return failReport(report, err)
  }
}

/**
 * `gateway status`: the manager's view (loaded, enabled, active, pid, last exit, restarts), the command line and
 * state home read back from the unit, a live RPC health probe, and the last log lines. ok = installed, running and
 * answering.
 */
export async function serviceStatus(opts: ServiceOptions, deps: Deps = {}): Promise<StatusReport> {
  const env = opts.env ?? process.env
  const host = new Host(deps.runner ?? spawnRunner(env), false)
  const empty: StatusReport = {
    ok: false,
    backend: null,
    scope: null,
    name: opts.name ?? DEFAULT_NAME,
    unit: null,
    path: null,
    installed: false,
    generated: false,
    enabled: null,
    active: false,
    state: "unknown",
    pid: null,
    lastExit: { code: null, text: null },
    restarts: null,
    command: [],
    home: null,
    port: null,
    bind: null,
    url: null,
    rpc: null,
    logs: { source: "none", lines: [] },
    hints: [],
  }
  let loc: ServiceLocation
  try {
    loc = locate(opts)
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err
    return { ...empty, error: { code: err.data.code ?? "SERVICE_ERROR", message: err.message }, hints: err.data.hints ?? [] }
  }
  const mgr = managerFor(host, loc, opts)
  const info = mgr.installed()
  const hints: string[] = []
  const forced = Boolean(opts.backend || env.GATEWAY_SERVICE_BACKEND)
  if (loc.backend === "systemd" && !forced) {
    const p = await probeSystemd(host, loc.scope, env)
    if (!p.ok) hints.push(p.reason!, ...p.hints)
  }
  const rt = await mgr.runtime()
  const target = await rpcTarget(info, loc, opts)
  const probe = deps.probe ?? probeRpc
  const rpc = opts.probe === false ? null : await probe(target, opts.probeTimeoutMs ?? 3000)
  const logs = await mgr.logs(opts.logLines ?? 10)
  const installed = Boolean(info) || rt.loaded
  if (!installed) hints.push(`Not installed. Install it with: gateway install${loc.scope === "system" ? " --system" : ""}`)
  else if (!rt.active) hints.push(`Start it with: gateway start${loc.scope === "system" ? " --system" : ""}`)
  if (installed && rt.active && rpc && !rpc.ok && /unauthor|token|password|auth/i.test(rpc.error ?? "")) {
    hints.push("The gateway runs but refused this CLI's credentials: pass --token, or run as the service's user (sudo for a system unit).")
  }
  return {
    ok: installed && rt.active && (rpc?.ok ?? true),
    backend: loc.backend,
    scope: loc.scope,
    name: loc.name,
    unit: loc.unit,
    path: info?.path ?? null,
    installed,
    generated: info?.generated ?? false,
    enabled: rt.enabled,
    active: rt.active,
    state: rt.state,
    pid: rt.pid,
    lastExit: { code: rt.lastExitCode, text: rt.lastExit },
    restarts: rt.restarts,
    command: info?.argv ?? [],
    home: target.home,
    port: target.port,
    bind: target.bind,
    url: target.url,
    rpc,
    logs,
    hints,
  }
}

/**
 * The installed service's unit/plist read back (program, --home/--port/--bind, env file), or undefined. Reads files
 * only, runs nothing: cheap enough for the CLI to find the port a service was installed with.
 *
 * @example
 * const svc = installedService()  // user unit, else system unit, else the LaunchAgent
 * const port = svc?.port          // `gateway install --port N` put it in ExecStart, not in gateway.json
 */
export function installedService(opts: ServiceOptions = {}): (InstalledInfo & { location: ServiceLocation }) | undefined {
  let loc: ServiceLocation
  try {
    loc = locate(opts)
  } catch {
    return undefined
  }
  const info = managerFor(new Host(spawnRunner(opts.env), true), loc, opts).installed()
  return info ? { ...info, location: loc } : undefined
}
