/**
 * For `gateway logs [-f]` when the gateway does not answer: read the service manager's log instead (journald for
 * systemd units, the StandardErrorPath file for the LaunchAgent), which is also where a refused start (exit 78)
 * explains itself; without a service, the gateway's own JSONL file under the state home.
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import { parsePlist, type PlistValue } from "./launchd-plist.ts"
import { renderLogLine } from "./manager.ts"
import { Host, spawnRunner, type Runner } from "./runner.ts"
import { locate, type ServiceOptions } from "./spec.ts"
import { journalFollowArgv, SystemdManager } from "./systemd.ts"
import { tailLog } from "../util/logs-tail.ts"

export type LogSource = { kind: "journal"; argv: string[]; description: string } | { kind: "file"; file: string; jsonl: boolean; description: string }

/** Where the service's log can be read from here, best first. */
export async function serviceLogSource(opts: ServiceOptions & { limit: number; follow: boolean }, runner: Runner = spawnRunner(opts.env)): Promise<LogSource> {
  const loc = locate(opts)
  const host = new Host(runner, false)
  const jsonl = (home: string): LogSource => ({
    kind: "file",
    file: join(home, "logs", "gateway.jsonl"),
    jsonl: true,
    description: `${join(home, "logs", "gateway.jsonl")} (the gateway's own log)`,
  })
  if (loc.backend === "systemd") {
    const mgr = new SystemdManager(host, loc, opts.env)
    const info = mgr.installed()
    if (info) {
      const argv = journalFollowArgv(loc, opts.limit).filter((a) => opts.follow || a !== "-f")
      // journalctl prints nothing useful when this user may not read the journal (volatile storage, no group).
      const probeArgv = loc.scope === "system" ? ["journalctl", "-u", loc.unit] : ["journalctl", "--user", "-u", loc.unit]
      const probe = await host.run([...probeArgv, "-n", "1", "--no-pager", "-q"], { readOnly: true })
      if (probe.code === 0 && probe.stdout.split("\n").some((l) => l.trim() && !l.startsWith("-- ")))
        return { kind: "journal", argv, description: argv.join(" ") }
    }
    return jsonl(info?.home ?? loc.defaultHome)
  }
  const raw = host.read(loc.path)
  if (raw) {
    try {
      const d = parsePlist(raw) as Record<string, PlistValue>
      if (typeof d.StandardErrorPath === "string") return { kind: "file", file: d.StandardErrorPath, jsonl: false, description: d.StandardErrorPath }
    } catch {}
  }
  return jsonl(loc.defaultHome)
}

/**
 * Prints the last `limit` lines of the service's log and, with `follow`, keeps printing (until the process is
 * interrupted). Returns the exit code to use.
 *
 * @example
 * // in cli/commands/logs.ts, when the RPC connection fails with GatewayUnreachableError:
 * process.exit(await followServiceLogs({ home: args.home, follow: args.follow, limit }))
 */
export async function followServiceLogs(
  opts: ServiceOptions & {
    limit: number
    follow: boolean
    write?: (line: string) => void
    notice?: (line: string) => void
    intervalMs?: number
    /** Ends --follow (and kills a following journalctl). */
    signal?: AbortSignal
  },
): Promise<number> {
  const write = opts.write ?? ((l: string) => process.stdout.write(`${l}\n`))
  const notice = opts.notice ?? ((l: string) => process.stderr.write(`${l}\n`))
  const src = await serviceLogSource(opts)
  // "Showing" a file that is not there would read as "the log is empty": say there is none yet, and fail.
  if (src.kind === "file" && !existsSync(src.file)) {
    notice(`gateway: no log yet: ${src.file} does not exist (no gateway has run with this state home; start one with 'gateway run')`)
    return 1
  }
  notice(`gateway is not answering; showing ${src.description}`)
  if (src.kind === "journal") {
    const proc = Bun.spawn(src.argv, { stdin: "ignore", stdout: "inherit", stderr: "inherit" })
    opts.signal?.addEventListener("abort", () => proc.kill())
    return await proc.exited
  }
  let r = tailLog(src.file, { limit: opts.limit, maxBytes: 1024 * 1024 })
  for (const l of r.lines) write(src.jsonl ? renderLogLine(l) : l)
  while (opts.follow && !opts.signal?.aborted) {
    await Bun.sleep(opts.intervalMs ?? 500)
    r = tailLog(src.file, { cursor: r.cursor, limit: 5000, maxBytes: 1024 * 1024 })
    if (r.reset) notice("--- log rotated ---")
    for (const l of r.lines) write(src.jsonl ? renderLogLine(l) : l)
  }
  return 0
}
