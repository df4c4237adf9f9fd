/**
 * `systemd-analyze verify` on generated units (system and user, including a program path that needs quoting and
 * escaping). verify exits 0 on mere warnings, so any line naming our unit file counts as a failure. Skipped, with a
 * message, where systemd-analyze is missing (install it with `apt-get install -y systemd`) or cannot run.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { buildSystemdFiles } from "../../../src/service/systemd.ts"
import { renderPreset } from "../../../src/service/systemd-unit.ts"

const analyze = Bun.which("systemd-analyze")
const runnable = analyze ? Bun.spawnSync([analyze, "--version"]).exitCode === 0 : false
if (!runnable)
  console.warn(`SKIP systemd-analyze verify tests: ${analyze ? "systemd-analyze does not run here" : "systemd-analyze not found (apt-get install -y systemd)"}`)

// ExecStart must name an existing executable: the compiled gateway when built, else the bun running this test.
const dist = resolve(import.meta.dir, "../../../dist/gateway")
const program = existsSync(dist) ? dist : process.execPath

function verify(dir: string, file: string, user: boolean): { code: number; complaints: string[]; out: string } {
  const runtime = join(dir, "runtime")
  mkdirSync(runtime, { recursive: true, mode: 0o700 })
  const argv = [analyze!, ...(user ? ["--user"] : []), "verify", join(dir, file)]
  // --user needs a runtime dir; a temporary one is enough for verify.
  const r = Bun.spawnSync(argv, { env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: "0" }, stdout: "pipe", stderr: "pipe" })
  const out = `${r.stdout.toString()}${r.stderr.toString()}`
  const name = file.replace(/\.service$/, "")
  return { code: r.exitCode ?? -1, complaints: out.split("\n").filter((l) => l.includes(name)), out }
}

describe.skipIf(!runnable)("systemd-analyze verify", () => {
  test("system unit (hardening, StateDirectory, User=, env file) verifies cleanly", () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-verify-"))
    const f = buildSystemdFiles({
      scope: "system",
      name: "gwverifysys",
      program: [program],
      home: "/var/lib/gwverifysys",
      port: 443,
      bind: "lan",
      token: "0123456789abcdef0123",
      userName: "gateway",
      envFile: { path: "/etc/gateway/gwverifysys.env" },
      pathValue: "/usr/bin:/bin",
    })
    writeFileSync(join(dir, "gwverifysys.service"), f.unit)
    const r = verify(dir, "gwverifysys.service", false)
    expect(r.complaints).toEqual([])
    expect(r.code).toBe(0)
  })

  test("system unit with a home outside /var/lib and a program path needing quotes and %-escapes", () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-verify-"))
    const odd = join(dir, "my gw 100%")
    mkdirSync(odd)
    symlinkSync(program, join(odd, "gateway"))
    const f = buildSystemdFiles({
      scope: "system",
      name: "gwverifyodd",
      program: [join(odd, "gateway")],
      home: "/srv/gateway state",
      userName: "gateway",
      envFile: { path: "/etc/gateway/gwverifyodd.env" },
      pathValue: "/usr/bin:/bin",
    })
    expect(f.unit).toContain('ExecStart="')
    expect(f.unit).toContain("100%%")
    writeFileSync(join(dir, "gwverifyodd.service"), f.unit)
    const r = verify(dir, "gwverifyodd.service", false)
    expect(r.complaints).toEqual([])
    expect(r.code).toBe(0)
  })

  test("user unit verifies cleanly under --user", () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-verify-"))
    const f = buildSystemdFiles({
      scope: "user",
      name: "gwverifyuser",
      program: [program],
      home: join(dir, ".gateway"),
      port: 18789,
      envFile: { path: join(dir, ".config/gateway/gwverifyuser.env") },
      pathValue: "/usr/bin:/bin",
    })
    writeFileSync(join(dir, "gwverifyuser.service"), f.unit)
    const r = verify(dir, "gwverifyuser.service", true)
    expect(r.complaints).toEqual([])
    expect(r.code).toBe(0)
  })

  test("a broken directive is caught (the check is not vacuous)", () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-verify-"))
    const f = buildSystemdFiles({ scope: "user", name: "gwverifybad", program: [program], envFile: { path: "/x.env" }, pathValue: "/bin" })
    writeFileSync(join(dir, "gwverifybad.service"), f.unit.replace("Restart=on-failure", "Restart=sometimes"))
    expect(verify(dir, "gwverifybad.service", true).complaints.length).toBeGreaterThan(0)
  })

  test("preset file syntax", () => {
    expect(renderPreset("gateway.service")).toMatch(/^enable gateway\.service$/m)
  })
})
