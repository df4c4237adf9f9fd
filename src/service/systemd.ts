/**
 * systemd backend: builds the unit and its EnvironmentFile from an install spec, and drives systemctl, loginctl and
 * journalctl through a Host (so dry runs and tests record instead of running).
 */
import { statSync } from "node:fs"
import { dirname } from "node:path"
import { loadConfig } from "../config/load.ts"
import { resolvePaths } from "../config/paths.ts"
import { userBusEnv, systemctlError, type Scope } from "./detect.ts"
import {
  gatewayLogTail,
  runArgs,
  runFlags,
  type InstallSpec,
  type InstalledInfo,
  type LogTail,
  type Outcome,
  type Runtime,
  type ServiceManager,
} from "./manager.ts"
import type { Host, RunResult } from "./runner.ts"
import { ServiceError, currentUserName, servicePath, userHome, validateUserName, type ServiceLocation } from "./spec.ts"
import {
  GENERATED_MARKER,
  parseEnvironmentFile,
  parseExecStart,
  renderEnvironmentFile,
  renderSystemdUnit,
  unitValue,
  type EnvironmentFileRef,
} from "./systemd-unit.ts"

export interface SystemdFilesInput {
  scope: Scope
  name: string
  program: string[]
  /** State home; always set for system units. Omitted: the gateway's default (~/.gateway). */
  home?: string
  port?: number
  bind?: string
  token?: string
  userName?: string
  envFile: EnvironmentFileRef
  pathValue: string
  version?: string
  /** tools.exec.sandbox is "bwrap" in the gateway's config: the unit must let bubblewrap make its namespaces. */
  execSandbox?: boolean
}

export interface SystemdFiles {
  unit: string
  envFile: string
  envVars: Record<string, string>
}

const HOME_TREES = /^\/(home|root|run\/user)(\/|$)/

/** The unit text and the EnvironmentFile text for one service (pure). */
export function buildSystemdFiles(i: SystemdFilesInput): SystemdFiles {
  const system = i.scope === "system"
  const envVars: Record<string, string> = {}
  if (i.home) envVars.GATEWAY_HOME = i.home
  if (system && i.home) {
    // The account's home may be hidden by ProtectHome; the state dir is the only writable place anyway.
    envVars.HOME = i.home
    envVars.XDG_CACHE_HOME = `/var/cache/${i.name}`
  }
  envVars.PATH = i.pathValue
  if (i.token) envVars.GATEWAY_TOKEN = i.token
  let stateDirectory: string | undefined
  let readWritePaths: string[] | undefined
  let protectHome: "true" | "read-only" = "true"
  if (system) {
    const m = i.home ? /^\/var\/lib\/([^/]+)$/.exec(i.home) : null
    if (m) stateDirectory = m[1]
    else if (i.home) readWritePaths = [i.home]
    if ((i.home && HOME_TREES.test(i.home)) || i.program.some((p) => HOME_TREES.test(p))) protectHome = "read-only"
  }
  const unit = renderSystemdUnit({
    scope: i.scope,
    execStart: [...i.program, ...runArgs({ home: i.home, port: i.port, bind: i.bind })],
    description: `Gateway: always-on AI agent gateway (${i.name})`,
    environmentFile: i.envFile,
    user: system ? i.userName : undefined,
    stateDirectory,
    cacheDirectory: system ? i.name : undefined,
    configurationDirectory: system ? "gateway" : undefined,
    readWritePaths,
    protectHome,
    privilegedPort: system && i.port !== undefined && i.port < 1024,
    allowSandbox: i.execSandbox,
    version: i.version,
  })
  const envFile = renderEnvironmentFile(envVars, `Environment of ${i.name}.service, written by \`gateway install\` (mode 0600: may hold GATEWAY_TOKEN).`)
  return { unit, envFile, envVars }
}

/** Whether the config in the state home runs commands in bubblewrap (an unreadable or absent config: no). */
function usesExecSandbox(home: string): boolean {
  const paths = resolvePaths(home)
  const loaded = loadConfig(paths.config, paths.systemConfig)
  return loaded.config?.tools.exec.sandbox === "bwrap"
}

