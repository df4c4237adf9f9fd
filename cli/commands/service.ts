/**
 * `gateway install | uninstall | start | stop | restart | status`: the gateway as a systemd or launchd service.
 * Named exports, registered lazily in commands/index.ts. Every command takes --dry-run (print exactly what would be
 * written and run, change nothing) and --json; failures exit 1 with one line on stderr (or {ok:false} on stdout).
 */
import type { ArgsDef } from "citty"
import { defineCommand } from "citty"
import type { Action, ServiceOptions, ServiceReport, StatusReport } from "../../src/service/index.ts"
import { homeArgs, jsonArgs, printJson } from "./_shared.ts"

const scopeArgs = {
  system: { type: "boolean", description: "The system service (/etc/systemd/system, runs as --user-name; needs root) instead of your user's", default: false },
  user: { type: "boolean", description: "Your user's service even when a system one exists", default: false },
  name: { type: "string", description: "Service name: gateway.service / launchd label ai.gateway by default", valueHint: "name" },
  backend: {
    type: "string",
    description: "Force a service manager (default: launchd on macOS, systemd on Linux; env GATEWAY_SERVICE_BACKEND)",
    valueHint: "systemd|launchd",
  },
  "dry-run": { type: "boolean", description: "Print exactly what would be written and run (paths, modes, contents, argv); change nothing", default: false },
  ...homeArgs,
  ...jsonArgs,
} as const satisfies ArgsDef

const waitArgs = {
  wait: { type: "string", description: "How long to wait for the service to run and answer, in ms (0: do not wait)", default: "15000", valueHint: "ms" },
} as const satisfies ArgsDef

interface CommonValues {
  system?: boolean
  user?: boolean
  name?: string
  backend?: string
  "dry-run"?: boolean
  home?: string
  json?: boolean
  wait?: string
}

function die(message: string, json: boolean, hints: string[] = []): never {
  if (json) printJson({ ok: false, error: { code: "BAD_OPTION", message } })
  else {
    process.stderr.write(`gateway: ${message}\n`)
    for (const h of hints) process.stderr.write(`  ${h}\n`)
  }
  process.exit(1)
}

function options(args: CommonValues): ServiceOptions {
  const json = Boolean(args.json)
  if (args.backend !== undefined && args.backend !== "systemd" && args.backend !== "launchd")
    die(`--backend must be systemd or launchd, got '${args.backend}'`, json)
  let waitMs: number | undefined
  if (args.wait !== undefined) {
    waitMs = Number(args.wait)
    if (!Number.isFinite(waitMs) || waitMs < 0) die(`--wait must be a number of milliseconds, got '${args.wait}'`, json)
  }
  return {
    system: args.system || undefined,
    user: args.user || undefined,
    name: args.name,
    backend: args.backend as ServiceOptions["backend"],
    dryRun: Boolean(args["dry-run"]),
    home: args.home,
    waitMs,
  }
}

/** argv as a copy-pasteable shell line. */
export function shellLine(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ")
}

const octal = (mode: number) => `0${mode.toString(8)}`

/** The plan of a dry run, or the summary of what was done. Read-only queries are not listed. */
export function describeActions(actions: Action[], dryRun: boolean): string[] {
  const out: string[] = []
  const verb = (would: string, did: string) => (dryRun ? `would ${would}` : did)
  for (const a of actions) {
    switch (a.kind) {
      case "mkdir":
        out.push(`${verb("create", "created")} ${a.path}/ (mode ${octal(a.mode)})`)
        break
      case "write":
        out.push(
          `${verb("write", "wrote")} ${a.path} (mode ${octal(a.mode)}, ${a.content.length} bytes${a.redacted ? ", secrets shown as <redacted>" : ""})${dryRun ? ":" : ""}`,
        )
        if (dryRun) for (const l of a.content.replace(/\n$/, "").split("\n")) out.push(`    | ${l}`)
        break
      case "copy":
        out.push(`${verb("copy", "copied")} ${a.from} -> ${a.path} (mode ${octal(a.mode)})`)
        break
      case "remove":
        out.push(`${verb("remove", "removed")} ${a.path}`)
        break
      case "run":
        if (a.readOnly) break
        out.push(
          `${verb("run:", "ran:")} ${shellLine(a.argv)}${a.code !== undefined && a.code !== 0 ? `  (exit ${a.code}${a.stderr ? `: ${a.stderr.split("\n")[0]}` : ""})` : ""}`,
        )
        break
    }
  }
  return out
}

