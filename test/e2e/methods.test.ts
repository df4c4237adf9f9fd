/**
 * After hello: request errors that keep the socket open, scope checks, every RPC method of this build, and the
 * HTTP probes on the same port. Raw frames against the compiled binary.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { E2E_TOKEN, connected, startBinary, waitUntil, type GatewayProcess, type RawSocket } from "./harness.ts"

const SECRET = "sk-e2e-very-secret-123"
const HEADER_SECRET = "hdr-e2e-secret-456"
const URL_PASSWORD = "url-e2e-pass-789"
const REDACTED = "__OPENCLAW_REDACTED__"

let gw: GatewayProcess
/** A gateway whose config file the config.* tests rewrite; it starts with a provider holding an API key. */
let cfgGw: GatewayProcess
let reader: RawSocket
let admin: RawSocket

beforeAll(async () => {
  ;[gw, cfgGw] = await Promise.all([
    startBinary({ args: ["--token", E2E_TOKEN] }),
    startBinary({
      args: ["--token", E2E_TOKEN],
      config: {
        models: {
          default: "fake/fake-model",
          providers: {
            fake: { baseUrl: "http://127.0.0.1:9/v1", apiKey: SECRET, models: [{ id: "fake-model", name: "Fake", contextWindow: 32000 }] },
            corp: { baseUrl: `http://svc:${URL_PASSWORD}@127.0.0.1:9/v1`, headers: { Authorization: `Bearer ${HEADER_SECRET}` } },
          },
        },
      },
    }),
  ])
  reader = (await connected(gw.url)).sock
  admin = (await connected(cfgGw.url, { scopes: ["operator.admin"] })).sock
})

afterAll(async () => {
  reader?.close()
  admin?.close()
  await Promise.all([gw?.stop(), cfgGw?.stop()])
})

/** The socket is still open and answering. */
async function expectUsable(sock: RawSocket): Promise<void> {
  const res = await sock.request("health")
  expect(res.ok).toBe(true)
  expect(sock.closeEvent).toBeUndefined()
}

describe("errors after hello keep the socket open", () => {
  test("bad params name the field", async () => {
    const a = await reader.request("config.get", { x: 1 })
    expect(a.ok).toBe(false)
    expect(a.error).toMatchObject({ code: "INVALID_REQUEST" })
    expect((a.error as { message: string }).message).toStartWith("invalid config.get params")
    expect((a.error as { message: string }).message).toContain("'x'")

    const b = await reader.request("logs.tail", { limit: "a" })
    expect(b.error).toMatchObject({ code: "INVALID_REQUEST" })
    expect((b.error as { message: string }).message).toStartWith("invalid logs.tail params")
    expect((b.error as { message: string }).message).toContain("limit")
    await expectUsable(reader)
  })

  test("unknown method: INVALID_REQUEST 'unknown method: X'", async () => {
    const { sock } = await connected(gw.url, { scopes: ["operator.admin"] })
    const res = await sock.request("no.such.method", {})
    expect(res.error).toMatchObject({ code: "INVALID_REQUEST", message: "unknown method: no.such.method" })
    await expectUsable(sock)
    sock.close()
  })

  test("missing scope: FORBIDDEN with MISSING_SCOPE details", async () => {
    for (const [method, params] of [
      ["config.schema", {}],
      ["config.set", { raw: "{}" }],
      ["config.patch", { raw: "{}", baseHash: "x" }],
    ] as const) {
      const res = await reader.request(method, params)
      expect(res.ok).toBe(false)
      expect(res.error).toMatchObject({
        code: "FORBIDDEN",
        message: "missing scope: operator.admin",
        details: { code: "MISSING_SCOPE", missingScope: "operator.admin", requiredScopes: ["operator.admin"] },
      })
    }
    // A client with no scopes cannot even read.
    const { sock } = await connected(gw.url, { scopes: [] })
    const res = await sock.request("status", {})
    expect(res.error).toMatchObject({ code: "FORBIDDEN", details: { code: "MISSING_SCOPE", missingScope: "operator.read" } })
    sock.close()
    await expectUsable(reader)
  })

  test("a req without id gets a res with id 'invalid'", async () => {
    reader.send({ type: "req", method: "health" })
    const res = await reader.response("invalid")
    expect(res.ok).toBe(false)
    expect(res.error).toMatchObject({ code: "INVALID_REQUEST" })
    expect((res.error as { message: string }).message).toContain("'id'")
    await expectUsable(reader)
  })

  test("a non-JSON frame is ignored and the socket stays usable", async () => {
    const before = reader.frames.length
    reader.send("}}} not json")
    await expectUsable(reader)
    // Exactly one new frame: the health res (no error reply for the garbage).
    const fresh = reader.frames.slice(before).filter((f) => f.type === "res")
    expect(fresh).toHaveLength(1)
    expect(fresh[0]!.ok).toBe(true)
  })

  test("a second connect is an error and the socket stays open", async () => {
    reader.send({ type: "req", id: "again", method: "connect", params: {} })
    const res = await reader.response("again")
    expect(res.ok).toBe(false)
    expect((res.error as { code: string }).code).toMatch(/^(INVALID_REQUEST|FORBIDDEN)$/)
    await expectUsable(reader)
  })

  test("health needs no scope", async () => {
    const { sock, hello } = await connected(gw.url, { scopes: [] })
    expect(hello.auth.scopes).toEqual([])
    const res = await sock.request("health")
    expect(res.ok).toBe(true)
    expect(res.payload).toMatchObject({ ok: true, defaultAgentId: "main" })
    sock.close()
  })
})

