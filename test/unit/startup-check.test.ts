/**
 * What start-up refuses, checked ahead: config writes that would break the next start are refused (manager and
 * offline edit), the state home's write errors become one line, the runtime file tells live from stale.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { patchConfigFile } from "../../src/config/edit.ts"
import { mergePatchPruned } from "../../src/config/load.ts"
import { ConfigManager } from "../../src/config/manager.ts"
import { resolvePaths } from "../../src/config/paths.ts"
import { liveRuntime, readRuntime, removeRuntime, writeRuntime, type RuntimeInfo } from "../../src/config/runtime.ts"
import { ConfigSchema } from "../../src/config/schema.ts"
import { checkChange, ConfigWouldNotStart, startupProblems, type HostFacts } from "../../src/config/startup-check.ts"
import { asStateHomeError, checkStateHome, fileWriteError, StateHomeError } from "../../src/config/state-home.ts"

const facts: HostFacts = { uid: 1000, addresses: ["127.0.0.1", "10.1.2.3"], unprivilegedPortStart: 1024 }
const cfg = (gateway: object) => ConfigSchema.parse({ gateway })
const home = (text?: string) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-check-"))
  if (text !== undefined) writeFileSync(join(dir, "gateway.json"), text)
  return resolvePaths(dir, { GATEWAY_SYSTEM_CONFIG: join(dir, "none.json") })
}

describe("startupProblems", () => {
  test("a startable config has none", () => {
    expect(startupProblems(cfg({}), facts)).toEqual([])
    expect(startupProblems(cfg({ bind: "10.1.2.3", auth: { token: "a-token-of-16-chars" } }), facts)).toEqual([])
  })

  test("each refusal start-up makes, with its key", () => {
    expect(startupProblems(cfg({ auth: { mode: "password" } }), facts)).toEqual([
      { path: "gateway.auth", message: "gateway.auth.mode is 'password' but no password is set (--password, GATEWAY_PASSWORD or gateway.auth.password)" },
    ])
    expect(startupProblems(cfg({ bind: "lan", auth: { token: "short-token" } }), facts)[0]!.message).toStartWith(
      "refusing to listen on 0.0.0.0 with a 11-character token",
    )
    expect(startupProblems(cfg({ bind: "my-host" }), facts)[0]!.path).toBe("gateway.bind")
    expect(startupProblems(cfg({ bind: "203.0.113.7", auth: { token: "a-token-of-16-chars" } }), facts)[0]!.message).toBe(
      "gateway.bind 203.0.113.7 is not an address of this machine (it has 127.0.0.1, 10.1.2.3): use 'loopback', 'lan' or one of those",
    )
    expect(startupProblems(cfg({ port: 80 }), facts)[0]!.message).toBe(
      "gateway.port 80 needs root: ports below 1024 are privileged on this machine; use 1024 or above (default 18789)",
    )
    expect(startupProblems(cfg({ port: 80 }), { ...facts, uid: 0 })).toEqual([])
    expect(startupProblems(cfg({ port: 80 }), { ...facts, unprivilegedPortStart: 0 })).toEqual([])
  })

  test("checkChange refuses new problems only: a config that cannot start yet may be edited towards one that can", () => {
    expect(() => checkChange(cfg({}), cfg({ auth: { mode: "password" } }), facts)).toThrow(ConfigWouldNotStart)
    expect(() => checkChange(cfg({}), cfg({ auth: { mode: "password" } }), facts)).toThrow(
      "not saved: the next start would fail with: gateway.auth.mode is 'password' but no password is set",
    )
    const broken = cfg({ auth: { mode: "password" } })
    expect(() => checkChange(broken, cfg({ auth: { mode: "password" }, tickIntervalMs: 5000 }), facts)).not.toThrow()
  })
})

describe("config writes", () => {
  test("the running gateway refuses a patch the next start would refuse, with its flags applied; the file is untouched", () => {
    const p = home(`{"logging": {"level": "info"}}`)
    const before = readFileSync(p.config, "utf8")
    const m = new ConfigManager(p, { token: "flag-token" })
    expect(() => m.patch({ gateway: { auth: { mode: "password" } } }, m.file.hash)).toThrow(ConfigWouldNotStart)
    // The flag's token is 10 characters: fine on loopback, refused off it.
    expect(() => m.patch({ gateway: { bind: "lan" } }, m.file.hash)).toThrow(/10-character token/)
    expect(readFileSync(p.config, "utf8")).toBe(before)
  })

  test("a restart-only key masked by a flag still reports 'restart required'", () => {
    const p = home()
    const m = new ConfigManager(p, { port: 0 })
    const change = m.patch({ gateway: { port: 19_999 } })
    expect(change.changedPaths).toEqual([])
    expect(change.restartPaths).toEqual(["gateway.port"])
  })

  test("offline: the same refusal before writing; env overrides count as at start-up", () => {
    const p = home()
    expect(() => patchConfigFile(p, { gateway: { auth: { mode: "password" } } }, {})).toThrow(ConfigWouldNotStart)
    expect(existsSync(p.config)).toBe(false)
    patchConfigFile(p, { gateway: { auth: { mode: "password" } } }, { GATEWAY_PASSWORD: "from-env" })
    expect(JSON.parse(readFileSync(p.config, "utf8")).gateway.auth.mode).toBe("password")
  })

  test("unset prunes what it emptied, not what the user wrote empty", () => {
    expect(mergePatchPruned({ gateway: { auth: { token: "x" } }, models: {} }, { gateway: { auth: { token: null } } })).toEqual({ models: {} })
    expect(mergePatchPruned({ gateway: { auth: { token: "x" }, port: 1 } }, { gateway: { auth: { token: null } } })).toEqual({ gateway: { port: 1 } })
    expect(mergePatchPruned({ a: 1 }, { b: { c: 2 } })).toEqual({ a: 1, b: { c: 2 } })
  })
})

describe("state home", () => {
  test("errno failures become one line naming the file and what to do", () => {
    const p = home()
    const erofs = Object.assign(new Error("EROFS: read-only file system, open"), { code: "EROFS", path: `${p.config}.123.456.tmp` })
    expect(fileWriteError(erofs, p.config)?.message).toBe(
      `cannot write ${p.config}: read-only file system (EROFS). Make ${p.home} writable, or use another state home (--home or GATEWAY_HOME)`,
    )
    const denied = asStateHomeError(Object.assign(new Error("x"), { code: "EACCES", path: p.tokenFile }), p) as StateHomeError
    expect(denied.message).toBe(
      `cannot write ${p.tokenFile}: permission denied (EACCES). Make ${p.home} writable, or point --home or GATEWAY_HOME at a writable directory`,
    )
    const sqlite = asStateHomeError(Object.assign(new Error("unable to open database file"), { code: "SQLITE_CANTOPEN" }), p) as StateHomeError
    expect(sqlite.data.path).toBe(p.database)
    const other = new Error("boom")
    expect(asStateHomeError(other, p)).toBe(other)
    expect(fileWriteError(other, p.config)).toBeUndefined()
  })

  test("checkStateHome accepts a writable (or creatable) home and creates nothing", () => {
    const p = resolvePaths(join(mkdtempSync(join(tmpdir(), "gw-home-")), "not", "yet"), {})
    checkStateHome(p)
    expect(existsSync(p.home)).toBe(false)
    // A state home under a regular file cannot be created.
    const file = join(mkdtempSync(join(tmpdir(), "gw-home-")), "file")
    writeFileSync(file, "")
    expect(() => checkStateHome(resolvePaths(join(file, "home"), {}))).toThrow(StateHomeError)
  })
})

describe("runtime file", () => {
  const info = (p: ReturnType<typeof home>, over: Partial<RuntimeInfo>): RuntimeInfo => ({
    pid: process.pid,
    url: "ws://127.0.0.1:1",
    port: 1,
    host: "127.0.0.1",
    bind: "loopback",
    startedAt: new Date().toISOString(),
    version: "0",
    home: p.home,
    configPath: p.config,
    portSource: "flag",
    authMode: "token",
    authSource: "generated",
    overrides: {},
    ...over,
  })

  test("0600; live only while its pid runs and its port answers; removed only by its own process", async () => {
    const p = home()
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
    try {
      writeRuntime(p, info(p, { url: `ws://127.0.0.1:${server.port}`, port: server.port }))
      expect(statSync(p.runtimeFile).mode & 0o777).toBe(0o600)
      expect((await liveRuntime(p))?.port).toBe(server.port)
      writeRuntime(p, info(p, { pid: 2 ** 22 + 12_345, url: `ws://127.0.0.1:${server.port}`, port: server.port }))
      expect(await liveRuntime(p)).toBeUndefined()
      removeRuntime(p)
      expect(readRuntime(p)).toBeDefined()
    } finally {
      server.stop(true)
    }
    writeRuntime(p, info(p, {}))
    expect(await liveRuntime(p)).toBeUndefined()
    removeRuntime(p)
    expect(existsSync(p.runtimeFile)).toBe(false)
  })
})
