/**
 * Issue 9, operator experience, against the compiled binary: what a new user meets at start-up and in the CLI.
 * Each item asserts exit codes and the exact first line of the message.
 *   1 config changes that would make the next start fail are refused      2 an unwritable state home
 *   3 start-up failures reach logs/gateway.jsonl (and state waits for the port)
 *   4 who holds a port in use                                              5 the runtime file: clients find the gateway
 *   6 unknown flags and commands (exit 2)                                  7 what answers where no gateway does
 *   8 auth errors in CLI words                                             9 help: plain when piped, full names, exit 0
 *  10 SIGUSR1 restarts in place                                           11 the smaller items
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startFakeOpenAI, type FakeServer } from "../fakes/openai.ts"
import { BINARY, connected, directedModel, E2E_TOKEN, fakeModelConfig, runBinary, runCli, startBinary, waitUntil, type GatewayProcess } from "./harness.ts"

const first = (s: string) => s.split("\n")[0] ?? ""
/** A failed `gateway run`'s message: its console log lines come first, the `gateway:` line last. */
const refusal = (stderr: string) => {
  const lines = stderr.trimEnd().split("\n")
  expect(lines.at(-1)).toStartWith("gateway: ")
  return lines.at(-1)!
}
const home = (prefix = "gw-ux-") => mkdtempSync(join(tmpdir(), prefix))
const extra: GatewayProcess[] = []
const servers: { stop(force?: boolean): unknown }[] = []

/** A port nothing listens on right now. */
function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  const port = s.port
  s.stop(true)
  return port
}

/** A plain HTTP server like `python3 -m http.server`: 404 for everything, no WebSocket upgrade. */
function httpHolder(): number {
  const s = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response("File not found", { status: 404, headers: { server: "SimpleHTTP/0.6 Python/3.12.3" } }),
  })
  servers.push(s)
  return s.port!
}

/** A WebSocket server that is not a gateway: it greets with plain text. */
function wsHolder(): number {
  const s = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req, server) => (server.upgrade(req) ? undefined : new Response("ws only", { status: 400 })),
    websocket: { open: (ws) => void ws.send("hello"), message() {} },
  })
  servers.push(s)
  return s.port!
}

afterAll(async () => {
  await Promise.all(extra.map((g) => g.stop("SIGKILL")))
  for (const s of servers) s.stop(true)
})

