/**
 * Finds an installed gateway service (systemd unit or launchd agent) so `gateway update` can restart it onto the new
 * binary. Detection is pure over an injected file-system view; restarting runs systemctl or launchctl.
 */
import { basename, join } from "node:path"

/**
 * The systemd unit name (`gateway.service`) and the launchd label, as `gateway install` (src/service/spec.ts) names them
 * by default; GATEWAY_LAUNCHD_LABEL overrides the label.
 */
const SYSTEMD_UNIT = "gateway"
const DEFAULT_LAUNCHD_LABEL = "ai.gateway"

export interface ServiceInfo {
  kind: "systemd-user" | "systemd-system" | "launchd"
  /** The unit file or plist that revealed it. */
  file: string
  /** The command that restarts it, e.g. ["systemctl", "--user", "restart", "gateway"]. */
  restart: string[]
}

export interface ServiceProbe {
  platform: string
  home: string
  uid: number
  env: Record<string, string | undefined>
  /** The binary being updated: a LaunchAgent plist that runs it counts whatever its label. */
  execPath: string
  exists(path: string): boolean
  listDir(dir: string): string[]
  readFile(path: string): string
}

const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")

function plistLabel(text: string): string | undefined {
  return /<key>\s*Label\s*<\/key>\s*<string>([^<]+)<\/string>/.exec(text)?.[1]?.trim()
}

/** Every installed gateway service, in restart order (user unit, system unit, launchd agents). */
export function detectServices(p: ServiceProbe): ServiceInfo[] {
  const found: ServiceInfo[] = []
  if (p.platform === "linux") {
    const configHome = p.env.XDG_CONFIG_HOME || join(p.home, ".config")
    // The same places `gateway install` (src/service) writes to, then where an OS image stages units.
    const unit = `${SYSTEMD_UNIT}.service`
    const user = [join(configHome, "systemd/user", unit), `/usr/lib/systemd/user/${unit}`].find((f) => p.exists(f))
    if (user) found.push({ kind: "systemd-user", file: user, restart: ["systemctl", "--user", "restart", SYSTEMD_UNIT] })
    const system = [`/etc/systemd/system/${unit}`, `/usr/lib/systemd/system/${unit}`, `/lib/systemd/system/${unit}`].find((f) => p.exists(f))
    if (system) found.push({ kind: "systemd-system", file: system, restart: ["systemctl", "restart", SYSTEMD_UNIT] })
  } else if (p.platform === "darwin") {
    const dir = join(p.home, "Library/LaunchAgents")
    const wanted = p.env.GATEWAY_LAUNCHD_LABEL || DEFAULT_LAUNCHD_LABEL
    const needle = `<string>${xmlEscape(p.execPath)}</string>`
    let names: string[] = []
    try {
      names = p.exists(dir)
        ? p
            .listDir(dir)
            .filter((n) => n.endsWith(".plist"))
            .sort()
        : []
    } catch {
      names = []
    }
    for (const name of names) {
      const file = join(dir, name)
      let text = ""
      try {
        text = p.readFile(file)
      } catch {
        continue
      }
      const label = plistLabel(text) ?? basename(name, ".plist")
      if (label === wanted || text.includes(needle)) {
        found.push({ kind: "launchd", file, restart: ["launchctl", "kickstart", "-k", `gui/${p.uid}/${label}`] })
      }
    }
  }
  return found
}

export interface RestartOutcome {
  ok: boolean
  code: number | null
  output: string
}

/** Runs a service's restart command (30 s limit); never throws. */
export function restartService(s: ServiceInfo, env: Record<string, string | undefined> = process.env): RestartOutcome {
  try {
    const r = Bun.spawnSync(s.restart, { stdout: "pipe", stderr: "pipe", env, timeout: 30_000 })
    const output = `${r.stdout.toString()}${r.stderr.toString()}`.trim()
    return { ok: r.exitCode === 0, code: r.exitCode, output }
  } catch (err) {
    return { ok: false, code: null, output: (err as Error).message }
  }
}