describe("methods", () => {
  test("status", async () => {
    const res = await reader.request("status", {})
    expect(res.ok).toBe(true)
    const p = res.payload as Record<string, any>
    expect(p.pid).toBe(gw.proc.pid)
    expect(p.gateway).toMatchObject({ port: gw.port, host: "127.0.0.1", authMode: "token" })
    expect(p.connections).toBeGreaterThanOrEqual(1)
    expect(p.store.sqliteVersion).toMatch(/^3\./)
    // Paths are for admins only.
    expect(p.configPath).toBeUndefined()
    const { sock } = await connected(gw.url, { scopes: ["operator.admin"] })
    const adminStatus = (await sock.request("status", {})).payload as Record<string, any>
    expect(adminStatus.configPath).toBe(join(gw.home, "gateway.json"))
    sock.close()
  })

  test("system-presence is an array with the gateway itself", async () => {
    const res = await reader.request("system-presence", {})
    expect(res.ok).toBe(true)
    expect(res.payload).toBeArray()
    const list = res.payload as Record<string, any>[]
    const self = list.find((e) => e.mode === "gateway")
    expect(self).toBeDefined()
    expect(self!.reason).toBe("self")
    expect(self!.ts).toBeNumber()
    // The reader itself is listed too (a non-probe client).
    expect(list.some((e) => e.mode === "cli")).toBe(true)
  })

  test("logs.tail returns JSON lines, and its cursor returns only newer lines", async () => {
    const first = await reader.request("logs.tail", {})
    expect(first.ok).toBe(true)
    const p = first.payload as { file: string; cursor: number; size: number; lines: string[]; truncated: boolean; reset: boolean }
    expect(p.file).toBe(join(gw.home, "logs", "gateway.jsonl"))
    expect(p.lines.length).toBeGreaterThan(0)
    for (const line of p.lines) expect(JSON.parse(line).time).toBeString()
    expect(p.lines.some((l) => JSON.parse(l).message.startsWith("listening on"))).toBe(true)
    expect(p.cursor).toBe(p.size)

    // A failed connect writes one warning line.
    const bad = await connected(gw.url, { auth: { token: "wrong-token" } }).catch((e: Error) => e)
    expect(bad).toBeInstanceOf(Error)
    const next = await waitUntil(async () => {
      const r = (await reader.request("logs.tail", { cursor: p.cursor })).payload as typeof p
      return r.lines.length > 0 ? r : undefined
    }, "a new log line")
    const fresh = next
    expect(fresh.reset).toBe(false)
    expect(fresh.cursor).toBeGreaterThan(p.cursor)
    const messages = fresh.lines.map((l) => JSON.parse(l).message as string)
    expect(messages.some((m) => m.startsWith("connect rejected"))).toBe(true)
    for (const old of p.lines) expect(fresh.lines).not.toContain(old)

    // Nothing happened since: the same cursor returns nothing.
    const empty = (await reader.request("logs.tail", { cursor: fresh.cursor })).payload as typeof p
    expect(empty.lines).toEqual([])
    expect(empty.cursor).toBe(fresh.cursor)

    const limited = (await reader.request("logs.tail", { limit: 1 })).payload as typeof p
    expect(limited.lines).toHaveLength(1)
  })

  test("models.list is empty without models and lists a configured provider model", async () => {
    const none = await reader.request("models.list", {})
    expect(none.payload).toEqual({ models: [] })

    const res = await admin.request("models.list", {})
    const models = (res.payload as { models: Record<string, any>[] }).models
    expect(models).toHaveLength(1)
    expect(models[0]).toMatchObject({ id: "fake-model", name: "Fake", provider: "fake", contextWindow: 32000, tags: ["default"] })
  })

  test("config.get: hash and redacted secrets (token and apiKey)", async () => {
    const res = await admin.request("config.get", {})
    expect(res.ok).toBe(true)
    const p = res.payload as Record<string, any>
    const onDisk = readFileSync(join(cfgGw.home, "gateway.json"), "utf8")
    expect(p.path).toBe(join(cfgGw.home, "gateway.json"))
    expect(p.exists).toBe(true)
    expect(p.valid).toBe(true)
    expect(p.hash).toBe(new Bun.CryptoHasher("sha256").update(onDisk).digest("hex"))
    expect(p.config.gateway.auth.token).toBe(REDACTED)
    expect(p.config.models.providers.fake.apiKey).toBe(REDACTED)
    expect(p.parsed.models.providers.fake.apiKey).toBe(REDACTED)
    expect(p.raw).toContain(REDACTED)
    // The secrets appear nowhere in the reply.
    const text = JSON.stringify(res)
    expect(text).not.toContain(SECRET)
    expect(text).not.toContain(E2E_TOKEN)
  })

  test("config.get to a read-only client: header values and URL credentials are redacted too", async () => {
    const { sock } = await connected(cfgGw.url, { scopes: ["operator.read"] })
    const res = await sock.request("config.get", {})
    expect(res.ok).toBe(true)
    const p = res.payload as Record<string, any>
    expect(p.config.models.providers.corp.headers.Authorization).toBe(REDACTED)
    expect(p.config.models.providers.corp.baseUrl).toBe(`http://${REDACTED}@127.0.0.1:9/v1`)
    const text = JSON.stringify(res)
    for (const secret of [SECRET, HEADER_SECRET, URL_PASSWORD, E2E_TOKEN]) expect(text).not.toContain(secret)
    sock.close()
  })

  test("config.schema returns a JSON schema with properties.gateway", async () => {
    const res = await admin.request("config.schema", {})
    expect(res.ok).toBe(true)
    const p = res.payload as Record<string, any>
    expect(p.schema.type).toBe("object")
    expect(p.schema.properties.gateway.type).toBe("object")
    expect(p.schema.properties.gateway.properties.port).toBeDefined()
    expect(p.uiHints["gateway.auth.token"].sensitive).toBe(true)
    expect(p.version).toMatch(/^\d+\.\d+\.\d+/)
  })

  test("config.patch applies with the right baseHash and returns changedPaths; a wrong baseHash is rejected", async () => {
    const file = join(cfgGw.home, "gateway.json")
    const { hash } = (await admin.request("config.get", {})).payload as { hash: string }

    const stale = await admin.request("config.patch", { raw: JSON.stringify({ logging: { level: "debug" } }), baseHash: "0".repeat(64) })
    expect(stale.ok).toBe(false)
    expect(stale.error).toMatchObject({ code: "INVALID_REQUEST", details: { code: "CONFIG_BASE_HASH_MISMATCH" } })
    const missing = await admin.request("config.patch", { raw: JSON.stringify({ logging: { level: "debug" } }) })
    expect(missing.ok).toBe(false)
    expect(JSON.parse(readFileSync(file, "utf8")).logging).toBeUndefined()

    const patch = { logging: { level: "debug" }, models: { providers: { fake: { models: [{ id: "fake-model" }, { id: "fake-two" }] } } } }
    const res = await admin.request("config.patch", { raw: JSON.stringify(patch), baseHash: hash })
    expect(res.ok).toBe(true)
    const p = res.payload as Record<string, any>
    expect(p.ok).toBe(true)
    expect(p.changedPaths).toEqual(["logging.level", "models.providers.fake.models"])
    expect(p.restartRequired).toBe(false)
    expect(p.hash).not.toBe(hash)
    expect(p.config.models.providers.fake.apiKey).toBe(REDACTED)

    const written = JSON.parse(readFileSync(file, "utf8"))
    expect(written.logging.level).toBe("debug")
    // The merge patch kept the untouched secret.
    expect(written.models.providers.fake.apiKey).toBe(SECRET)
    const ids = ((await admin.request("models.list", {})).payload as { models: { id: string }[] }).models.map((m) => m.id)
    expect(ids).toEqual(["fake-model", "fake-two"])
    // The old hash is stale now.
    const again = await admin.request("config.patch", { raw: "{}", baseHash: hash })
    expect(again.error).toMatchObject({ details: { code: "CONFIG_BASE_HASH_MISMATCH" } })
  })

  test("config.set with invalid content is rejected with the key path and leaves the file alone", async () => {
    const file = join(cfgGw.home, "gateway.json")
    const before = readFileSync(file, "utf8")
    const got = (await admin.request("config.get", {})).payload as { hash: string; raw: string }

    const unknown = await admin.request("config.set", { raw: JSON.stringify({ gateway: { bogusKey: 1 } }), baseHash: got.hash })
    expect(unknown.ok).toBe(false)
    expect(unknown.error).toMatchObject({ code: "INVALID_REQUEST", details: { code: "INVALID_CONFIG" } })
    expect((unknown.error as { message: string }).message).toContain("gateway.bogusKey")

    const badValue = await admin.request("config.set", { raw: JSON.stringify({ logging: { level: "loud" } }), baseHash: got.hash })
    expect(badValue.ok).toBe(false)
    expect((badValue.error as { message: string }).message).toContain("logging.level")

    const notJson = await admin.request("config.set", { raw: "{ nope", baseHash: got.hash })
    expect(notJson.ok).toBe(false)
    expect((notJson.error as { message: string }).message).toContain("not valid JSON")

    expect(readFileSync(file, "utf8")).toBe(before)

    // The redacted raw from config.get can be sent back: the stored secret survives.
    const edited = JSON.parse(got.raw)
    edited.logging.level = "warn"
    const ok = await admin.request("config.set", { raw: JSON.stringify(edited), baseHash: got.hash })
    expect(ok.ok).toBe(true)
    expect((ok.payload as { changedPaths: string[] }).changedPaths).toEqual(["logging.level"])
    const written = JSON.parse(readFileSync(file, "utf8"))
    expect(written.logging.level).toBe("warn")
    expect(written.models.providers.fake.apiKey).toBe(SECRET)
  })
})

describe("HTTP on the same port", () => {
  test("/healthz is live, /readyz ready, an unknown path is a JSON 404", async () => {
    const base = `http://127.0.0.1:${gw.port}`
    const live = await fetch(`${base}/healthz`)
    expect(live.status).toBe(200)
    expect(await live.json()).toEqual({ ok: true, status: "live" })
    const ready = await fetch(`${base}/readyz`)
    expect(ready.status).toBe(200)
    expect(((await ready.json()) as { ok: boolean }).ok).toBe(true)
    const missing = await fetch(`${base}/no/such/path`)
    expect(missing.status).toBe(404)
    expect(missing.headers.get("content-type")).toContain("application/json")
    expect(((await missing.json()) as { ok: boolean; error: { code: string } }).error.code).toBe("NOT_FOUND")
  })
})