const log = (h: string) =>
  existsSync(join(h, "logs", "gateway.jsonl"))
    ? readFileSync(join(h, "logs", "gateway.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { level: string; message: string; [k: string]: unknown })
    : []

describe("1. a change the next start would refuse is not saved", () => {
  let gw: GatewayProcess
  let env: Record<string, string>
  beforeAll(async () => {
    gw = await startBinary({ args: ["--token", E2E_TOKEN], config: { models: { default: "x/y" } } })
    extra.push(gw)
    env = { GATEWAY_HOME: gw.home, GATEWAY_TOKEN: E2E_TOKEN }
  })

  test("auth.mode password without a password: refused by the running gateway, file and gateway unchanged", async () => {
    const before = readFileSync(join(gw.home, "gateway.json"), "utf8")
    const r = await runCli(["config", "set", "gateway.auth.mode", "password"], env)
    expect(r.code).toBe(1)
    expect(first(r.err)).toBe(
      "gateway: not saved: the next start would fail with: gateway.auth.mode is 'password' but no password is set (--password, GATEWAY_PASSWORD or gateway.auth.password) [CONFIG_WOULD_NOT_START]",
    )
    expect(readFileSync(join(gw.home, "gateway.json"), "utf8")).toBe(before)
    expect((await runCli(["health"], env)).code).toBe(0)
  })

  test("bind lan with a 13-character token and an address not on this machine: refused with the start-up reason", async () => {
    const lan = await runCli(["config", "set", "gateway.bind", "lan"], env)
    expect(lan.code).toBe(1)
    expect(first(lan.err)).toStartWith(
      "gateway: not saved: the next start would fail with: refusing to listen on 0.0.0.0 with a 13-character token: off loopback it must have at least 16 characters.",
    )
    const foreign = await runCli(["config", "set", "gateway.bind", "203.0.113.7"], env)
    expect(foreign.code).toBe(1)
    expect(first(foreign.err)).toStartWith("gateway: not saved: the next start would fail with: gateway.bind 203.0.113.7 is not an address of this machine")
  })

  test("config.patch over the wire answers CONFIG_WOULD_NOT_START with the reason", async () => {
    const { sock } = await connected(gw.url, { scopes: ["operator.admin"] })
    const { hash } = (await sock.request("config.get", {})).payload as { hash: string }
    const res = await sock.request("config.patch", { raw: JSON.stringify({ gateway: { auth: { mode: "password" } } }), baseHash: hash })
    expect(res.ok).toBe(false)
    expect(res.error).toMatchObject({ code: "INVALID_REQUEST", details: { code: "CONFIG_WOULD_NOT_START" } })
    sock.close()
  })

  test("offline: the same check before the file is written", async () => {
    const h = home()
    const r = await runCli(["config", "set", "gateway.auth.mode", "password"], { GATEWAY_HOME: h })
    expect(r.code).toBe(1)
    expect(first(r.err)).toBe(
      "gateway: not saved: the next start would fail with: gateway.auth.mode is 'password' but no password is set (--password, GATEWAY_PASSWORD or gateway.auth.password)",
    )
    expect(existsSync(join(h, "gateway.json"))).toBe(false)
    // Fixing it in the right order works.
    expect((await runCli(["config", "set", "gateway.auth.password", "a-long-password"], { GATEWAY_HOME: h })).code).toBe(0)
    expect((await runCli(["config", "set", "gateway.auth.mode", "password"], { GATEWAY_HOME: h })).code).toBe(0)
  })
})

const canUnshare = Bun.spawnSync(["unshare", "-rm", "true"]).exitCode === 0

describe("2. an unwritable state home", () => {
  /** Runs the binary with GATEWAY_HOME on a read-only tmpfs (a user+mount namespace; nothing outside changes). */
  function readOnly(args: string[], seed: Record<string, string> = {}) {
    const dir = home("gw-ro-")
    const cache = home("gw-ro-cache-")
    const files = Object.entries(seed)
      .map(([f, c]) => `printf '%s' '${c}' > "$1/h/${f}" &&`)
      .join(" ")
    const script = `mount -t tmpfs tmpfs "$1" && mkdir -p "$1/h" && ${files} mount -o remount,ro "$1" && shift && exec "$@"`
    const r = Bun.spawnSync(["unshare", "-rm", "sh", "-c", script, "sh", dir, BINARY, ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: dir, GATEWAY_HOME: join(dir, "h"), XDG_CACHE_HOME: cache },
      stdout: "pipe",
      stderr: "pipe",
    })
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString(), home: join(dir, "h") }
  }

  test.skipIf(!canUnshare)("run: one line naming the path and what to do, exit 78, no stack", () => {
    const r = readOnly(["run", "--port", "0"])
    expect(r.code).toBe(78)
    expect(r.err).toBe(
      `gateway: cannot write to the state home ${r.home}: read-only file system (EROFS). Point --home or GATEWAY_HOME at a writable directory, or make it writable\n`,
    )
  })

  test.skipIf(!canUnshare)("config set: one line naming gateway.json, exit 1", () => {
    const r = readOnly(["config", "set", "models.default", "a/b"], { "gateway.json": "{}" })
    expect(r.code).toBe(1)
    expect(r.err).toBe(
      `gateway: cannot write ${r.home}/gateway.json: read-only file system (EROFS). Make ${r.home} writable, or use another state home (--home or GATEWAY_HOME)\n`,
    )
  })
})

describe("3. start-up failures are logged, and state waits for the port", () => {
  test("a port in use: the failure is the log's last line, `gateway logs` shows it; no token, database or workspace", async () => {
    const port = httpHolder()
    const h = home()
    const r = await runBinary(["run", "--port", String(port)], { home: h })
    expect(r.code).toBe(78)
    const last = log(h).at(-1)!
    expect(last.level).toBe("error")
    expect(last.message).toStartWith(`start-up failed: port ${port} on 127.0.0.1 is in use by an HTTP server`)
    for (const f of ["gateway.token", "gateway.db", "workspace"]) expect(existsSync(join(h, f))).toBe(false)
    const logs = await runCli(["logs"], { GATEWAY_HOME: h, GATEWAY_PORT: String(freePort()) })
    expect(logs.code).toBe(0)
    expect(logs.out).toContain(`start-up failed: port ${port} on 127.0.0.1 is in use`)
  })

  test("an invalid config is logged too", async () => {
    const h = home()
    writeFileSync(join(h, "gateway.json"), `{"logging": {"level": "loud"}}`)
    const r = await runBinary(["run", "--port", "0"], { home: h })
    expect(r.code).toBe(78)
    expect(first(r.stderr)).toBe(`gateway: invalid config ${join(h, "gateway.json")}:`)
    const last = log(h).at(-1)!
    expect(last.level).toBe("error")
    expect(last.message).toStartWith(`start-up failed: invalid config ${join(h, "gateway.json")}:`)
  })
})