function printReport(r: ServiceReport, json: boolean): void {
  if (json) {
    printJson(r)
    if (!r.ok) process.exit(1)
    return
  }
  const o = process.stdout
  if (r.dryRun) o.write(`Dry run (${r.action}${r.unit ? ` ${r.unit}` : ""}${r.scope ? `, ${r.backend} ${r.scope}` : ""}): nothing was changed.\n`)
  const lines = describeActions(r.actions, r.dryRun)
  if (r.ok) {
    if (!r.dryRun) o.write(`${r.message}\n`)
    for (const l of lines) o.write(`${r.dryRun ? "" : "  "}${l}\n`)
    if (r.dryRun && !lines.length) o.write(`${r.message}\n`)
    if (r.runtime) o.write(`  state: ${r.runtime.state}${r.runtime.pid ? `, pid ${r.runtime.pid}` : ""}\n`)
    if (r.rpc)
      o.write(`  rpc: ${r.rpc.ok ? `ok (gateway ${r.rpc.version}, ${r.rpc.ms} ms) at ${r.rpc.url}` : `not answering at ${r.rpc.url}: ${r.rpc.error}`}\n`)
    for (const n of r.notes) o.write(`  note: ${n}\n`)
  }
  for (const w of r.warnings) process.stderr.write(`gateway: warning: ${w}\n`)
  if (!r.ok) {
    if (lines.length) {
      process.stderr.write("done before the failure:\n")
      for (const l of lines) process.stderr.write(`  ${l}\n`)
    }
    process.stderr.write(`gateway: ${r.message}\n`)
    for (const h of r.hints) process.stderr.write(`  ${h}\n`)
    process.exit(1)
  }
  for (const h of r.hints) o.write(`${h}\n`)
}

export const install = defineCommand({
  meta: { name: "install", description: "Install and start the gateway as a service (systemd user/system unit, or a launchd LaunchAgent); re-run to update" },
  args: {
    ...scopeArgs,
    "user-name": { type: "string", description: "With --system: the account the service runs as (default gateway, created when missing)", valueHint: "name" },
    port: { type: "string", description: "Port for `run --port` (default: the config's, 18789)", valueHint: "port" },
    bind: { type: "string", description: "Address for `run --bind`: loopback (default), lan or an IP", valueHint: "addr" },
    token: { type: "string", description: "Client token, stored in a 0600 file (systemd EnvironmentFile / launchd: gateway.json), never on a command line" },
    root: {
      type: "string",
      description: "Stage into an OS image tree instead: DIR/usr/bin/gateway, vendor unit, preset, /etc/gateway/gateway.json; runs nothing",
      valueHint: "dir",
    },
    binary: { type: "string", description: "The executable the service runs (default: this one)", valueHint: "path" },
    copy: {
      type: "boolean",
      description: "Copy the executable to ~/.local/bin/gateway (--system: /usr/local/bin/gateway) and run that copy (not one in a build folder)",
      default: false,
    },
    force: {
      type: "boolean",
      description: "Replace a unit/plist not written by `gateway install`, or an image's existing /etc/gateway/gateway.json",
      default: false,
    },
    ...waitArgs,
  },
  async run({ args }) {
    const { installService } = await import("../../src/service/index.ts")
    let port: number | undefined
    if (args.port !== undefined) {
      port = Number(args.port)
      if (!Number.isInteger(port)) die(`--port must be a port number, got '${args.port}'`, args.json)
    }
    const report = await installService({
      ...options(args),
      userName: args["user-name"],
      port,
      bind: args.bind,
      token: args.token,
      root: args.root,
      binary: args.binary,
      copy: args.copy,
      force: args.force,
    })
    printReport(report, args.json)
  },
})

