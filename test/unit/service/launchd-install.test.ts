/**
 * launchd install/uninstall on Linux: the backend is forced, HOME is a temp dir, and `launchctl` is a shell script
 * first on PATH that appends its argv to a file and keeps a "loaded" flag (bootstrap sets it, bootout clears it,
 * print reports it), so the exact calls and the files written can be asserted.
 */
import { describe, expect, test } from "bun:test"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { installService, serviceStatus, uninstallService, controlService, type RpcProbe } from "../../../src/service/index.ts"
import { parsePlist } from "../../../src/service/launchd-plist.ts"
import type { ServiceOptions } from "../../../src/service/spec.ts"

const BINARY = "/opt/gateway/bin/gateway"
const UID = 501
const okProbe = async (t: { url: string }): Promise<RpcProbe> => ({ ok: true, url: t.url, ms: 1, version: "test" })

function sandbox() {
  const dir = mkdtempSync(join(tmpdir(), "gw-launchd-"))
  const home = join(dir, "home")
  const bin = join(dir, "bin")
  mkdirSync(home)
  mkdirSync(bin)
  const log = join(dir, "launchctl.log")
  const state = join(dir, "loaded")
  writeFileSync(
    join(bin, "launchctl"),
    `#!/bin/sh
printf '%s\\n' "$*" >> '${log}'
case "$1" in
  print)
    if [ -f '${state}' ]; then printf '%s = {\\n\\tstate = running\\n\\truns = 2\\n\\tpid = 4242\\n\\tlast exit code = 1\\n}\\n' "$2"; exit 0; fi
    echo "Could not find service \\"$2\\" in domain for user gui: ${UID}" >&2; exit 113 ;;
  bootstrap) touch '${state}' ;;
  bootout) rm -f '${state}' ;;
esac
exit 0
`,
  )
  chmodSync(join(bin, "launchctl"), 0o755)
  const env = { PATH: `${bin}:${process.env.PATH}`, HOME: home, GATEWAY_SERVICE_BACKEND: "launchd", GATEWAY_SYSTEM_CONFIG: join(dir, "none.json") }
  const calls = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [])
  const reset = () => writeFileSync(log, "")
  const opts = (o: Partial<ServiceOptions> = {}): ServiceOptions => ({ env, uid: UID, binary: BINARY, platform: "linux", ...o })
  return { dir, home, env, calls, reset, opts, plist: join(home, "Library/LaunchAgents/ai.gateway.plist"), gwHome: join(home, ".gateway") }
}

const mode = (p: string) => statSync(p).mode & 0o777