describe("4. who holds the port", () => {
  test("an HTTP server: named with its answer, exit 78, never 'another gateway'", async () => {
    const port = httpHolder()
    const r = await runBinary(["run", "--port", String(port)])
    expect(r.code).toBe(78)
    expect(refusal(r.stderr)).toStartWith(`gateway: port ${port} on 127.0.0.1 is in use by an HTTP server, not a gateway (`)
    expect(refusal(r.stderr)).toContain(`answers "HTTP/1.1 404 Not Found", Server: SimpleHTTP/0.6 Python/3.12.3`)
    expect(refusal(r.stderr)).toMatch(/Stop it, or run this gateway on another port: --port \d+ \(or gateway\.port\)$/)
    expect(r.stderr).not.toContain("another gateway")
  })

  test("a WebSocket server that is not a gateway", async () => {
    const port = wsHolder()
    const r = await runBinary(["run", "--port", String(port)])
    expect(r.code).toBe(78)
    expect(refusal(r.stderr)).toStartWith(`gateway: port ${port} on 127.0.0.1 is in use by a WebSocket server that is not an OpenClaw gateway (`)
  })

  test("another gateway that refuses this home's token; another that accepts it names its pid and state home", async () => {
    const other = await startBinary({ args: ["--token", "other-gateway-token-1"] })
    extra.push(other)
    const refused = await runBinary(["run", "--port", String(other.port), "--token", E2E_TOKEN])
    expect(refused.code).toBe(78)
    expect(refusal(refused.stderr)).toMatch(
      new RegExp(
        `^gateway: port ${other.port} on 127\\.0\\.0\\.1 is in use by another gateway, which refused this state home's token ` +
          `\\(another state home's gateway, or OpenClaw(; gateway, pid ${other.proc.pid})?\\)\\. Stop it, or run this gateway on another port: --port \\d+ \\(or gateway\\.port\\)$`,
      ),
    )
    const pid = other.proc.pid
    const accepted = await runBinary(["run", "--port", String(other.port), "--token", "other-gateway-token-1"])
    expect(accepted.code).toBe(78)
    expect(refusal(accepted.stderr)).toStartWith(`gateway: port ${other.port} on 127.0.0.1 is in use by another gateway (v`)
    expect(refusal(accepted.stderr)).toContain(`pid ${pid}, state home ${other.home})`)
  })

  test("the same state home: refused before the port, naming the running gateway", async () => {
    const gw = await startBinary({})
    extra.push(gw)
    const r = await runBinary(["run", "--port", "0"], { home: gw.home })
    expect(r.code).toBe(78)
    expect(refusal(r.stderr)).toBe(
      `gateway: a gateway is already running with the state home ${gw.home} (pid ${gw.proc.pid}, ${gw.url}). Check it with 'gateway health'; stop it with 'gateway stop' (service) or 'kill ${gw.proc.pid}', or give this one its own --home`,
    )
  })
})

