/**
 * systemd backend with a RecordingRunner (exact systemctl/loginctl calls, files and modes written), dry runs (nothing
 * written, the plan shows contents), --root staging (files only, no commands) and detection messages.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { validate } from "../../../src/config/load.ts"
import { probeSystemd, WSL_HINTS } from "../../../src/service/detect.ts"
import { controlService, installService, serviceStatus, uninstallService, type RpcProbe } from "../../../src/service/index.ts"
import { Host, RecordingRunner } from "../../../src/service/runner.ts"
import { currentUserName, type ServiceOptions } from "../../../src/service/spec.ts"
import { parseEnvironmentFile, unitValue } from "../../../src/service/systemd-unit.ts"

const BINARY = "/opt/gateway/bin/gateway"
const TOKEN = "tok-abcdef0123456789-secret"
const okProbe = async (t: { url: string }): Promise<RpcProbe> => ({ ok: true, url: t.url, ms: 1, version: "test" })
const mode = (p: string) => statSync(p).mode & 0o777
const SHOW = "--property=LoadState,ActiveState,SubState,MainPID,ExecMainStatus,ExecMainCode,NRestarts,UnitFileState,Result"

/** A fake systemd: remembers whether the unit is loaded/running and answers `show` accordingly. */
function fakeSystemd(opts: { failWith78?: boolean; linger?: boolean } = {}) {
  let running = false
  let loaded = false
  return new RecordingRunner((argv) => {
    const cmd = argv.filter((a) => a !== "--user")
    if (cmd[0] === "systemctl" && (cmd[1] === "restart" || cmd[1] === "start")) running = true
    if (cmd[0] === "systemctl" && cmd[1] === "enable") loaded = true
    if (cmd[0] === "systemctl" && (cmd[1] === "stop" || cmd[1] === "disable")) running = false
    if (cmd[0] === "systemctl" && cmd[1] === "disable") loaded = false
    if (cmd[0] === "systemctl" && cmd[1] === "show") {
      if (!loaded) return { stdout: "LoadState=not-found\nActiveState=inactive\nSubState=dead\nMainPID=0\n" }
      if (opts.failWith78)
        return {
          stdout:
            "LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\nExecMainCode=1\nExecMainStatus=78\nResult=exit-code\nUnitFileState=enabled\nNRestarts=0\n",
        }
      return {
        stdout: running
          ? "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=777\nExecMainCode=0\nExecMainStatus=0\nNRestarts=0\nUnitFileState=enabled\nResult=success\n"
          : "LoadState=loaded\nActiveState=inactive\nSubState=dead\nMainPID=0\nUnitFileState=enabled\nResult=success\n",
      }
    }
    if (cmd[0] === "loginctl" && cmd[1] === "show-user") return { stdout: opts.linger ? "yes\n" : "no\n" }
    if (cmd[0] === "journalctl") return { stdout: "2026-01-01T00:00:00+0000 host gateway[777]: listening\n" }
    if (cmd[0] === "id") return { code: 1, stderr: "id: 'gw': no such user" }
    return undefined
  })
}

function sandbox() {
  const dir = mkdtempSync(join(tmpdir(), "gw-systemd-"))
  const home = join(dir, "home")
  mkdirSync(home)
  const env = { PATH: "/usr/bin:/bin", HOME: home, GATEWAY_SYSTEM_CONFIG: join(dir, "none.json") }
  const opts = (o: Partial<ServiceOptions> = {}): ServiceOptions => ({ env, binary: BINARY, backend: "systemd", platform: "linux", ...o })
  return {
    dir,
    home,
    opts,
    unit: join(home, ".config/systemd/user/gateway.service"),
    envFile: join(home, ".config/gateway/gateway.env"),
    gwHome: join(home, ".gateway"),
  }
}

