/**
 * The gateway over time: tick/health/presence events and their seq, hot reload of gateway.json (file watch and
 * SIGHUP), shutdown on SIGTERM/SIGINT, refusing an unsafe bind, slow consumers and oversized frames.
 * Each case that needs its own config gets its own process; they all start in parallel.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { E2E_TOKEN, connectFrame, connected, runBinary, startBinary, waitUntil, type GatewayProcess, type RawFrame, type RawSocket } from "./harness.ts"
import { TcpWebSocket } from "./tcp-ws.ts"

const token = ["--token", E2E_TOKEN]
let events: GatewayProcess
let reload: GatewayProcess
let hup: GatewayProcess
let small: GatewayProcess
let slow: GatewayProcess
const extra: GatewayProcess[] = []

beforeAll(async () => {
  ;[events, reload, hup, small, slow] = await Promise.all([
    startBinary({ args: token, config: { gateway: { tickIntervalMs: 1000, healthIntervalMs: 1500 } } }),
    // No --port flag: the port comes from the file, so a port edit is a real restart-only change.
    startBinary({ args: token, port: "config", config: { gateway: { port: 0 }, logging: { level: "info" } } }),
    startBinary({ args: token, config: { gateway: { reload: { mode: "off" } } } }),
    startBinary({ args: token, config: { gateway: { maxPayloadBytes: 65_536 } } }),
    startBinary({ args: token, config: { gateway: { maxBufferedBytes: 4096 } } }),
  ])
})

afterAll(async () => {
  await Promise.all([events, reload, hup, small, slow, ...extra].map((g) => g?.stop("SIGKILL")))
})

function configFile(gw: GatewayProcess): string {
  return join(gw.home, "gateway.json")
}

function writeConfig(gw: GatewayProcess, config: unknown): void {
  writeFileSync(configFile(gw), JSON.stringify(config, null, 2))
}

/** Events after hello (everything but the challenge, which has no seq). */
function afterHello(sock: RawSocket): RawFrame[] {
  return sock.events().filter((f) => f.event !== "connect.challenge")
}

async function defaultModel(sock: RawSocket): Promise<string | undefined> {
  const res = await sock.request("config.get", {})
  return ((res.payload as Record<string, any>).config.models as { default?: string }).default
}

describe("events", () => {
  test("presence on join and leave, ticks and health with per-connection seq without gaps", async () => {
    const started = Date.now()
    const { sock: watcher } = await connected(events.url)
    // Its own arrival is its first event.
    const own = await watcher.waitFor((f) => f.event === "presence")
    expect(own.seq).toBe(1)

    const instanceId = crypto.randomUUID()
    const other = await connected(events.url, {
      client: { id: "cli", displayName: "second-client", version: "1.0.0", platform: "linux", mode: "cli", instanceId },
    })
    const joined = await watcher.waitFor(
      (f) => f.event === "presence" && (f.payload as { presence: { instanceId?: string }[] }).presence.some((p) => p.instanceId === instanceId),
    )
    const entry = (joined.payload as { presence: Record<string, any>[] }).presence.find((p) => p.instanceId === instanceId)!
    expect(entry.host).toBe("second-client")
    expect(entry.mode).toBe("cli")
    expect(joined.stateVersion).toBeDefined()

    other.sock.close()
    const left = await watcher.waitFor(
      (f) =>
        f.event === "presence" &&
        (f.seq as number) > (joined.seq as number) &&
        !(f.payload as { presence: { instanceId?: string }[] }).presence.some((p) => p.instanceId === instanceId),
    )
    expect((left.payload as { presence: { mode?: string }[] }).presence.some((p) => p.mode === "gateway")).toBe(true)
    expect((left.stateVersion as { presence: number }).presence).toBeGreaterThan((joined.stateVersion as { presence: number }).presence)

    // tickIntervalMs 1000 and healthIntervalMs 1500: within ~2.5 s at least two ticks and one health event.
    await Bun.sleep(Math.max(0, 2600 - (Date.now() - started)))
    await watcher.waitFor((f) => f.event === "health", 2000)
    const evs = afterHello(watcher)
    const seqs = evs.map((f) => f.seq)
    expect(seqs).toEqual(seqs.map((_, i) => i + 1))
    const ticks = evs.filter((f) => f.event === "tick")
    expect(ticks.length).toBeGreaterThanOrEqual(2)
    for (const t of ticks) {
      expect((t.payload as { ts: number }).ts).toBeNumber()
      expect("stateVersion" in t).toBe(false)
    }
    const health = evs.filter((f) => f.event === "health")
    for (const h of health) {
      // (Checked by hand: Bun's toMatchObject with expect.any() writes the matchers into the received object.)
      const sv = h.stateVersion as { presence: unknown; health: unknown }
      expect(typeof sv.presence).toBe("number")
      expect(typeof sv.health).toBe("number")
      expect((h.payload as { ok: boolean }).ok).toBe(true)
    }
    const versions = health.map((h) => (h.stateVersion as { health: number }).health)
    for (let i = 1; i < versions.length; i++) expect(versions[i]!).toBeGreaterThan(versions[i - 1]!)
    watcher.close()
  })

  test("seq is per connection: a late joiner starts at 1", async () => {
    const { sock } = await connected(events.url)
    const first = await sock.waitFor((f) => f.type === "event" && f.event !== "connect.challenge")
    expect(first.seq).toBe(1)
    const tick = await sock.waitFor((f) => f.event === "tick", 2500)
    expect(tick.seq).toBe(afterHello(sock).indexOf(tick) + 1)
    sock.close()
  })
})