/** Every directory on the way is searchable by others and the file executable by others (a system user must run it). */
function runnableByOthers(path: string): boolean {
  try {
    if ((statSync(path).mode & 0o001) === 0) return false
    for (let d = dirname(path); d !== "/"; d = dirname(d)) if ((statSync(d).mode & 0o001) === 0) return false
    return true
  } catch {
    return false
  }
}

const NOT_FOUND = /not (be )?found|no such|does not exist|not loaded/i

export class SystemdManager implements ServiceManager {
  private busEnv: Record<string, string>

  constructor(
    readonly host: Host,
    readonly location: ServiceLocation,
    private env: NodeJS.ProcessEnv = process.env,
  ) {
    this.busEnv = location.scope === "user" ? userBusEnv(env) : {}
  }

  private ctl(...args: string[]): string[] {
    return this.location.scope === "user" ? ["systemctl", "--user", ...args] : ["systemctl", ...args]
  }

  private run(argv: string[], readOnly = false): Promise<RunResult> {
    return this.host.run(argv, { readOnly, env: Object.keys(this.busEnv).length ? this.busEnv : undefined, timeoutMs: 60_000 })
  }

  private async mustRun(argv: string[], what: string): Promise<void> {
    const r = await this.run(argv)
    if (r.code !== 0) throw new ServiceError({ message: `${what} failed: ${systemctlError(r.stderr, r.stdout)} (${argv.join(" ")})` })
  }

  /** The unit file in use: ours in /etc or ~/.config, else one an image put under /usr/lib. */
  private unitFile(): string | undefined {
    return [this.location.path, ...this.location.altPaths].find((p) => this.host.exists(p))
  }

  installed(): InstalledInfo | undefined {
    const path = this.unitFile()
    if (!path) return undefined
    const text = this.host.read(path) ?? ""
    const exec = unitValue(text, "Service", "ExecStart")
    const argv = exec ? parseExecStart(exec) : []
    let env: Record<string, string> = {}
    const ef = unitValue(text, "Service", "EnvironmentFile")
    if (ef) {
      const file = ef.replace(/^-/, "").replace(/%h/g, userHome(this.env)).replace(/%%/g, "%")
      const raw = this.host.read(file)
      if (raw) env = parseEnvironmentFile(raw)
    }
    const flags = runFlags(argv.slice(1))
    const port = flags.port ?? (env.GATEWAY_PORT ? Number(env.GATEWAY_PORT) : undefined)
    return { path, generated: text.includes(GENERATED_MARKER), argv, env, home: flags.home ?? env.GATEWAY_HOME, port, bind: flags.bind }
  }

  async install(spec: InstallSpec): Promise<Outcome> {
    const loc = this.location
    const system = loc.scope === "system"
    const existing = this.host.read(loc.path)
    if (existing !== undefined && !existing.includes(GENERATED_MARKER) && !spec.force) {
      throw new ServiceError({ message: `${loc.path} exists and was not written by 'gateway install'`, hints: ["Pass --force to replace it."], code: "EXISTS" })
    }
    let userName: string | undefined
    if (system) {
      userName = validateUserName(spec.userName ?? "gateway")
      if (!this.host.dryRun && !runnableByOthers(spec.program[0]!)) {
        throw new ServiceError({
          message: `${spec.program[0]} cannot be run by the service account '${userName}' (a directory on its path is private)`,
          hints: [
            `Copy the binary somewhere public first, e.g.: sudo install -m 0755 ${spec.program[0]} /usr/local/bin/gateway`,
            "then run: sudo /usr/local/bin/gateway install --system ...",
          ],
        })
      }
      const id = await this.run(["id", "-u", userName], true)
      if (id.code !== 0) {
        await this.mustRun(
          ["useradd", "--system", "--user-group", "--home-dir", spec.home, "--no-create-home", "--shell", "/usr/sbin/nologin", userName],
          `creating the account '${userName}'`,
        )
        if (!this.host.dryRun) this.host.note(`created the system account '${userName}'`)
      }
    }
    const files = buildSystemdFiles({
      scope: loc.scope,
      name: loc.name,
      program: spec.program,
      home: spec.home,
      port: spec.port,
      bind: spec.bind,
      token: spec.token,
      userName,
      envFile: { path: loc.envFile! },
      pathValue: servicePath({
        binaryDir: dirname(spec.program[0]!),
        home: system ? undefined : userHome(spec.env),
        platform: spec.platform,
      }),
      version: spec.version,
      execSandbox: usesExecSandbox(spec.home),
    })
    this.host.mkdir(dirname(loc.envFile!), system ? 0o755 : 0o700)
    this.host.write(loc.envFile!, files.envFile, 0o600, spec.token ? [spec.token] : [])
    if (system && !/^\/var\/lib\/[^/]+$/.test(spec.home)) {
      // StateDirectory= only manages /var/lib/<name>; any other home is created and handed over here.
      this.host.mkdir(spec.home, 0o700)
      await this.mustRun(["chown", `${userName}:`, spec.home], `giving ${spec.home} to ${userName}`)
    }
    this.host.write(loc.path, files.unit, 0o644)
    await this.mustRun(this.ctl("daemon-reload"), "systemctl daemon-reload")
    await this.mustRun(this.ctl("enable", loc.unit), `enabling ${loc.unit}`)
    // A unit that hit its start limit refuses to start until reset.
    await this.run(this.ctl("reset-failed", loc.unit))
    await this.mustRun(this.ctl("restart", loc.unit), `starting ${loc.unit}`)
    if (!system) await this.linger(spec.env)
    return {
      result: existing !== undefined ? "reinstalled" : "installed",
      message: `${existing !== undefined ? "reinstalled and restarted" : "installed and started"} ${loc.unit} (${loc.scope} unit ${loc.path})`,
    }
  }

