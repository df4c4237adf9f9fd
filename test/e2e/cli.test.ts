/** The compiled binary's CLI against a running compiled gateway: exit codes, human and JSON output. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BINARY, E2E_TOKEN, startBinary, type GatewayProcess } from "./harness.ts"

function cli(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const r = Bun.spawnSync([BINARY, ...args], {
    cwd: cwd ?? tmpdir(),
    env: { PATH: process.env.PATH ?? "", HOME: env.GATEWAY_HOME ?? tmpdir(), ...env },
    stdout: "pipe",
    stderr: "pipe",
  })
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() }
}

let gw: GatewayProcess
let env: Record<string, string>

beforeAll(async () => {
  gw = await startBinary({ args: ["--token", E2E_TOKEN] })
  env = { GATEWAY_HOME: gw.home, GATEWAY_PORT: String(gw.port), GATEWAY_TOKEN: E2E_TOKEN, XDG_CACHE_HOME: join(gw.home, ".cache") }
})
afterAll(async () => {
  await gw?.stop()
})

describe("compiled CLI", () => {
  test("--version and --help work from any directory and ignore a .env there", () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-cwd-"))
    writeFileSync(join(dir, ".env"), "GATEWAY_HOME=/nonexistent-from-dotenv\n")
    writeFileSync(join(dir, "bunfig.toml"), "this is not toml [[[\n")
    const v = cli(["--version"], {}, dir)
    expect(v.code).toBe(0)
    expect(v.out.trim()).toMatch(/^\d+\.\d+\.\d+/)
    const h = cli(["--help"], {}, dir)
    expect(h.code).toBe(0)
    expect(h.out).toContain("run")
    expect(h.out).toContain("doctor")
    const p = cli(["config", "path"], { GATEWAY_HOME: gw.home }, dir)
    expect(p.out.trim()).toBe(join(gw.home, "gateway.json"))
  })

  test("health: human line, JSON, exit 0", () => {
    const human = cli(["health"], env)
    expect(human.code).toBe(0)
    expect(human.out).toMatch(/^gateway ok/)
    const json = cli(["health", "--json"], env)
    expect(json.code).toBe(0)
    expect(JSON.parse(json.out).ok).toBe(true)
  })

  test("health with nothing listening says so and how to start it", () => {
    // A home of its own: gw.home's runtime file would (rightly) lead health to the running gateway.
    const r = cli(["health"], { GATEWAY_HOME: mkdtempSync(join(tmpdir(), "gw-none-")), GATEWAY_PORT: "1" })
    expect(r.code).toBe(1)
    expect(r.err).toContain("not reachable")
    expect(r.err).toContain("gateway run")
    expect(r.err.trim().split("\n").length).toBe(1)
  })

  test("a wrong token is one clear line and exit 1; --json gives the error object", () => {
    const r = cli(["health", "--token", "wrong-token"], env)
    expect(r.code).toBe(1)
    expect(r.err).toContain("AUTH_TOKEN_MISMATCH")
    const j = cli(["health", "--token", "wrong-token", "--json"], env)
    expect(j.code).toBe(1)
    expect(JSON.parse(j.out).error.code).toBe("INVALID_REQUEST")
  })

  test("call prints the payload as JSON; unknown methods and bad params fail", () => {
    const s = cli(["call", "status", "--params", "{}", "--json"], env)
    expect(s.code).toBe(0)
    expect(JSON.parse(s.out).gateway.port).toBe(gw.port)
    const u = cli(["call", "no.such.method"], env)
    expect(u.code).toBe(1)
    expect(u.err).toContain("unknown method: no.such.method")
    const bad = cli(["call", "status", "--params", "{nope"], env)
    expect(bad.code).toBe(1)
    expect(bad.err).toContain("--params is not valid JSON")
  })

  test("config set goes through the running gateway and is validated", () => {
    const ok = cli(["config", "set", "models.default", "openai/gpt-test"], env)
    expect(ok.code).toBe(0)
    expect(ok.out).toContain("applied by the running gateway")
    expect(cli(["config", "get", "models.default"], env).out.trim()).toBe("openai/gpt-test")
    const file = join(gw.home, "gateway.json")
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const bad = cli(["config", "set", "gateway.bogus", "1"], env)
    expect(bad.code).toBe(1)
    expect(bad.err).toContain("gateway.bogus")
    expect(JSON.parse(readFileSync(file, "utf8")).gateway).toBeUndefined()
    const models = JSON.parse(cli(["call", "models.list", "--json"], env).out)
    expect(models.models.map((m: { id: string }) => m.id)).toContain("gpt-test")
  })

  test("config set without a running gateway edits the file", () => {
    const home = mkdtempSync(join(tmpdir(), "gw-offline-"))
    const r = cli(["config", "set", "gateway.port", "19555"], { GATEWAY_HOME: home, GATEWAY_PORT: "1" })
    expect(r.code).toBe(0)
    expect(r.out).toContain("no gateway running")
    expect(JSON.parse(readFileSync(join(home, "gateway.json"), "utf8")).gateway.port).toBe(19555)
  })

  test("logs prints readable lines, --json the raw records", () => {
    const r = cli(["logs", "--limit", "5"], env)
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/INFO +\[gateway\]/)
    const j = cli(["logs", "--limit", "3", "--json"], env)
    const lines = j.out.trim().split("\n")
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.length).toBeLessThanOrEqual(3)
    for (const l of lines) expect(JSON.parse(l).time).toBeString()
  })

  test("doctor reports SQLite and sqlite-vec versions from the compiled binary", () => {
    const r = cli(["doctor", "--json"], env)
    expect(r.code).toBe(0)
    const report = JSON.parse(r.out)
    expect(report.sqliteVersion).toMatch(/^3\.\d+/)
    expect(report.vecVersion).toMatch(/^v0\./)
    const vec = report.checks.find((c: { name: string }) => c.name === "sqlite-vec")
    // Extracted from the binary into the cache, not read from node_modules.
    expect(vec.detail).toContain(join(gw.home, ".cache", "gateway", "ext"))
    expect(report.checks.find((c: { name: string }) => c.name === "port").detail).toContain("answered by a gateway")
  })

  test("doctor fails on an invalid config and says which key", () => {
    const home = mkdtempSync(join(tmpdir(), "gw-bad-"))
    writeFileSync(join(home, "gateway.json"), `{"gateway": {"prot": 1}}`)
    const r = cli(["doctor"], { GATEWAY_HOME: home, GATEWAY_PORT: "1", XDG_CACHE_HOME: join(home, "c") })
    expect(r.code).toBe(1)
    expect(r.out).toContain("gateway.prot")
  })

  test("run refuses an invalid config with exit 78 and the key path", () => {
    const home = mkdtempSync(join(tmpdir(), "gw-bad-"))
    writeFileSync(join(home, "gateway.json"), `{"logging": {"level": "loud"}}`)
    const r = cli(["run", "--port", "0"], { GATEWAY_HOME: home })
    expect(r.code).toBe(78)
    expect(r.err).toContain("logging.level")
  })
})