describe("hot reload", () => {
  test("a file edit is applied live and announced to admins as config.changed", async () => {
    const { sock } = await connected(reload.url, { scopes: ["operator.admin"] })
    expect(await defaultModel(sock)).toBeUndefined()
    writeConfig(reload, { gateway: { port: 0 }, logging: { level: "debug" }, models: { default: "fake/model-a" } })
    await waitUntil(async () => (await defaultModel(sock)) === "fake/model-a", "models.default to reload", 2500)
    const models = (await sock.request("models.list", {})).payload as { models: { id: string }[] }
    expect(models.models.map((m) => m.id)).toEqual(["model-a"])
    const changed = await sock.waitFor((f) => f.event === "config.changed")
    expect((changed.payload as { changedPaths: string[] }).changedPaths).toEqual(["logging.level", "models.default"])
    expect(reload.stderr()).toContain("config reloaded: logging.level, models.default")
    sock.close()
  })

  test("a port edit is not applied but logs 'restart required'", async () => {
    const { sock } = await connected(reload.url)
    writeConfig(reload, { gateway: { port: 1 }, logging: { level: "debug" }, models: { default: "fake/model-a" } })
    await waitUntil(() => /restart required.*gateway\.port/.test(reload.stderr()), "the restart-required warning", 2500)
    // Still listening where it was.
    expect((await sock.request("health")).ok).toBe(true)
    expect((await fetch(`http://127.0.0.1:${reload.port}/healthz`)).status).toBe(200)
    sock.close()
  })

  test("an invalid edit is rejected and the running config kept; config.get shows it and config.patch repairs it", async () => {
    const { sock } = await connected(reload.url, { scopes: ["operator.admin"] })
    const rejections = () => reload.stderr().split("rejected, keeping the running config").length - 1
    writeFileSync(configFile(reload), JSON.stringify({ gateway: { port: 1 }, models: { default: "fake/model-b" }, logging: { level: "loud" } }))
    await waitUntil(() => rejections() === 1, "the rejection", 2500)
    expect(reload.stderr()).toContain("logging.level")
    expect(await defaultModel(sock)).toBe("fake/model-a")
    const models = (await sock.request("models.list", {})).payload as { models: { id: string }[] }
    expect(models.models.map((m) => m.id)).toEqual(["model-a"])

    // config.get describes the file on disk (so its hash is usable), and `config` what is running.
    const got = (await sock.request("config.get", {})).payload as Record<string, any>
    expect(got.valid).toBe(false)
    expect(got.issues.map((i: { path: string }) => i.path)).toEqual(["logging.level"])
    expect(got.parsed.logging.level).toBe("loud")
    expect(got.hash).toBe(new Bun.CryptoHasher("sha256").update(readFileSync(configFile(reload))).digest("hex"))
    expect(got.config.models.default).toBe("fake/model-a")

    // A patch applies to the file on disk: the edit's valid part (model-b) survives, the bad level is fixed.
    const fixed = await sock.request("config.patch", { raw: JSON.stringify({ logging: { level: "info" } }), baseHash: got.hash })
    expect(fixed.ok).toBe(true)
    expect((fixed.payload as { changedPaths: string[] }).changedPaths).toEqual(["logging.level", "models.default"])
    expect(await defaultModel(sock)).toBe("fake/model-b")
    expect(JSON.parse(readFileSync(configFile(reload), "utf8")).models.default).toBe("fake/model-b")

    // Text that is not JSON: nothing to redact it with, so no raw; a patch cannot apply, a full config.set can.
    writeFileSync(configFile(reload), `{ "models": { "default": "fake/model-c" `)
    await waitUntil(() => rejections() === 2, "the second rejection", 2500)
    const broken = (await sock.request("config.get", {})).payload as Record<string, any>
    expect(broken.valid).toBe(false)
    expect(broken.raw).toBeNull()
    const patch = await sock.request("config.patch", { raw: "{}", baseHash: broken.hash })
    expect(patch.error).toMatchObject({ code: "INVALID_REQUEST", details: { code: "INVALID_CONFIG" } })
    const set = await sock.request("config.set", { raw: JSON.stringify({ gateway: { port: 1 }, models: { default: "fake/model-c" } }), baseHash: broken.hash })
    expect(set.ok).toBe(true)
    expect(await defaultModel(sock)).toBe("fake/model-c")
    sock.close()
  })

  test("with reload.mode off the file is only read on SIGHUP", async () => {
    const { sock } = await connected(hup.url)
    writeConfig(hup, { gateway: { reload: { mode: "off" } }, models: { default: "fake/after-hup" } })
    await Bun.sleep(700)
    expect(((await sock.request("models.list", {})).payload as { models: unknown[] }).models).toEqual([])
    hup.proc.kill("SIGHUP")
    await waitUntil(async () => ((await sock.request("models.list", {})).payload as { models: unknown[] }).models.length === 1, "SIGHUP reload", 2500)
    const models = (await sock.request("models.list", {})).payload as { models: Record<string, any>[] }
    expect(models.models[0]).toMatchObject({ id: "after-hup", provider: "fake" })
    expect(hup.proc.exitCode).toBeNull()
    sock.close()
  })
})

