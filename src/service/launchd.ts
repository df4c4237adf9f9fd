/**
 * launchd backend (macOS LaunchAgent in the gui/<uid> domain): builds the plist and drives `launchctl bootstrap`,
 * `bootout`, `kickstart` and `print` through a Host.
 *
 * launchd has no EnvironmentFile, and `launchctl print` shows a job's environment, so a --token is stored in the
 * state home's gateway.json (0600, where `gateway config set gateway.auth.token` would put it), never in the plist.
 */
import { dirname, join } from "node:path"
import { loadConfig, mergePatch, parseRaw, validate } from "../config/load.ts"
import { resolvePaths } from "../config/paths.ts"
import { systemctlError } from "./detect.ts"
import { parseLaunchctlPrint, parsePlist, renderLaunchdPlist, type PlistValue } from "./launchd-plist.ts"
import {
  gatewayLogTail,
  renderLogLine,
  runArgs,
  runFlags,
  tailFile,
  type InstallSpec,
  type InstalledInfo,
  type LogTail,
  type Outcome,
  type Runtime,
  type ServiceManager,
} from "./manager.ts"
import type { Host, RunResult } from "./runner.ts"
import { ServiceError, servicePath, userHome, type ServiceLocation } from "./spec.ts"
import { GENERATED_MARKER } from "./systemd-unit.ts"

export interface LaunchdFiles {
  plist: string
  stdout: string
  stderr: string
}

/** The plist for one install (pure). Logs go to <home>/logs/service.{out,err}.log. */
export function buildLaunchdPlist(
  label: string,
  spec: Pick<InstallSpec, "program" | "home" | "port" | "bind" | "env" | "version" | "platform">,
  pathValue?: string,
): LaunchdFiles {
  const logs = join(spec.home, "logs")
  const stdout = join(logs, "service.out.log")
  const stderr = join(logs, "service.err.log")
  const plist = renderLaunchdPlist({
    label,
    comment: `${GENERATED_MARKER} (gateway ${spec.version}). Re-run it to change this file; edits are overwritten.`,
    programArguments: [...spec.program, ...runArgs({ home: spec.home, port: spec.port, bind: spec.bind })],
    workingDirectory: spec.home,
    environment: {
      PATH: pathValue ?? servicePath({ binaryDir: dirname(spec.program[0]!), home: userHome(spec.env), platform: spec.platform }),
      GATEWAY_HOME: spec.home,
    },
    standardOutPath: stdout,
    standardErrorPath: stderr,
  })
  return { plist, stdout, stderr }
}

/** gateway.json with gateway.auth.token set, as text (validated; an unparseable file is never overwritten). */
function configWithToken(configPath: string, token: string): { text: string; changed: boolean } {
  const loaded = loadConfig(configPath)
  let base: unknown = {}
  if (loaded.raw !== null && loaded.raw.trim() !== "") {
    const parsed = parseRaw(loaded.raw)
    if (parsed.issue) throw new ServiceError({ message: `cannot store the token: ${configPath} is not valid JSON (${parsed.issue.message})` })
    base = parsed.value
  }
  const next = mergePatch(base, { gateway: { auth: { token } } })
  const v = validate(next)
  if (!v.config)
    throw new ServiceError({ message: `cannot store the token: ${configPath} would be invalid (${v.issues.map((i) => `${i.path}: ${i.message}`).join("; ")})` })
  return { text: JSON.stringify(next, null, 2), changed: JSON.stringify(base) !== JSON.stringify(next) }
}

const NO_GUI = /domain does not support specified action|could not find domain|125|Bootstrap failed: 5/i

export class LaunchdManager implements ServiceManager {
  readonly domain: string
  readonly target: string

  constructor(
    readonly host: Host,
    readonly location: ServiceLocation,
    private env: NodeJS.ProcessEnv = process.env,
    uid: number = process.getuid?.() ?? 501,
  ) {
    this.domain = `gui/${uid}`
    this.target = `${this.domain}/${location.label}`
  }

  private run(argv: string[], readOnly = false): Promise<RunResult> {
    return this.host.run(argv, { readOnly, timeoutMs: 30_000 })
  }

  private async loaded(): Promise<{ loaded: boolean; text: string }> {
    const r = await this.run(["launchctl", "print", this.target], true)
    return { loaded: r.code === 0, text: r.stdout }
  }

  installed(): InstalledInfo | undefined {
    const raw = this.host.read(this.location.path)
    if (raw === undefined) return undefined
    let dict: Record<string, PlistValue> = {}
    try {
      const v = parsePlist(raw)
      if (v && typeof v === "object" && !Array.isArray(v)) dict = v
    } catch {}
    const argv = Array.isArray(dict.ProgramArguments) ? dict.ProgramArguments.map(String) : []
    const envDict = dict.EnvironmentVariables
    const env: Record<string, string> = {}
    if (envDict && typeof envDict === "object" && !Array.isArray(envDict)) for (const [k, v] of Object.entries(envDict)) env[k] = String(v)
    const flags = runFlags(argv.slice(1))
    return {
      path: this.location.path,
      generated: raw.includes(GENERATED_MARKER),
      argv,
      env,
      home: flags.home ?? env.GATEWAY_HOME,
      port: flags.port,
      bind: flags.bind,
    }
  }

  /** StandardErrorPath / StandardOutPath of the installed plist. */
  private logFiles(): string[] {
    const raw = this.host.read(this.location.path)
    if (!raw) return []
    try {
      const d = parsePlist(raw) as Record<string, PlistValue>
      return [d.StandardErrorPath, d.StandardOutPath].filter((x): x is string => typeof x === "string")
    } catch {
      return []
    }
  }

