/**
 * The handshake and request dispatch over a real socket on port 0, in process: hello-ok, refused connects, and the
 * request errors a client can cause (unknown method, bad params, missing scope, a bad frame), each answered with a
 * clear error while the socket stays usable.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { fakeModel } from "../../harness/fake-model.ts"
import { INPROC_TOKEN, startInProcess, type InProcessGateway } from "../../harness/inproc.ts"
import { TestClient, connectParams } from "../../harness/ws-client.ts"

let gw: InProcessGateway

beforeAll(async () => {
  gw = await startInProcess({ models: fakeModel() })
})

afterAll(async () => {
  await gw?.stop()
})

/** The socket still answers requests after an error reply (the reply did not cost the connection). */
async function expectStillUsable(c: TestClient): Promise<void> {
  expect(c.isOpen).toBe(true)
  const health = await c.request("health")
  expect(health.ok).toBe(true)
  expect(c.closeInfo).toBeUndefined()
}

describe("handshake", () => {
  test("connect answers hello-ok with the negotiated protocol, the method table and the granted scopes", async () => {
    const c = await gw.connect({ scopes: ["operator.read", "operator.write", "made.up"] })
    expect(c.hello).toMatchObject({ type: "hello-ok", auth: { method: "token", role: "operator", scopes: ["operator.read", "operator.write"] } })
    expect(c.hello.features.methods).toContain("chat.send")
    expect(c.hello.features.events).toContain("chat")
    expect(c.hello.snapshot.sessionDefaults).toMatchObject({ mainSessionKey: "agent:main:main", modelConfigured: true })
    // Not an admin: no paths on disk in the snapshot.
    expect(c.hello.snapshot.configPath).toBeUndefined()
    await expectStillUsable(c)
    c.close()
  })

  test("a wrong token is refused with a reason and the socket is closed (1008)", async () => {
    const c = await TestClient.open(gw.url)
    const res = await c.request("connect", connectParams({ token: "not-the-token-at-all" }))
    expect(res.ok).toBe(false)
    expect(res.error).toMatchObject({ code: "INVALID_REQUEST", details: { code: "AUTH_TOKEN_MISMATCH", authReason: "token_mismatch" } })
    expect((await c.closed()).code).toBe(1008)
  })

  test("a first request other than connect is refused and closes the socket", async () => {
    const c = await TestClient.open(gw.url)
    const res = await c.request("health")
    expect(res.error).toMatchObject({ code: "INVALID_REQUEST", message: "invalid handshake: first request must be connect" })
    expect((await c.closed()).code).toBe(1008)
  })

  test("connect twice on one socket is an error, not a second handshake", async () => {
    const c = await gw.connect()
    const res = await c.request("connect", connectParams({ token: INPROC_TOKEN }))
    expect(res.ok).toBe(false)
    expect(res.error?.message).toContain("already connected")
    await expectStillUsable(c)
    c.close()
  })
})

describe("dispatch after hello", () => {
  let c: TestClient
  let reader: TestClient

  beforeAll(async () => {
    c = await gw.connect()
    reader = await gw.connect({ scopes: ["operator.read"] })
  })

  afterAll(() => {
    c?.close()
    reader?.close()
  })

  test("an unknown method is named in the error", async () => {
    const res = await c.request("no.such.method", {})
    expect(res).toMatchObject({ type: "res", ok: false, error: { code: "INVALID_REQUEST", message: "unknown method: no.such.method" } })
    await expectStillUsable(c)
  })

  test("a huge unknown method name is not echoed back whole", async () => {
    const res = await c.request("x".repeat(750_000), {})
    expect(res.error?.message).toBe(`unknown method: ${"x".repeat(120)}… (750000 characters)`)
    await expectStillUsable(c)
  })

  test("a missing required param is named", async () => {
    const res = await c.request("chat.send", { sessionKey: "s", message: "hi" })
    expect(res.ok).toBe(false)
    expect(res.error?.code).toBe("INVALID_REQUEST")
    expect(res.error?.message).toContain("invalid chat.send params")
    expect(res.error?.message).toContain("idempotencyKey")
    await expectStillUsable(c)
  })

  test("a wrongly typed and an unexpected param are named", async () => {
    const typed = await c.request("chat.history", { sessionKey: "s", limit: "ten" })
    expect(typed.error?.message).toContain("limit")
    const extra = await c.request("chat.history", { sessionKey: "s", bogus: 1 })
    expect(extra.error?.message).toContain("unexpected property 'bogus'")
    await expectStillUsable(c)
  })

  test("a method above the caller's scopes is refused with the missing scope", async () => {
    const res = await reader.request("chat.send", { sessionKey: "s", message: "hi", idempotencyKey: "scope-1" })
    expect(res).toMatchObject({
      ok: false,
      error: { code: "FORBIDDEN", message: "missing scope: operator.write", details: { missingScope: "operator.write" } },
    })
    // Refused before the handler: no session was created by the attempt.
    const hist = await reader.request("chat.history", { sessionKey: "s" })
    expect(hist.payload).toMatchObject({ messages: [], totalMessages: 0 })
    await expectStillUsable(reader)
  })

  test("a malformed frame gets an error reply on its id; an unparseable one is ignored", async () => {
    c.send({ type: "req", id: "bad-1" })
    const res = await c.waitFor((f) => f.type === "res" && f.id === "bad-1")
    expect(res.error?.code).toBe("INVALID_REQUEST")
    expect(res.error?.message).toContain("invalid request frame")
    c.send("{not json")
    await expectStillUsable(c)
  })

  test("replies carry the request id and arrive for concurrent requests", async () => {
    const ids = [c.sendRequest("health"), c.sendRequest("no.such"), c.sendRequest("health")]
    const replies = await Promise.all(ids.map((id) => c.waitFor((f) => f.type === "res" && f.id === id)))
    expect(replies.map((r) => r.ok)).toEqual([true, false, true])
  })
})