describe("5. clients find the running gateway", () => {
  test("run --port N: plain health finds it through gateway.runtime.json (0600), removed on a clean exit", async () => {
    const gw = await startBinary({ port: freePort() })
    extra.push(gw)
    const file = join(gw.home, "gateway.runtime.json")
    const rt = JSON.parse(readFileSync(file, "utf8"))
    expect(rt).toMatchObject({ pid: gw.proc.pid, port: gw.port, url: gw.url, bind: "loopback", portSource: "flag" })
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const h = await runCli(["health"], { GATEWAY_HOME: gw.home })
    expect(h.code).toBe(0)
    expect(h.out).toStartWith("gateway ok")
    const got = await runCli(["config", "get", "gateway.port"], { GATEWAY_HOME: gw.home })
    expect(got.code).toBe(0)

    // A port change is saved for the next start and says so; clients keep finding the gateway where it is.
    const set = await runCli(["config", "set", "gateway.port", String(freePort())], { GATEWAY_HOME: gw.home })
    expect(set.code).toBe(0)
    expect(set.out.split("\n")[1]).toBe("restart required for: gateway.port (gateway restart)")
    expect((await runCli(["health"], { GATEWAY_HOME: gw.home })).code).toBe(0)

    expect(await gw.stop()).toBe(0)
  })

  test("a stale runtime file (kill -9) is ignored", async () => {
    const h = home()
    const gw = await startBinary({ home: h, config: { gateway: { port: 1 } } })
    gw.proc.kill("SIGKILL")
    await gw.proc.exited
    expect(existsSync(join(h, "gateway.runtime.json"))).toBe(true)
    const r = await runCli(["health"], { GATEWAY_HOME: h })
    expect(r.code).toBe(1)
    expect(first(r.err)).toStartWith("gateway: gateway not reachable at ws://127.0.0.1:1 ")
  })

  test("offline config get applies GATEWAY_PORT as start-up would, and says so", async () => {
    const h = home()
    const port = freePort()
    const r = await runCli(["config", "get", "gateway.port"], { GATEWAY_HOME: h, GATEWAY_PORT: String(port) })
    expect(r.code).toBe(0)
    expect(r.out).toBe(`${port}\n`)
    expect(first(r.err)).toBe(`gateway: note: GATEWAY_PORT=${port} overrides gateway.port (18789 in ${join(h, "gateway.json")})`)
  })
})

describe("6. unknown flags and commands are usage errors (exit 2)", () => {
  test("a misspelt flag names the closest one", async () => {
    const r = await runCli(["health", "--tokne", "x"], { GATEWAY_HOME: home() })
    expect(r.code).toBe(2)
    expect(first(r.err)).toBe("gateway: unknown option '--tokne' for 'gateway health' (did you mean '--token'?)")
  })

  test("a misspelt command, a missing argument, an extra argument, a flag without its value", async () => {
    const env = { GATEWAY_HOME: home() }
    const cmd = await runCli(["confg", "get"], env)
    expect([cmd.code, first(cmd.err)]).toEqual([2, "gateway: unknown command 'confg' (did you mean 'config'?)"])
    const missing = await runCli(["config", "set", "models.default"], env)
    expect([missing.code, first(missing.err)]).toEqual([2, "gateway: missing argument VALUE for 'gateway config set'"])
    const extraArg = await runCli(["health", "now"], env)
    expect([extraArg.code, first(extraArg.err)]).toEqual([2, "gateway: unexpected argument 'now' for 'gateway health'"])
    const noValue = await runCli(["health", "--token"], env)
    expect([noValue.code, first(noValue.err)]).toEqual([2, "gateway: option '--token' needs a value"])
    const early = await runCli(["--json", "health"], env)
    expect([early.code, first(early.err)]).toEqual([
      2,
      "gateway: unknown option '--json' for 'gateway' (options go after the command: 'gateway health --json')",
    ])
  })
})

describe("7. what answers where no gateway does", () => {
  test("an HTTP server, a foreign WebSocket server, nothing", async () => {
    const http = httpHolder()
    const h = await runCli(["health", "--url", `ws://127.0.0.1:${http}`], { GATEWAY_HOME: home() })
    expect(h.code).toBe(1)
    expect(first(h.err)).toBe(
      `gateway: no gateway at ws://127.0.0.1:${http}: an HTTP server answers there ("HTTP/1.1 404 Not Found", Server: SimpleHTTP/0.6 Python/3.12.3) but does not accept WebSocket connections. Check the port (--url, GATEWAY_PORT or gateway.port)`,
    )
    const ws = wsHolder()
    const w = await runCli(["health", "--url", `ws://127.0.0.1:${ws}`], { GATEWAY_HOME: home() })
    expect(w.code).toBe(1)
    expect(first(w.err)).toBe(
      `gateway: no gateway at ws://127.0.0.1:${ws}: a WebSocket server answers there but does not speak the OpenClaw gateway protocol (its first message was 'hello')`,
    )
    const none = freePort()
    const n = await runCli(["health", "--url", `ws://127.0.0.1:${none}`], { GATEWAY_HOME: home() })
    expect(n.code).toBe(1)
    expect(first(n.err)).toBe(
      `gateway: gateway not reachable at ws://127.0.0.1:${none} (nothing is listening on 127.0.0.1:${none}). Start it with 'gateway run' (or 'gateway install' for a service).`,
    )
  })
})