describe("systemd user unit with a recorder", () => {
  test("install: files and modes, exact commands, linger; reinstall restarts; uninstall; second uninstall is a no-op", async () => {
    const s = sandbox()
    const runner = fakeSystemd()
    const r = await installService(s.opts({ port: 18790, bind: "loopback", token: TOKEN }), { runner, probe: okProbe })
    expect(r.ok).toBe(true)
    expect(r.result).toBe("installed")
    const user = currentUserName(s.opts().env)
    expect(runner.lines).toEqual([
      "systemctl --user daemon-reload",
      "systemctl --user enable gateway.service",
      "systemctl --user reset-failed gateway.service",
      "systemctl --user restart gateway.service",
      `loginctl show-user ${user} --property=Linger --value`,
      `loginctl enable-linger ${user}`,
      `systemctl --user show gateway.service --no-pager ${SHOW}`,
    ])
    expect(r.notes.join("\n")).toContain("enabled lingering")
    expect(r.runtime?.pid).toBe(777)

    const unit = readFileSync(s.unit, "utf8")
    expect(mode(s.unit)).toBe(0o644)
    expect(unitValue(unit, "Service", "ExecStart")).toBe(`${BINARY} run --home ${s.gwHome} --port 18790 --bind loopback`)
    expect(unitValue(unit, "Service", "EnvironmentFile")).toBe(s.envFile)
    expect(unit).not.toContain(TOKEN)
    expect(mode(s.envFile)).toBe(0o600)
    expect(mode(join(s.home, ".config/gateway"))).toBe(0o700)
    const env = parseEnvironmentFile(readFileSync(s.envFile, "utf8"))
    expect(env).toMatchObject({ GATEWAY_HOME: s.gwHome, GATEWAY_TOKEN: TOKEN })
    expect(env.PATH!.split(":")[0]).toBe("/opt/gateway/bin")
    expect(JSON.stringify(r)).not.toContain(TOKEN)

    runner.calls.length = 0
    const again = await installService(s.opts({ port: 18790, token: TOKEN }), { runner, probe: okProbe })
    expect(again.result).toBe("reinstalled")
    expect(runner.lines).toContain("systemctl --user restart gateway.service")

    runner.calls.length = 0
    const st = await serviceStatus(s.opts(), { runner, probe: okProbe })
    expect(st).toMatchObject({ ok: true, installed: true, active: true, pid: 777, port: 18790, home: s.gwHome, scope: "user", generated: true })
    expect(st.logs.source).toBe("journalctl --user -u gateway.service")
    expect(st.logs.lines[0]).toContain("listening")

    runner.calls.length = 0
    const u = await uninstallService(s.opts(), { runner })
    expect(u).toMatchObject({ ok: true, result: "uninstalled" })
    expect(runner.lines).toEqual([
      `systemctl --user show gateway.service --no-pager ${SHOW}`,
      "systemctl --user disable --now gateway.service",
      "systemctl --user daemon-reload",
      "systemctl --user reset-failed gateway.service",
    ])
    expect(existsSync(s.unit)).toBe(false)
    expect(existsSync(s.envFile)).toBe(false)

    runner.calls.length = 0
    const u2 = await uninstallService(s.opts(), { runner })
    expect(u2).toMatchObject({ ok: true, result: "not-installed" })
    expect(runner.lines.filter((l) => !l.includes(" show "))).toEqual([])
  })

  test("linger already on: not touched; failing enable-linger is a warning with the sudo command", async () => {
    const s = sandbox()
    const on = fakeSystemd({ linger: true })
    await installService(s.opts(), { runner: on, probe: okProbe })
    expect(on.lines.some((l) => l.startsWith("loginctl enable-linger"))).toBe(false)

    const s2 = sandbox()
    const denied = new RecordingRunner((argv) => (argv[1] === "enable-linger" ? { code: 1, stderr: "Could not enable linger: Access denied" } : undefined))
    const r = await installService(s2.opts({ waitMs: 0 }), { runner: denied })
    expect(r.ok).toBe(true)
    expect(r.warnings.join("\n")).toMatch(/sudo loginctl enable-linger \S+/)
  })

  test("a config refusal (exit 78) fails the install with one clear reason and the last log lines", async () => {
    const s = sandbox()
    const r = await installService(s.opts(), { runner: fakeSystemd({ failWith78: true }), probe: okProbe })
    expect(r.ok).toBe(false)
    expect(r.message).toContain("exit 78")
    expect(r.message.split("\n")).toHaveLength(1)
    expect(r.hints.join("\n")).toContain("listening")
  })

  test("refuses a unit it did not write unless --force", async () => {
    const s = sandbox()
    mkdirSync(join(s.home, ".config/systemd/user"), { recursive: true })
    writeFileSync(s.unit, "[Service]\nExecStart=/bin/true\n")
    const r = await installService(s.opts(), { runner: fakeSystemd(), probe: okProbe })
    expect(r).toMatchObject({ ok: false, error: { code: "EXISTS" } })
    expect((await installService(s.opts({ force: true }), { runner: fakeSystemd(), probe: okProbe })).ok).toBe(true)
  })

  test("start/restart of a missing unit fail clearly; stop of a missing unit is a no-op", async () => {
    const s = sandbox()
    const start = await controlService("start", s.opts(), { runner: fakeSystemd() })
    expect(start).toMatchObject({ ok: false, error: { code: "NOT_INSTALLED" } })
    expect(start.hints.join()).toContain("gateway install")
    const stop = await controlService("stop", s.opts(), { runner: fakeSystemd() })
    expect(stop).toMatchObject({ ok: true, result: "not-installed" })
  })

  test("bad options fail before anything happens", async () => {
    const s = sandbox()
    const runner = fakeSystemd()
    for (const o of [{ port: 70000 }, { bind: "everywhere" }, { token: "short" }, { name: "../evil" }, { userName: "gw" }, { token: "a\nb0123456789abcdef" }]) {
      const r = await installService(s.opts(o), { runner })
      expect(r.ok).toBe(false)
      expect(r.error?.code).toBe("BAD_OPTION")
    }
    expect(runner.calls).toEqual([])
    expect(existsSync(join(s.home, ".config"))).toBe(false)
  })
})