  /** A user manager without a login session only exists with lingering: enable it, or say how. */
  private async linger(env: NodeJS.ProcessEnv): Promise<void> {
    const user = currentUserName(env)
    const r = await this.run(["loginctl", "show-user", user, "--property=Linger", "--value"], true)
    if (r.code === 0 && r.stdout.trim() === "yes") return
    const e = await this.run(["loginctl", "enable-linger", user])
    if (this.host.dryRun) return
    if (e.code === 0) this.host.note(`enabled lingering for ${user}: the gateway keeps running after you log out and starts at boot`)
    else {
      this.host.warn(
        `could not enable lingering for ${user} (${systemctlError(e.stderr, e.stdout)}): the gateway stops when you log out and does not start at boot. ` +
          `Fix: sudo loginctl enable-linger ${user}`,
      )
    }
  }

  async uninstall(): Promise<Outcome> {
    const loc = this.location
    const info = this.installed()
    const rt = await this.runtime()
    if (!info && !rt.loaded) return { result: "not-installed", message: `no ${loc.scope} unit ${loc.unit} is installed; nothing to do` }
    const d = await this.run(this.ctl("disable", "--now", loc.unit))
    if (d.code !== 0 && !NOT_FOUND.test(d.stderr)) this.host.warn(`systemctl disable --now ${loc.unit}: ${systemctlError(d.stderr, d.stdout)}`)
    const vendor = info !== undefined && info.path !== loc.path
    this.host.remove(loc.path)
    // An image's unit and env file are the OS's; only what `gateway install` wrote is removed.
    if (loc.envFile && !vendor) this.host.remove(loc.envFile)
    await this.run(this.ctl("daemon-reload"))
    await this.run(this.ctl("reset-failed", loc.unit))
    if (vendor) this.host.warn(`${info.path} belongs to the OS image and was left in place (disabled and stopped)`)
    const home = info?.home
    return { result: "uninstalled", message: `stopped, disabled and removed ${loc.unit}${home ? `; the state in ${home} was kept` : ""}` }
  }

  async start(): Promise<Outcome> {
    this.requireInstalled()
    await this.run(this.ctl("reset-failed", this.location.unit))
    await this.mustRun(this.ctl("start", this.location.unit), `starting ${this.location.unit}`)
    return { result: "started", message: `started ${this.location.unit}` }
  }