  async install(spec: InstallSpec): Promise<Outcome> {
    const loc = this.location
    const existing = this.host.read(loc.path)
    if (existing !== undefined && !existing.includes(GENERATED_MARKER) && !spec.force) {
      throw new ServiceError({ message: `${loc.path} exists and was not written by 'gateway install'`, hints: ["Pass --force to replace it."], code: "EXISTS" })
    }
    const files = buildLaunchdPlist(loc.label, spec)
    this.host.mkdir(spec.home, 0o700)
    this.host.mkdir(dirname(files.stderr), 0o700)
    if (spec.token) {
      const configPath = resolvePaths(spec.home, { ...spec.env, GATEWAY_HOME: spec.home }).config
      const cfg = configWithToken(configPath, spec.token)
      if (cfg.changed) {
        this.host.write(configPath, cfg.text, 0o600, [spec.token])
        this.host.note(`stored the token in ${configPath} (gateway.auth.token, mode 0600): launchd has no private environment file`)
      }
    }
    this.host.mkdir(dirname(loc.path), 0o755)
    this.host.write(loc.path, files.plist, 0o644)
    if ((await this.loaded()).loaded) await this.run(["launchctl", "bootout", this.target])
    // Clears a persisted `launchctl disable`, which would make bootstrap fail.
    await this.run(["launchctl", "enable", this.target])
    await this.bootstrap()
    return {
      result: existing !== undefined ? "reinstalled" : "installed",
      message: `${existing !== undefined ? "reinstalled and restarted" : "installed and started"} ${loc.label} (LaunchAgent ${loc.path})`,
    }
  }

  private async bootstrap(): Promise<void> {
    const r = await this.run(["launchctl", "bootstrap", this.domain, this.location.path])
    if (r.code === 0) return
    const why = systemctlError(r.stderr, r.stdout)
    if (NO_GUI.test(`${r.stderr} ${r.stdout}`) || r.code === 125) {
      throw new ServiceError({
        message: `launchctl bootstrap ${this.domain} failed: ${why}`,
        hints: [
          "There is no logged-in GUI session for this user (SSH or sudo). Log in on the Mac's desktop once, or run the gateway in the foreground: gateway run",
        ],
      })
    }
    throw new ServiceError({ message: `launchctl bootstrap ${this.domain} ${this.location.path} failed: ${why}` })
  }

  async uninstall(): Promise<Outcome> {
    const info = this.installed()
    const { loaded } = await this.loaded()
    if (!info && !loaded) return { result: "not-installed", message: `no LaunchAgent ${this.location.label} is installed; nothing to do` }
    if (loaded) {
      const r = await this.run(["launchctl", "bootout", this.target])
      if (r.code !== 0) this.host.warn(`launchctl bootout ${this.target}: ${systemctlError(r.stderr, r.stdout)}`)
    }
    this.host.remove(this.location.path)
    return { result: "uninstalled", message: `stopped and removed ${this.location.label}${info?.home ? `; the state in ${info.home} was kept` : ""}` }
  }

  private requireInstalled(): void {
    if (!this.installed())
      throw new ServiceError({
        message: `no LaunchAgent ${this.location.label} is installed`,
        hints: ["Install it with: gateway install"],
        code: "NOT_INSTALLED",
      })
  }

  async start(): Promise<Outcome> {
    this.requireInstalled()
    if ((await this.loaded()).loaded) await this.run(["launchctl", "kickstart", this.target])
    else await this.bootstrap()
    return { result: "started", message: `started ${this.location.label}` }
  }

  async stop(): Promise<Outcome> {
    if (!this.installed()) return { result: "not-installed", message: `no LaunchAgent ${this.location.label} is installed; nothing to stop` }
    if (!(await this.loaded()).loaded && !this.host.dryRun) return { result: "already-stopped", message: `${this.location.label} is not loaded` }
    const r = await this.run(["launchctl", "bootout", this.target])
    if (r.code !== 0) throw new ServiceError({ message: `launchctl bootout ${this.target} failed: ${systemctlError(r.stderr, r.stdout)}` })
    return { result: "stopped", message: `stopped ${this.location.label} (it starts again at your next login; 'gateway uninstall' removes it)` }
  }

  async restart(): Promise<Outcome> {
    this.requireInstalled()
    if ((await this.loaded()).loaded) {
      const r = await this.run(["launchctl", "kickstart", "-k", this.target])
      if (r.code !== 0) throw new ServiceError({ message: `launchctl kickstart -k ${this.target} failed: ${systemctlError(r.stderr, r.stdout)}` })
    } else await this.bootstrap()
    return { result: "restarted", message: `restarted ${this.location.label}` }
  }

  async runtime(): Promise<Runtime> {
    const { loaded, text } = await this.loaded()
    if (!loaded)
      return {
        loaded: false,
        enabled: this.installed() ? true : null,
        active: false,
        state: "not loaded",
        pid: null,
        lastExitCode: null,
        lastExit: null,
        restarts: null,
      }
    const p = parseLaunchctlPrint(text)
    return {
      loaded: true,
      enabled: true,
      active: p.state === "running",
      state: p.state ?? "loaded",
      pid: p.pid ?? null,
      lastExitCode: p.lastExitCode ?? null,
      lastExit: p.lastExitText ? (p.lastExitCode !== undefined ? `exited ${p.lastExitText}` : p.lastExitText) : null,
      restarts: p.runs !== undefined ? Math.max(0, p.runs - 1) : null,
    }
  }

  async logs(lines: number): Promise<LogTail> {
    for (const file of this.logFiles()) {
      const got = tailFile(file, lines)
      if (got.length) return { source: file, lines: got.map(renderLogLine) }
    }
    return gatewayLogTail(this.installed()?.home ?? this.location.defaultHome, lines) ?? { source: "none", lines: [] }
  }
}
