/** What every backend (systemd, launchd) offers, and helpers they share. */
import { join } from "node:path"
import { tailLog } from "../util/logs-tail.ts"
import type { ServiceLocation } from "./spec.ts"

/** The service manager's view of the service. */
export interface Runtime {
  /** The manager knows the unit/job. */
  loaded: boolean
  /** Starts at boot/login (systemd: is-enabled; launchd: loaded and not disabled). */
  enabled: boolean | null
  active: boolean
  /** e.g. "active (running)", "activating (auto-restart)", "failed (exit-code)", "running", "not loaded". */
  state: string
  pid: number | null
  lastExitCode: number | null
  /** Human text: "exited 0", "killed by signal 9", "(never exited)". */
  lastExit: string | null
  restarts: number | null
}

/** What an installed unit/plist says (read back from its file). */
export interface InstalledInfo {
  path: string
  generated: boolean
  argv: string[]
  env: Record<string, string>
  home?: string
  port?: number
  bind?: string
}

export interface LogTail {
  source: string
  lines: string[]
}

/** Options of one install, resolved. */
export interface InstallSpec {
  program: string[]
  home: string
  port?: number
  bind?: string
  token?: string
  userName?: string
  force: boolean
  version: string
  env: NodeJS.ProcessEnv
  platform: NodeJS.Platform
}

export interface Outcome {
  /** installed, reinstalled, uninstalled, not-installed, started, stopped, already-stopped, restarted. */
  result: string
  message: string
}

export interface ServiceManager {
  readonly location: ServiceLocation
  installed(): InstalledInfo | undefined
  install(spec: InstallSpec): Promise<Outcome>
  uninstall(): Promise<Outcome>
  start(): Promise<Outcome>
  stop(): Promise<Outcome>
  restart(): Promise<Outcome>
  runtime(): Promise<Runtime>
  logs(lines: number): Promise<LogTail>
}

/** `run` flags read back from an argv: --home, --port, --bind (both `--x v` and `--x=v`). */
export function runFlags(argv: string[]): { home?: string; port?: number; bind?: string } {
  const out: { home?: string; port?: number; bind?: string } = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const m = /^--(home|port|bind)(?:=(.*))?$/.exec(a)
    if (!m) continue
    const v = m[2] ?? argv[++i]
    if (v === undefined) continue
    if (m[1] === "port") out.port = Number(v)
    else out[m[1] as "home" | "bind"] = v
  }
  return out
}

/** The arguments after the program: `run` and the flags the user chose. */
export function runArgs(o: { home?: string; port?: number; bind?: string }): string[] {
  const args = ["run"]
  if (o.home) args.push("--home", o.home)
  if (o.port !== undefined) args.push("--port", String(o.port))
  if (o.bind !== undefined) args.push("--bind", o.bind)
  return args
}

/** A gateway JSONL record as one readable line (other lines unchanged). */
export function renderLogLine(line: string): string {
  try {
    const r = JSON.parse(line) as { time?: string; level?: string; subsystem?: string; message?: string }
    if (typeof r !== "object" || r === null || typeof r.message !== "string") return line
    return `${r.time ?? ""} ${(r.level ?? "").toUpperCase().padEnd(5)} [${r.subsystem ?? "-"}] ${r.message}`
  } catch {
    return line
  }
}

/** The last lines of a log file (nothing when it is missing or unreadable). */
export function tailFile(file: string, lines: number): string[] {
  try {
    return tailLog(file, { limit: lines, maxBytes: 256 * 1024 }).lines
  } catch {
    return []
  }
}

/** The gateway's own JSONL log under the state home: the fallback when the service manager's log is not readable. */
export function gatewayLogTail(home: string | undefined, lines: number): LogTail | undefined {
  if (!home) return undefined
  const file = join(home, "logs", "gateway.jsonl")
  const got = tailFile(file, lines)
  return got.length ? { source: file, lines: got.map(renderLogLine) } : undefined
}