  async stop(): Promise<Outcome> {
    if (!this.installed()) return { result: "not-installed", message: `no ${this.location.scope} unit ${this.location.unit} is installed; nothing to stop` }
    const rt = await this.runtime()
    if (!this.host.dryRun && !rt.active && !rt.state.startsWith("activating"))
      return { result: "already-stopped", message: `${this.location.unit} is not running (${rt.state})` }
    await this.mustRun(this.ctl("stop", this.location.unit), `stopping ${this.location.unit}`)
    return { result: "stopped", message: `stopped ${this.location.unit} (it starts again at boot; 'gateway uninstall' removes it)` }
  }

  async restart(): Promise<Outcome> {
    this.requireInstalled()
    await this.run(this.ctl("reset-failed", this.location.unit))
    await this.mustRun(this.ctl("restart", this.location.unit), `restarting ${this.location.unit}`)
    return { result: "restarted", message: `restarted ${this.location.unit}` }
  }

  private requireInstalled(): void {
    if (!this.installed()) {
      throw new ServiceError({
        message: `no ${this.location.scope} unit ${this.location.unit} is installed`,
        hints: [`Install it with: gateway install${this.location.scope === "system" ? " --system" : ""}`],
        code: "NOT_INSTALLED",
      })
    }
  }

  async runtime(): Promise<Runtime> {
    const props = "LoadState,ActiveState,SubState,MainPID,ExecMainStatus,ExecMainCode,NRestarts,UnitFileState,Result"
    const r = await this.run(this.ctl("show", this.location.unit, "--no-pager", `--property=${props}`), true)
    const none: Runtime = { loaded: false, enabled: null, active: false, state: "unknown", pid: null, lastExitCode: null, lastExit: null, restarts: null }
    if (r.code !== 0) return { ...none, state: `unknown (${systemctlError(r.stderr, r.stdout)})` }
    const p: Record<string, string> = {}
    for (const line of r.stdout.split("\n")) {
      const eq = line.indexOf("=")
      if (eq > 0) p[line.slice(0, eq)] = line.slice(eq + 1).trim()
    }
    if (!p.LoadState) return none
    const loaded = p.LoadState === "loaded"
    const pid = Number(p.MainPID) > 0 ? Number(p.MainPID) : null
    const code = p.ExecMainCode ?? "0"
    const status = Number(p.ExecMainStatus ?? 0)
    const lastExit =
      code === "1" || code === "exited"
        ? `exited ${status}`
        : code === "2" || code === "killed"
          ? `killed by signal ${status}`
          : code === "3" || code === "dumped"
            ? `dumped core (signal ${status})`
            : null
    let state = loaded ? `${p.ActiveState} (${p.SubState})` : p.LoadState === "not-found" ? "not installed" : (p.LoadState ?? "unknown")
    if (loaded && p.Result && p.Result !== "success") state += `, result ${p.Result}`
    return {
      loaded,
      enabled: p.UnitFileState ? p.UnitFileState.startsWith("enabled") : null,
      active: p.ActiveState === "active",
      state,
      pid,
      lastExitCode: code === "1" || code === "exited" ? status : null,
      lastExit,
      restarts: p.NRestarts !== undefined && p.NRestarts !== "" ? Number(p.NRestarts) : null,
    }
  }

  async logs(lines: number): Promise<LogTail> {
    const unit = this.location.unit
    const tries =
      this.location.scope === "system"
        ? [["journalctl", "-u", unit]]
        : [
            ["journalctl", "--user", "-u", unit],
            ["journalctl", `--user-unit=${unit}`],
          ]
    for (const base of tries) {
      const r = await this.run([...base, "-n", String(lines), "--no-pager", "-o", "short-iso"], true)
      const got = r.stdout.split("\n").filter((l) => l.trim() && !l.startsWith("-- ") && !l.startsWith("Hint:"))
      if (r.code === 0 && got.length) return { source: base.join(" "), lines: got.slice(-lines) }
    }
    return gatewayLogTail(this.installed()?.home ?? this.location.defaultHome, lines) ?? { source: "none", lines: [] }
  }
}

/** For `logs -f` when the gateway is down: the journalctl argv that follows this unit's log. */
export function journalFollowArgv(location: ServiceLocation, lines: number): string[] {
  return location.scope === "system"
    ? ["journalctl", "-u", location.unit, "-f", "-n", String(lines), "-o", "short-iso"]
    : ["journalctl", "--user", "-u", location.unit, "-f", "-n", String(lines), "-o", "short-iso"]
}