export const uninstall = defineCommand({
  meta: { name: "uninstall", description: "Stop and remove the gateway service (the state home is kept); nothing to do when not installed" },
  args: { ...scopeArgs },
  async run({ args }) {
    const { uninstallService } = await import("../../src/service/index.ts")
    printReport(await uninstallService(options(args)), args.json)
  },
})

function control(action: "start" | "stop" | "restart", description: string) {
  return defineCommand({
    meta: { name: action, description },
    args: { ...scopeArgs, ...(action === "stop" ? {} : waitArgs) },
    async run({ args }) {
      const { controlService } = await import("../../src/service/index.ts")
      printReport(await controlService(action, options(args as CommonValues)), args.json)
    },
  })
}

export const start = control("start", "Start the installed gateway service and wait until it answers")
export const stop = control("stop", "Stop the gateway service (it starts again at boot/login; uninstall removes it)")
export const restart = control("restart", "Restart the gateway service (state and config are kept) and wait until it answers")

function yesNo(v: boolean | null): string {
  return v === null ? "unknown" : v ? "yes" : "no"
}

export function formatStatus(s: StatusReport): string {
  const out: string[] = []
  if (s.error) return `${s.error.message}\n`
  out.push(`${s.unit}  (${s.backend} ${s.scope}${s.path ? `, ${s.path}` : ", not installed"})`)
  out.push(`  state:     ${s.state}${s.pid ? `, pid ${s.pid}` : ""}`)
  out.push(`  enabled:   ${yesNo(s.enabled)}${s.restarts !== null ? `   restarts: ${s.restarts}` : ""}`)
  if (s.lastExit.text) out.push(`  last exit: ${s.lastExit.text}`)
  if (s.command.length) out.push(`  command:   ${shellLine(s.command)}${s.generated ? "" : "   (not written by gateway install)"}`)
  if (s.home) out.push(`  home:      ${s.home}`)
  if (s.port !== null) out.push(`  port:      ${s.port}${s.bind ? ` (bind ${s.bind})` : ""}`)
  if (s.rpc) out.push(`  rpc:       ${s.rpc.ok ? `ok (gateway ${s.rpc.version}, ${s.rpc.ms} ms) at ${s.rpc.url}` : `FAILED at ${s.rpc.url}: ${s.rpc.error}`}`)
  if (s.logs.lines.length) {
    out.push(`  last log lines (${s.logs.source}):`)
    for (const l of s.logs.lines) out.push(`    ${l}`)
  }
  for (const h of s.hints) out.push(h)
  return `${out.join("\n")}\n`
}

export const status = defineCommand({
  meta: { name: "status", description: "The gateway service: manager state, pid, last exit, port, a live RPC health probe and the last log lines" },
  args: {
    ...scopeArgs,
    token: { type: "string", description: "Token for the RPC probe (default: the service's env file or the local token)" },
    timeout: { type: "string", description: "RPC probe timeout in ms", default: "3000", valueHint: "ms" },
    lines: { type: "string", description: "How many log lines to show", default: "10" },
    probe: { type: "boolean", description: "Probe the gateway over RPC", negativeDescription: "Skip the RPC probe", default: true },
  },
  async run({ args }) {
    const { serviceStatus } = await import("../../src/service/index.ts")
    const timeout = Number(args.timeout)
    const lines = Number(args.lines)
    if (!Number.isFinite(timeout) || timeout <= 0) die(`--timeout must be a positive number of ms, got '${args.timeout}'`, args.json)
    if (!Number.isInteger(lines) || lines < 0 || lines > 1000) die(`--lines must be 0..1000, got '${args.lines}'`, args.json)
    const s = await serviceStatus({ ...options(args), token: args.token, probeTimeoutMs: timeout, logLines: lines, probe: args.probe })
    if (args.json) printJson(s)
    else process.stdout.write(formatStatus(s))
    if (!s.ok) {
      const why = s.error
        ? s.error.message
        : !s.installed
          ? `${s.unit} is not installed`
          : !s.active
            ? `${s.unit} is not running (${s.state})`
            : `${s.unit} is running but not answering RPC: ${s.rpc?.error}`
      if (!args.json) process.stderr.write(`gateway: ${why}\n`)
      process.exit(1)
    }
  },
})