describe("systemd system unit", () => {
  test("--dry-run writes nothing and shows unit, env file (0600, token redacted) and every command", async () => {
    const s = sandbox()
    const runner = fakeSystemd()
    const r = await installService(s.opts({ system: true, userName: "gw", token: TOKEN, port: 18791, dryRun: true, uid: 1000 }), { runner, probe: okProbe })
    expect(r.ok).toBe(true)
    expect(r.dryRun).toBe(true)
    expect(r.warnings.join()).toContain("needs root")
    // Only read-only queries ran.
    expect(runner.lines).toEqual(["id -u gw"])
    const writes = r.actions.filter((a) => a.kind === "write")
    expect(writes.map((w) => [w.path, w.kind === "write" && w.mode])).toEqual([
      ["/etc/gateway/gateway.env", 0o600],
      ["/etc/systemd/system/gateway.service", 0o644],
    ])
    const envText = writes[0]!.kind === "write" ? writes[0]!.content : ""
    expect(envText).toContain("GATEWAY_TOKEN=<redacted>")
    expect(envText).not.toContain(TOKEN)
    const unit = writes[1]!.kind === "write" ? writes[1]!.content : ""
    expect(unitValue(unit, "Service", "User")).toBe("gw")
    expect(unitValue(unit, "Service", "ExecStart")).toBe(`${BINARY} run --home /var/lib/gateway --port 18791`)
    expect(unitValue(unit, "Service", "StateDirectory")).toBe("gateway")
    const runs = r.actions.filter((a) => a.kind === "run" && !a.readOnly).map((a) => (a.kind === "run" ? a.argv.join(" ") : ""))
    expect(runs).toEqual([
      "useradd --system --user-group --home-dir /var/lib/gateway --no-create-home --shell /usr/sbin/nologin gw",
      "systemctl daemon-reload",
      "systemctl enable gateway.service",
      "systemctl reset-failed gateway.service",
      "systemctl restart gateway.service",
    ])
    expect(existsSync("/etc/systemd/system/gateway.service") && readFileSync("/etc/systemd/system/gateway.service", "utf8").includes(BINARY)).toBe(false)
  })

  test("without root (and not a dry run): one-line refusal with the sudo command", async () => {
    const s = sandbox()
    const runner = fakeSystemd()
    const r = await installService(s.opts({ system: true, uid: 1000 }), { runner })
    expect(r).toMatchObject({ ok: false, error: { code: "NEEDS_ROOT" } })
    expect(r.hints[0]).toMatch(/^Run: sudo /)
    expect(runner.calls).toEqual([])
  })
})

