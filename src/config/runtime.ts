/**
 * gateway.runtime.json: where the running daemon actually listens (a --port flag, GATEWAY_PORT, `install --port`
 * and port 0 all make that differ from gateway.json). Written 0600 once the port is bound, removed on a clean exit;
 * a file left by a crash is recognised as stale (its pid is gone or its port does not answer) and ignored.
 */
import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import type { Paths } from "./paths.ts"

/** Where a setting of the running gateway came from, for messages that tell the user what to change. */
export type SettingSource = "flag" | "env" | "config" | "default"
export type AuthSource = "flag" | "env" | "config" | "generated" | "none"

export interface RuntimeInfo {
  pid: number
  /** What clients on this machine connect to (wildcard binds are reached over loopback). */
  url: string
  port: number
  /** The address listened on. */
  host: string
  /** gateway.bind as configured (loopback, lan or an address). */
  bind: string
  startedAt: string
  version: string
  home: string
  configPath: string
  portSource: SettingSource
  /** How clients must authenticate: the secret itself is never written here. */
  authMode: "token" | "password" | "none" | "trusted-proxy"
  /** Set when the port speaks TLS (clients connect with wss:// and may pin this certificate). */
  tls?: { certPath: string; fingerprint: string; selfSigned: boolean }
  authSource: AuthSource
  /** Config keys a flag or variable overrides in this process, e.g. {"gateway.port": "flag"}. */
  overrides: Record<string, "flag" | "env">
}

export function writeRuntime(paths: Paths, info: RuntimeInfo): void {
  const tmp = `${paths.runtimeFile}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, paths.runtimeFile)
}

/** Removes the file if it is this process's (a newer gateway's file is left alone). */
export function removeRuntime(paths: Paths, pid = process.pid): void {
  if (readRuntime(paths)?.pid === pid) rmSync(paths.runtimeFile, { force: true })
}

export function readRuntime(paths: Paths): RuntimeInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(paths.runtimeFile, "utf8")) as RuntimeInfo
    return Number.isInteger(info?.pid) && typeof info.url === "string" && Number.isInteger(info.port) ? info : undefined
  } catch {
    return undefined
  }
}

/** Signal 0 checks existence; EPERM means it exists but belongs to another user (a system service). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as { code?: string }).code === "EPERM"
  }
}

/** Whether a TCP connection to host:port is accepted within timeoutMs. */
export function portAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false
    const finish = (v: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resolve(v)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open(s) {
          s.end()
          finish(true)
        },
        data() {},
        error: () => finish(false),
        connectError: () => finish(false),
      },
    }).catch(() => finish(false))
  })
}

/** The runtime file when it describes a gateway that is running now (pid alive, port answering), else undefined. */
export async function liveRuntime(paths: Paths, timeoutMs = 500): Promise<RuntimeInfo | undefined> {
  const info = readRuntime(paths)
  if (!info || !pidAlive(info.pid)) return undefined
  const host = new URL(info.url).hostname.replace(/^\[|\]$/g, "")
  return (await portAnswers(host, info.port, timeoutMs)) ? info : undefined
}
