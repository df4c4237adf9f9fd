/**
 * Which service manager this machine has, and why not when it has none: systemd (booted as PID 1, user bus
 * reachable), launchd (macOS), WSL without systemd, containers. `GATEWAY_SERVICE_BACKEND=systemd|launchd` forces a
 * backend (tests force launchd on Linux).
 */
import { existsSync, readFileSync } from "node:fs"
import type { Host } from "./runner.ts"

export type Backend = "systemd" | "launchd"
export type Scope = "user" | "system"

export interface Probe {
  ok: boolean
  /** One line: why the backend cannot be used. */
  reason?: string
  hints: string[]
}

/** WSL 1/2: the kernel says "microsoft" (or Windows set WSL_DISTRO_NAME). */
function isWsl(env: NodeJS.ProcessEnv = process.env, procVersion?: string): boolean {
  if (env.WSL_DISTRO_NAME || env.WSL_INTEROP) return true
  let v = procVersion
  if (v === undefined) {
    try {
      v = readFileSync("/proc/version", "utf8")
    } catch {
      return false
    }
  }
  return /microsoft/i.test(v)
}

/** systemd is PID 1 (its documented test: /run/systemd/system exists). */
function systemdBooted(root = "/"): boolean {
  return existsSync(`${root.replace(/\/$/, "")}/run/systemd/system`)
}

export function chooseBackend(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): Backend | undefined {
  const forced = env.GATEWAY_SERVICE_BACKEND
  if (forced === "systemd" || forced === "launchd") return forced
  if (platform === "darwin") return "launchd"
  if (platform === "linux") return "systemd"
  return undefined
}

export const WSL_HINTS = [
  "WSL runs without systemd by default. To enable it, put this in /etc/wsl.conf inside the distro:",
  "    [boot]",
  "    systemd=true",
  "then run `wsl --shutdown` from Windows, reopen the distro and run `gateway install` again.",
  "Or keep the gateway in the foreground: `gateway run`.",
]

const BUS_ERROR = /failed to connect to bus|no medium found|not been booted|failed to get d-bus connection|connection refused|command not found|no such file/i

/** The reason a `systemctl` call failed, on one line. */
export function systemctlError(stderr: string, stdout = ""): string {
  const line = (stderr.trim() || stdout.trim()).split("\n").find((l) => l.trim()) ?? "failed"
  return line.trim()
}

/**
 * Can we drive systemd in this scope? System: PID 1 is systemd. User: additionally `systemctl --user status` reaches
 * the user manager (fails over SSH without a session, under `sudo -u`, in containers).
 */
export async function probeSystemd(
  host: Host,
  scope: Scope,
  env: NodeJS.ProcessEnv = process.env,
  machine: { booted?: boolean; wsl?: boolean } = {},
): Promise<Probe> {
  const booted = machine.booted ?? systemdBooted()
  if (!booted) {
    if (machine.wsl ?? isWsl(env)) return { ok: false, reason: "this WSL distro is not running systemd", hints: WSL_HINTS }
    let pid1 = "unknown"
    try {
      pid1 = readFileSync("/proc/1/comm", "utf8").trim()
    } catch {}
    return {
      ok: false,
      reason: `systemd is not running on this machine (PID 1 is ${pid1})`,
      hints: [
        "In a container, run the gateway in the foreground under the container's supervisor: `gateway run`.",
        "To prepare an OS image instead, stage the files without running anything: `gateway install --root DIR`.",
      ],
    }
  }
  if (scope === "system") {
    const r = await host.run(["systemctl", "is-system-running"], { readOnly: true, timeoutMs: 10_000 })
    if (r.code === 127) return { ok: false, reason: "systemctl is not installed", hints: [] }
    if (r.stdout.trim() === "offline") return { ok: false, reason: "systemd is not running (is-system-running: offline)", hints: [] }
    return { ok: true, hints: [] }
  }
  const r = await host.run(["systemctl", "--user", "status", "--no-pager", "--lines=0"], { readOnly: true, timeoutMs: 10_000 })
  if (r.code === 0 || !BUS_ERROR.test(`${r.stderr}\n${r.stdout}`)) return { ok: true, hints: [] }
  const uid = process.getuid?.() ?? 1000
  return {
    ok: false,
    reason: `cannot reach your systemd user manager (${systemctlError(r.stderr, r.stdout)})`,
    hints: [
      `Log in with a real session (not \`sudo -u\`/\`su\`), or export XDG_RUNTIME_DIR=/run/user/${uid} and retry.`,
      "If no session is ever open (a server), enable lingering first: sudo loginctl enable-linger $USER",
      "Or install a system service instead: sudo gateway install --system --user-name $USER",
    ],
  }
}

/**
 * The user manager is found through XDG_RUNTIME_DIR; `sudo -u` and some SSH setups drop it although the manager
 * runs. Returns the variables to add when /run/user/<uid>/bus exists.
 */
export function userBusEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const uid = process.getuid?.()
  if (uid === undefined) return {}
  const dir = `/run/user/${uid}`
  const out: Record<string, string> = {}
  if (!env.XDG_RUNTIME_DIR && existsSync(dir)) out.XDG_RUNTIME_DIR = dir
  if (!env.DBUS_SESSION_BUS_ADDRESS && existsSync(`${dir}/bus`)) out.DBUS_SESSION_BUS_ADDRESS = `unix:path=${dir}/bus`
  return out
}