describe("8. auth errors in CLI words", () => {
  let gw: GatewayProcess
  beforeAll(async () => {
    gw = await startBinary({ args: ["--token", E2E_TOKEN] })
    extra.push(gw)
  })

  test("a wrong --token against a gateway started with --token says so, in flags and variables", async () => {
    const r = await runCli(["health", "--token", "wrong-token-value"], { GATEWAY_HOME: gw.home })
    expect(r.code).toBe(1)
    expect(first(r.err)).toBe(
      `gateway: the gateway at ${gw.url} rejected the token from --token: it was started with --token or GATEWAY_TOKEN; pass that token with --token or GATEWAY_TOKEN [AUTH_TOKEN_MISMATCH]`,
    )
  })

  test("no token at all, and a generated-token gateway", async () => {
    const r = await runCli(["health"], { GATEWAY_HOME: gw.home })
    expect(first(r.err)).toBe(
      `gateway: the gateway at ${gw.url} needs a token and none was sent: it was started with --token or GATEWAY_TOKEN; pass that token with --token or GATEWAY_TOKEN [AUTH_TOKEN_MISSING]`,
    )
    const gen = await startBinary({})
    extra.push(gen)
    const w = await runCli(["health", "--token", "wrong-token-value"], { GATEWAY_HOME: gen.home })
    expect(first(w.err)).toBe(
      `gateway: the gateway at ${gen.url} rejected the token from --token: it uses the token in ${join(gen.home, "gateway.token")}; drop --token and GATEWAY_TOKEN to use it, or make a new one with 'gateway token new --write' [AUTH_TOKEN_MISMATCH]`,
    )
  })
})

/** Every command path of the CLI, from the lazy command map itself. */
async function commandPaths(): Promise<string[][]> {
  const { commands } = await import("../../cli/commands/index.ts")
  const out: string[][] = [[]]
  const walk = async (prefix: string[], subs: Record<string, unknown>) => {
    for (const [name, sub] of Object.entries(subs)) {
      const cmd = (typeof sub === "function" ? await (sub as () => Promise<unknown>)() : sub) as { subCommands?: Record<string, unknown> }
      out.push([...prefix, name])
      if (cmd.subCommands) await walk([...prefix, name], cmd.subCommands)
    }
  }
  await walk([], commands)
  return out
}

describe("9. help", () => {
  test("every command and subcommand: exit 0, no ANSI when piped, full name, every option described", async () => {
    const paths = await commandPaths()
    expect(paths.length).toBeGreaterThan(20)
    for (const path of paths) {
      const r = await runCli([...path, "--help"], { GATEWAY_HOME: home() })
      const name = ["gateway", ...path].join(" ")
      expect({ name, code: r.code }).toEqual({ name, code: 0 })
      expect(r.out).not.toContain("\x1b[")
      expect(r.out).toContain(`USAGE ${name}`)
      const options = r.out.split("OPTIONS")[1]?.split(/\n\n[A-Z]/)[0] ?? ""
      for (const line of options.split("\n").filter((l) => l.trim().startsWith("-"))) {
        // "  --flag=<v>    description": a second column must be there.
        expect({ name, line: line.trim(), described: /\S\s{2,}\S/.test(line.trim()) }).toMatchObject({ described: true })
      }
    }
  }, 60_000)
})

describe("10. SIGUSR1 restarts in place", () => {
  test("clients hear shutdown with restartExpectedMs and close 1012; the same process serves the new restart-only settings", async () => {
    const port = freePort()
    const gw = await startBinary({ port: "config", args: ["--token", E2E_TOKEN], config: { gateway: { port, maxPayloadBytes: 65_536 } } })
    extra.push(gw)
    const { sock, hello } = await connected(gw.url)
    expect(hello.policy.maxPayload).toBe(65_536)
    writeFileSync(join(gw.home, "gateway.json"), JSON.stringify({ gateway: { port, maxPayloadBytes: 131_072 } }))
    await waitUntil(() => gw.stderr().includes("restart required"), "the restart-required warning")
    gw.proc.kill("SIGUSR1")
    expect((await sock.closed(4000)).code).toBe(1012)
    const shutdown = sock.events("shutdown")[0]!
    expect((shutdown.payload as { reason: string; restartExpectedMs?: number }).reason).toContain("SIGUSR1")
    expect((shutdown.payload as { restartExpectedMs?: number }).restartExpectedMs).toBeNumber()
    const again = await waitUntil(async () => {
      try {
        return await connected(`ws://127.0.0.1:${port}`)
      } catch {
        return undefined
      }
    }, "the restarted gateway")
    expect(again.hello.policy.maxPayload).toBe(131_072)
    expect(gw.proc.exitCode).toBeNull()
    again.sock.close()
    expect(await gw.stop()).toBe(0)
  })

  test("a config the restart would refuse: SIGUSR1 keeps the running gateway and logs why", async () => {
    const gw = await startBinary({ port: "config", args: ["--token", E2E_TOKEN], config: { gateway: { port: freePort() } } })
    extra.push(gw)
    writeFileSync(join(gw.home, "gateway.json"), JSON.stringify({ gateway: { port: gw.port, auth: { mode: "password" } } }))
    await Bun.sleep(500)
    gw.proc.kill("SIGUSR1")
    await waitUntil(() => gw.stderr().includes("SIGUSR1: not restarting"), "the refusal")
    expect(gw.stderr()).toContain("gateway.auth.mode is 'password' but no password is set")
    const { sock } = await connected(gw.url)
    expect((await sock.request("health")).ok).toBe(true)
    sock.close()
  })
})

