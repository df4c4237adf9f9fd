/**
 * HTTP Bearer auth shares the WebSocket handshake's per-address failure limiter: wrong tokens on /tools/invoke or
 * /v1 lock the address out with 429 and Retry-After, and an address locked out on the WebSocket is locked out on HTTP.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { fakeModel } from "../../harness/fake-model.ts"
import { INPROC_TOKEN, startInProcess, type InProcessGateway } from "../../harness/inproc.ts"
import { TestClient } from "../../harness/ws-client.ts"

let gw: InProcessGateway

beforeAll(async () => {
  gw = await startInProcess({
    models: fakeModel(),
    // Loopback is exempt by default (a local CLI with a stale token must not lock itself out); these tests are the
    // attacker on the same machine, so the exemption is off.
    config: { gateway: { auth: { rateLimit: { maxAttempts: 5, windowMs: 60_000, lockoutMs: 60_000, exemptLoopback: false } } } },
  })
})

afterAll(() => gw?.stop())

const invokeFrom = (remoteAddress: string, token: string) =>
  gw.gateway.app.request(
    "/tools/invoke",
    { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ tool: "ls", args: {} }) },
    { remoteAddress },
  )

describe("HTTP Bearer rate limiting", () => {
  test("wrong tokens from one address get 401 until the limit, then 429 with Retry-After, even with the right token", async () => {
    const addr = "203.0.113.7"
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) statuses.push((await invokeFrom(addr, `wrong-${i}`)).status)
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429])
    const locked = await invokeFrom(addr, INPROC_TOKEN)
    expect(locked.status).toBe(429)
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0)
    expect(((await locked.json()) as { error: unknown }).error).toMatchObject({ code: "rate_limited" })
    // Another address is not affected.
    expect((await invokeFrom("203.0.113.8", INPROC_TOKEN)).status).toBe(200)
  })

  test("/v1 is limited the same way", async () => {
    const addr = "198.51.100.9"
    const post = (token: string) =>
      gw.gateway.app.request(
        "/v1/chat/completions",
        { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: "{}" },
        { remoteAddress: addr },
      )
    for (let i = 0; i < 5; i++) expect((await post("nope")).status).toBe(401)
    expect((await post("nope")).status).toBe(429)
  })

  test("an address locked out on the WebSocket is locked out on HTTP", async () => {
    for (let i = 0; i < 5; i++) {
      await expect(TestClient.connect(gw.url, { token: `bad-${i}` })).rejects.toThrow("AUTH_TOKEN_MISMATCH")
    }
    // The sockets came from 127.0.0.1; so does this request.
    expect((await invokeFrom("127.0.0.1", INPROC_TOKEN)).status).toBe(429)
  })
})
