/** OpenClaw's own CLI against our compiled gateway, where it is installed (see openclaw.ts; skipped, visibly, elsewhere). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { E2E_TOKEN, startBinary, type GatewayProcess } from "./harness.ts"
import { openclawAvailable, openclawState, runOpenclaw, warnIfOpenclawMissing } from "./openclaw.ts"
import { startFakeOpenAI, type FakeServer } from "../fakes/openai.ts"

warnIfOpenclawMissing("openclaw-cli.test.ts")

let gw: GatewayProcess
let fake: FakeServer
const state = openclawState()
const oc = (args: string[]) => runOpenclaw(args, { state })

describe.skipIf(!openclawAvailable)("OpenClaw 2026.9.6 CLI against our gateway", () => {
  beforeAll(async () => {
    fake = startFakeOpenAI(() => ({ text: ["Hello", " from", " fake", " model"] }))
    gw = await startBinary({
      args: ["--token", E2E_TOKEN],
      config: {
        models: {
          default: "fake/fake-model",
          providers: { fake: { baseUrl: fake.url, apiKey: "sk-fake-local", models: [{ id: "fake-model", name: "Fake Model" }] } },
        },
      },
    })
  })
  afterAll(async () => {
    await gw?.stop()
    await fake?.stop()
  })

  test("openclaw gateway health --json prints ok:true", async () => {
    const r = await oc(["gateway", "health", "--url", gw.url, "--token", E2E_TOKEN, "--json"])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out).ok).toBe(true)
  }, 60_000)

  for (const method of ["status", "system-presence", "config.get", "logs.tail", "models.list", "skills.status"]) {
    test(`openclaw gateway call ${method} exits 0 with our payload`, async () => {
      const r = await oc(["gateway", "call", method, "--url", gw.url, "--token", E2E_TOKEN, "--json"])
      expect(r.code).toBe(0)
      const payload = JSON.parse(r.out)
      if (method === "status") expect(payload.gateway.port).toBe(gw.port)
      if (method === "system-presence") expect(payload[0].mode).toBe("gateway")
      if (method === "config.get") expect(payload.path).toBe(join(gw.home, "gateway.json"))
      if (method === "logs.tail") expect(payload.lines.length).toBeGreaterThan(0)
      if (method === "models.list") expect(payload.models[0].id).toBe("fake-model")
      if (method === "skills.status")
        expect(payload.skills.find((s: { name: string }) => s.name === "web-search")).toMatchObject({ source: "openclaw-bundled" })
    }, 60_000)
  }

  test("openclaw gateway call agent --expect-final drives a turn and gets the fake model's text", async () => {
    const r = await oc([
      "gateway",
      "call",
      "agent",
      "--url",
      gw.url,
      "--token",
      E2E_TOKEN,
      "--params",
      JSON.stringify({ message: "hi", idempotencyKey: "k1" }),
      "--expect-final",
      "--json",
    ])
    expect(r.code).toBe(0)
    const payload = JSON.parse(r.out)
    expect(payload.status).toBe("ok")
    expect(payload.runId).toBe("k1")
    expect(payload.result.payloads[0].text).toBe("Hello from fake model")
    expect(fake.requests.at(-1).messages.at(-1).content).toContain("hi")
  }, 60_000)

  test("openclaw gateway call chat.send starts a run; chat.history then holds it", async () => {
    const r = await oc([
      "gateway",
      "call",
      "chat.send",
      "--url",
      gw.url,
      "--token",
      E2E_TOKEN,
      "--params",
      JSON.stringify({ sessionKey: "main", message: "hello again", idempotencyKey: "chat-k1" }),
      "--json",
    ])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toEqual({ runId: "chat-k1", status: "started" })
    await Bun.sleep(500)
    const h = await oc(["gateway", "call", "chat.history", "--url", gw.url, "--token", E2E_TOKEN, "--params", JSON.stringify({ sessionKey: "main" }), "--json"])
    expect(h.code).toBe(0)
    const roles = JSON.parse(h.out).messages.map((m: { role: string }) => m.role)
    expect(roles).toEqual(["user", "assistant"])
  }, 60_000)

  test("a wrong token fails the way OpenClaw's gateway fails it", async () => {
    const r = await oc(["gateway", "call", "status", "--url", gw.url, "--token", "wrong", "--json"])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.out).error.details.code).toBe("AUTH_TOKEN_MISMATCH")
  }, 60_000)
})