describe("11. smaller items", () => {
  test("logs with no gateway and no log file: says so, exit 1", async () => {
    const h = home()
    const r = await runCli(["logs"], { GATEWAY_HOME: h })
    expect(r.code).toBe(1)
    expect(first(r.err)).toBe(
      `gateway: no log yet: ${join(h, "logs", "gateway.jsonl")} does not exist (no gateway has run with this state home; start one with 'gateway run')`,
    )
  })

  test("config unset prunes the objects it empties", async () => {
    const h = home()
    expect((await runCli(["config", "set", "gateway.auth.token", "a-token-of-some-length"], { GATEWAY_HOME: h })).code).toBe(0)
    expect((await runCli(["config", "set", "models.default", "a/b"], { GATEWAY_HOME: h })).code).toBe(0)
    expect((await runCli(["config", "unset", "gateway.auth.token"], { GATEWAY_HOME: h })).code).toBe(0)
    expect(JSON.parse(readFileSync(join(h, "gateway.json"), "utf8"))).toEqual({ models: { default: "a/b" } })
  })

  describe("sessions", () => {
    let fake: FakeServer
    let gw: GatewayProcess
    beforeAll(async () => {
      fake = startFakeOpenAI(directedModel)
      servers.push({ stop: () => fake.stop() })
      gw = await startBinary({ config: fakeModelConfig(fake.url) })
      extra.push(gw)
    })

    test("list has a header, names a named session 'named'; reset zeroes its token count", async () => {
      const env = { GATEWAY_HOME: gw.home }
      expect((await runCli(["agent", "--message", "hi", "--session", "work"], env)).code).toBe(0)
      const list = await runCli(["sessions", "list"], env)
      expect(list.code).toBe(0)
      const [header, row] = list.out.split("\n")
      expect(header).toMatch(/^KEY\s+KIND\s+UPDATED\s+TOKENS$/)
      expect(row).toMatch(/^agent:main:work\s+named\s+\S+ ago\s+[1-9]\d* tok$/)
      expect((await runCli(["sessions", "reset", "work"], env)).code).toBe(0)
      const after = (await runCli(["sessions", "list"], env)).out.split("\n")[1]
      expect(after).toMatch(/^agent:main:work\s+named\s+\S+ ago\s+0 tok$/)
    })
  })

  test("install from a build folder warns and --copy installs a copy", async () => {
    const h = home()
    const plain = await runCli(["install", "--dry-run"], { GATEWAY_HOME: join(h, ".gateway"), HOME: h, GATEWAY_SERVICE_BACKEND: "systemd" })
    expect(plain.code).toBe(0)
    const warning = plain.err.split("\n").find((l) => l.startsWith("gateway: warning: the service would run"))
    expect(warning).toStartWith(`gateway: warning: the service would run ${BINARY}, inside a build folder`)
    const copy = await runCli(["install", "--dry-run", "--copy"], { GATEWAY_HOME: join(h, ".gateway"), HOME: h, GATEWAY_SERVICE_BACKEND: "systemd" })
    expect(copy.code).toBe(0)
    expect(copy.out).toContain(`would copy ${BINARY} -> ${join(h, ".local", "bin", "gateway")} (mode 0755)`)
    expect(copy.out).toContain(`ExecStart=${join(h, ".local", "bin", "gateway")} run`)
    expect(copy.err).not.toContain("inside a build folder")
  })
})