describe("--root staging for OS images", () => {
  const binary = resolve(import.meta.dir, "cli-entry.ts") // any file works as the "binary" to copy

  test("system: binary, vendor unit, preset, sysusers, 0600 env file, default config; no commands", async () => {
    const s = sandbox()
    const root = join(s.dir, "image")
    const runner = fakeSystemd()
    const r = await installService(s.opts({ root, system: true, binary, port: 8080, bind: "lan", token: TOKEN, userName: "gw" }), { runner })
    expect(r).toMatchObject({ ok: true, result: "staged" })
    expect(runner.calls).toEqual([])
    const files = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : [join(d, e.name).slice(root.length)]))
    expect(files(root).sort()).toEqual([
      "/etc/gateway/gateway.env",
      "/etc/gateway/gateway.json",
      "/usr/bin/gateway",
      "/usr/lib/systemd/system-preset/80-gateway.preset",
      "/usr/lib/systemd/system/gateway.service",
      "/usr/lib/sysusers.d/gateway.conf",
    ])
    expect(mode(join(root, "usr/bin/gateway"))).toBe(0o755)
    expect(readFileSync(join(root, "usr/bin/gateway"), "utf8")).toBe(readFileSync(binary, "utf8"))
    expect(mode(join(root, "etc/gateway/gateway.env"))).toBe(0o600)
    expect(mode(join(root, "usr/lib/systemd/system/gateway.service"))).toBe(0o644)
    const unit = readFileSync(join(root, "usr/lib/systemd/system/gateway.service"), "utf8")
    expect(unit).not.toContain(TOKEN)
    expect(unit).not.toContain(root)
    expect(unitValue(unit, "Service", "ExecStart")).toBe("/usr/bin/gateway run --home /var/lib/gateway")
    expect(unitValue(unit, "Service", "EnvironmentFile")).toBe("-/etc/gateway/gateway.env")
    expect(unitValue(unit, "Service", "User")).toBe("gw")
    expect(parseEnvironmentFile(readFileSync(join(root, "etc/gateway/gateway.env"), "utf8")).GATEWAY_TOKEN).toBe(TOKEN)
    expect(readFileSync(join(root, "usr/lib/systemd/system-preset/80-gateway.preset"), "utf8")).toMatch(/^enable gateway\.service$/m)
    expect(readFileSync(join(root, "usr/lib/sysusers.d/gateway.conf"), "utf8")).toMatch(/^u gw - "Gateway service" \/var\/lib\/gateway \/usr\/sbin\/nologin$/m)
    const config = JSON.parse(readFileSync(join(root, "etc/gateway/gateway.json"), "utf8"))
    expect(config).toEqual({ gateway: { port: 8080, bind: "lan" } })
    expect(validate(config).issues).toEqual([])
  })

  test("user: unit under /usr/lib/systemd/user with %h env file, user-preset; an existing config is kept", async () => {
    const s = sandbox()
    const root = join(s.dir, "image")
    mkdirSync(join(root, "etc/gateway"), { recursive: true })
    writeFileSync(join(root, "etc/gateway/gateway.json"), '{"gateway":{"port":1}}')
    const r = await installService(s.opts({ root, binary }), { runner: fakeSystemd() })
    expect(r.ok).toBe(true)
    const unit = readFileSync(join(root, "usr/lib/systemd/user/gateway.service"), "utf8")
    expect(unitValue(unit, "Service", "EnvironmentFile")).toBe("-%h/.config/gateway/gateway.env")
    expect(unitValue(unit, "Install", "WantedBy")).toBe("default.target")
    expect(existsSync(join(root, "usr/lib/systemd/user-preset/80-gateway.preset"))).toBe(true)
    expect(readFileSync(join(root, "etc/gateway/gateway.json"), "utf8")).toBe('{"gateway":{"port":1}}')
    expect(r.notes.join()).toContain("kept the existing")
    const shared = await installService(s.opts({ root, binary, token: TOKEN }), { runner: fakeSystemd() })
    expect(shared.ok).toBe(false)
  })

  test("--root --dry-run lists the plan and creates nothing", async () => {
    const s = sandbox()
    const root = join(s.dir, "image")
    const r = await installService(s.opts({ root, system: true, binary, dryRun: true }), { runner: fakeSystemd() })
    expect(r.ok).toBe(true)
    expect(existsSync(root)).toBe(false)
    expect(r.actions.map((a) => a.kind)).toContain("copy")
  })
})

describe("detection", () => {
  test("WSL without systemd explains /etc/wsl.conf", async () => {
    const p = await probeSystemd(new Host(new RecordingRunner()), "user", {}, { booted: false, wsl: true })
    expect(p.ok).toBe(false)
    expect(p.reason).toContain("WSL")
    expect(p.hints).toEqual(WSL_HINTS)
    expect(p.hints.join("\n")).toContain("systemd=true")
  })
  test("a container without systemd points at `gateway run` and --root", async () => {
    const p = await probeSystemd(new Host(new RecordingRunner()), "system", {}, { booted: false, wsl: false })
    expect(p.reason).toMatch(/systemd is not running/)
    expect(p.hints.join("\n")).toContain("gateway run")
  })
  test("user bus unreachable: hint at XDG_RUNTIME_DIR and linger", async () => {
    const runner = new RecordingRunner(() => ({ code: 1, stderr: "Failed to connect to bus: No medium found" }))
    const p = await probeSystemd(new Host(runner), "user", {}, { booted: true, wsl: false })
    expect(p.ok).toBe(false)
    expect(p.reason).toContain("No medium found")
    expect(p.hints.join("\n")).toContain("XDG_RUNTIME_DIR")
    expect(runner.lines).toEqual(["systemctl --user status --no-pager --lines=0"])
  })
  test("install refuses with the detection reason (not a dry run)", async () => {
    const s = sandbox()
    const r = await installService({ ...s.opts(), backend: undefined, env: { ...s.opts().env, WSL_DISTRO_NAME: "Ubuntu" } }, { runner: fakeSystemd() })
    // This container has no systemd as PID 1, so detection refuses (as WSL here, because WSL_DISTRO_NAME is set).
    if (!existsSync("/run/systemd/system")) {
      expect(r.ok).toBe(false)
      expect(r.error?.code).toBe("NO_SYSTEMD")
      expect(r.hints.join("\n")).toContain("/etc/wsl.conf")
    }
  })
})