describe("launchd backend against a recorder launchctl", () => {
  test("install writes the plist and bootstraps; reinstall boots out first; uninstall boots out and removes; again is a no-op", async () => {
    const s = sandbox()
    const r = await installService(s.opts({ port: 18801 }), { probe: okProbe })
    expect(r.ok).toBe(true)
    expect(r.result).toBe("installed")
    expect(r.backend).toBe("launchd")
    expect(s.calls()).toEqual(["print gui/501/ai.gateway", "enable gui/501/ai.gateway", `bootstrap gui/501 ${s.plist}`, "print gui/501/ai.gateway"])
    expect(r.runtime?.pid).toBe(4242)
    expect(r.rpc?.ok).toBe(true)

    expect(mode(s.plist)).toBe(0o644)
    const d = parsePlist(readFileSync(s.plist, "utf8")) as Record<string, any>
    expect(d.Label).toBe("ai.gateway")
    expect(d.ProgramArguments).toEqual([BINARY, "run", "--home", s.gwHome, "--port", "18801"])
    expect(d.RunAtLoad).toBe(true)
    expect(d.KeepAlive).toEqual({ SuccessfulExit: false })
    expect(d.Umask).toBe(63)
    expect(d.WorkingDirectory).toBe(s.gwHome)
    expect(d.EnvironmentVariables.GATEWAY_HOME).toBe(s.gwHome)
    expect(d.EnvironmentVariables.PATH.split(":")[0]).toBe("/opt/gateway/bin")
    expect(d.StandardErrorPath).toBe(join(s.gwHome, "logs/service.err.log"))
    expect(mode(join(s.gwHome, "logs"))).toBe(0o700)

    s.reset()
    const again = await installService(s.opts({ port: 18801 }), { probe: okProbe })
    expect(again.result).toBe("reinstalled")
    expect(s.calls()).toEqual([
      "print gui/501/ai.gateway",
      "bootout gui/501/ai.gateway",
      "enable gui/501/ai.gateway",
      `bootstrap gui/501 ${s.plist}`,
      "print gui/501/ai.gateway",
    ])

    s.reset()
    const st = await serviceStatus(s.opts(), { probe: okProbe })
    expect(st).toMatchObject({ ok: true, installed: true, active: true, pid: 4242, state: "running", port: 18801, home: s.gwHome, restarts: 1 })
    expect(st.url).toBe("ws://127.0.0.1:18801")

    s.reset()
    const rs = await controlService("restart", s.opts(), { probe: okProbe })
    expect(rs.ok).toBe(true)
    expect(s.calls()).toEqual(["print gui/501/ai.gateway", "kickstart -k gui/501/ai.gateway", "print gui/501/ai.gateway"])

    s.reset()
    const u = await uninstallService(s.opts())
    expect(u).toMatchObject({ ok: true, result: "uninstalled" })
    expect(s.calls()).toEqual(["print gui/501/ai.gateway", "bootout gui/501/ai.gateway"])
    expect(existsSync(s.plist)).toBe(false)
    expect(existsSync(s.gwHome)).toBe(true)

    s.reset()
    const u2 = await uninstallService(s.opts())
    expect(u2).toMatchObject({ ok: true, result: "not-installed" })
    expect(u2.message).toContain("nothing to do")
    expect(s.calls()).toEqual(["print gui/501/ai.gateway"])
  })

  test("a --token goes into the 0600 gateway.json, never into the plist", async () => {
    const s = sandbox()
    const token = "tok-0123456789abcdef-secret"
    const r = await installService(s.opts({ token, name: "work" }), { probe: okProbe })
    expect(r.ok).toBe(true)
    const plist = join(s.home, "Library/LaunchAgents/ai.gateway.work.plist")
    expect(readFileSync(plist, "utf8")).not.toContain(token)
    const cfg = join(s.gwHome, "gateway.json")
    expect(mode(cfg)).toBe(0o600)
    expect(JSON.parse(readFileSync(cfg, "utf8"))).toEqual({ gateway: { auth: { token } } })
    // The report (printed by --json) never carries the secret.
    expect(JSON.stringify(r)).not.toContain(token)
  })

  test("dry run: nothing written, nothing but read-only queries run, the plan lists the plist content", async () => {
    const s = sandbox()
    const r = await installService(s.opts({ dryRun: true }), { probe: okProbe })
    expect(r.ok).toBe(true)
    expect(existsSync(s.plist)).toBe(false)
    expect(s.calls()).toEqual(["print gui/501/ai.gateway"])
    const write = r.actions.find((a) => a.kind === "write" && a.path === s.plist)
    expect(write && write.kind === "write" && write.mode).toBe(0o644)
    expect(write && write.kind === "write" && write.content).toContain("<key>ProgramArguments</key>")
    const runs = r.actions.filter((a) => a.kind === "run" && !a.readOnly).map((a) => (a.kind === "run" ? a.argv.join(" ") : ""))
    expect(runs).toEqual(["launchctl enable gui/501/ai.gateway", `launchctl bootstrap gui/501 ${s.plist}`])
  })

  test("refuses to replace a plist it did not write, unless --force", async () => {
    const s = sandbox()
    mkdirSync(join(s.home, "Library/LaunchAgents"), { recursive: true })
    writeFileSync(s.plist, "<plist>hand made</plist>")
    const r = await installService(s.opts(), { probe: okProbe })
    expect(r.ok).toBe(false)
    expect(r.error?.code).toBe("EXISTS")
    expect(readFileSync(s.plist, "utf8")).toBe("<plist>hand made</plist>")
    expect((await installService(s.opts({ force: true }), { probe: okProbe })).ok).toBe(true)
  })

  test("the CLI: install --json and status --json through a subprocess, exit codes", async () => {
    const s = sandbox()
    const entry = resolve(import.meta.dir, "cli-entry.ts")
    const run = (args: string[]) => {
      const p = Bun.spawnSync([process.execPath, entry, ...args], { env: { ...s.env, GATEWAY_HOME: "" }, stdout: "pipe", stderr: "pipe" })
      return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() }
    }
    const inst = run(["install", "--json", "--binary", BINARY, "--port", "18802", "--wait", "0"])
    expect(inst.code).toBe(0)
    const report = JSON.parse(inst.out)
    expect(report).toMatchObject({ ok: true, action: "install", result: "installed", backend: "launchd", unit: "ai.gateway" })
    // status: installed and "running" per the recorder, but nothing listens on the port, so the probe fails → exit 1.
    const st = run(["status", "--json", "--timeout", "300"])
    expect(st.code).toBe(1)
    const status = JSON.parse(st.out)
    expect(status).toMatchObject({ ok: false, installed: true, active: true, pid: 4242, port: 18802 })
    expect(status.rpc.ok).toBe(false)
    expect(run(["status", "--no-probe"]).code).toBe(0)
    const bad = run(["install", "--port", "nope"])
    expect(bad.code).toBe(1)
    expect(bad.err.trim().split("\n")).toHaveLength(1)
    const un = run(["uninstall"])
    expect(un.code).toBe(0)
    expect(un.out).toContain("stopped and removed ai.gateway")
    const un2 = run(["uninstall"])
    expect(un2.code).toBe(0)
    expect(un2.out).toContain("nothing to do")
  })
})