describe("shutdown", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal}: clients get a shutdown event, then close 1012; exit 0`, async () => {
      const gw = await startBinary({ args: token })
      extra.push(gw)
      const a = await connected(gw.url)
      const b = await connected(gw.url, { scopes: ["operator.admin"] })
      await a.sock.waitFor((f) => f.event === "presence" && (f.payload as { presence: unknown[] }).presence.length === 3)
      const started = Date.now()
      gw.proc.kill(signal)
      for (const { sock } of [a, b]) {
        const close = await sock.closed(4000)
        expect(close.code).toBe(1012)
        const evs = afterHello(sock)
        const last = evs[evs.length - 1] as RawFrame
        // shutdown is the last event, sent before the close, in the same seq sequence.
        expect(last.event).toBe("shutdown")
        expect((last.payload as { reason: string }).reason).toContain(signal)
        expect(last.seq).toBe(evs.length)
        // No presence broadcast for connections closed by the shutdown itself.
        expect(evs.filter((f) => f.event === "presence").length).toBeLessThanOrEqual(2)
      }
      const code = await gw.proc.exited
      expect(code).toBe(0)
      expect(Date.now() - started).toBeLessThan(3000)
      await waitUntil(() => gw.stderr().includes("stopped"), "the 'stopped' log line", 2000)
    })
  }
})

describe("startup refusal", () => {
  test("--bind lan without a token refuses to start with exit 78 and says how to fix it", async () => {
    const r = await runBinary(["run", "--port", "0", "--bind", "lan"])
    expect(r.code).toBe(78)
    expect(r.stdout).not.toContain("ready")
    expect(r.stderr).toContain("--token")
    expect(r.stderr).toContain("0.0.0.0")
  })

  test("--bind lan with a weak token refuses to start with exit 78 and names `gateway token new`", async () => {
    const r = await runBinary(["run", "--port", "0", "--bind", "lan", "--token", "a"])
    expect(r.code).toBe(78)
    expect(r.stderr).toContain("1-character token")
    expect(r.stderr).toContain("gateway token new --write")
  })
})

describe("gateway token new", () => {
  test("prints a strong random token; --write stores it as gateway.auth.token (0600 file) and --json says so", async () => {
    const a = await runBinary(["token", "new"])
    const b = await runBinary(["token", "new"])
    expect(a.code).toBe(0)
    expect(a.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(a.stdout).not.toBe(b.stdout)

    const home = mkdtempSync(join(tmpdir(), "gw-token-"))
    const w = await runBinary(["token", "new", "--write", "--json"], { home })
    expect(w.code).toBe(0)
    const out = JSON.parse(w.stdout)
    expect(out).toMatchObject({ written: true, appliedBy: "file" })
    expect(out.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const file = join(home, "gateway.json")
    expect(JSON.parse(readFileSync(file, "utf8")).gateway.auth.token).toBe(out.token)
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })
})

describe("limits", () => {
  test("a frame over maxPayloadBytes after hello is closed with 1009", async () => {
    const { sock, hello } = await connected(small.url)
    expect(hello.policy.maxPayload).toBe(65_536)
    // Just under the limit is fine.
    const under = await sock.request("health", { pad: "y".repeat(60_000) })
    expect(under.ok).toBe(false) // strict params: the frame arrived and was validated
    expect((under.error as { message: string }).message).toContain("'pad'")
    sock.send({ type: "req", id: "big", method: "health", params: { pad: "x".repeat(70_000) } })
    const close = await sock.closed()
    expect(close.code).toBe(1009)
    expect(sock.frames.some((f) => f.id === "big")).toBe(false)
    // The gateway itself is fine.
    const again = await connected(small.url)
    expect((await again.sock.request("health")).ok).toBe(true)
    again.sock.close()
  })

  test("a restart-only maxPayloadBytes edit does not change the advertised limit", async () => {
    writeConfig(small, { gateway: { maxPayloadBytes: 1_048_576 } })
    await waitUntil(() => /restart required.*gateway\.maxPayloadBytes/.test(small.stderr()), "the restart-required warning", 2500)
    const { sock, hello } = await connected(small.url)
    // The listener still enforces the old limit, so that is the one clients must be told.
    expect(hello.policy.maxPayload).toBe(65_536)
    sock.send({ type: "req", id: "big", method: "health", params: { pad: "x".repeat(70_000) } })
    expect((await sock.closed()).code).toBe(1009)
  })

  test("a client that stops reading is closed with 1008 'slow consumer'", async () => {
    const bystander = await connected(slow.url)
    const ws = await TcpWebSocket.open(slow.port)
    await ws.waitForJson((f) => f.event === "connect.challenge")
    ws.sendText(JSON.stringify(connectFrame("c1", { scopes: ["operator.admin"] })))
    const hello = await ws.waitForJson((f) => f.id === "c1")
    expect(hello.ok).toBe(true)

    // Stop reading, then ask for ~8.5 KB replies until the kernel buffers fill and the gateway's own buffer passes
    // 4096 bytes. Bounded: at most 6000 small requests (~400 KB sent).
    ws.socket.pause()
    let sent = 0
    while (sent < 6000 && !slow.stderr().includes("closing slow consumer") && !ws.socket.destroyed) {
      for (let i = 0; i < 100; i++) ws.sendText(JSON.stringify({ type: "req", id: `s${sent++}`, method: "config.schema" }))
      await Bun.sleep(20)
    }
    expect(slow.stderr()).toContain("closing slow consumer")
    ws.socket.resume()
    const close = await ws.waitClose(5000)
    expect(close).toEqual({ code: 1008, reason: "slow consumer" })
    // It got fewer replies than it asked for: the rest were never queued.
    expect(ws.json().filter((f) => f.type === "res").length).toBeLessThan(sent)
    ws.destroy()

    // Other clients are unaffected.
    expect((await bystander.sock.request("health")).ok).toBe(true)
    bystander.sock.close()
  })
})
