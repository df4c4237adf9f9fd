/**
 * The connect handshake of the compiled gateway, spoken in raw frames: challenge, hello-ok, protocol negotiation,
 * bad first frames, shared-secret auth (token and password), the handshake timeout, the pre-auth size limit and the
 * failed-auth rate limit.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { EVENTS, METHODS } from "../../src/protocol/index.ts"
import { E2E_TOKEN, RawSocket, connectFrame, connected, startBinary, type GatewayProcess, type RawFrame } from "./harness.ts"

let gw: GatewayProcess
let pw: GatewayProcess
let limited: GatewayProcess

beforeAll(async () => {
  ;[gw, pw, limited] = await Promise.all([
    startBinary({ args: ["--token", E2E_TOKEN], config: { gateway: { handshakeTimeoutMs: 500 } } }),
    startBinary({ args: ["--password", "pw123"] }),
    startBinary({
      args: ["--token", E2E_TOKEN],
      config: { gateway: { auth: { rateLimit: { maxAttempts: 3, windowMs: 60_000, lockoutMs: 60_000, exemptLoopback: false } } } },
    }),
  ])
})

afterAll(async () => {
  await Promise.all([gw?.stop(), pw?.stop(), limited?.stop()])
})

/** Opens a socket and waits for the challenge, so what follows is the client's first frame. */
async function opened(url: string): Promise<RawSocket> {
  const sock = await RawSocket.open(url)
  await sock.waitFor((f) => f.type === "event" && f.event === "connect.challenge")
  return sock
}

/** Sends one connect and returns its res and the close that follows a rejection. */
async function rejected(url: string, frame: unknown): Promise<{ res: RawFrame; close: { code: number; reason: string }; sock: RawSocket }> {
  const sock = await opened(url)
  sock.send(frame)
  const res = await sock.response((frame as { id: string }).id)
  const close = await sock.closed()
  return { res, close, sock }
}

describe("challenge and hello-ok", () => {
  test("connect.challenge arrives on open with {nonce, ts} and no seq", async () => {
    const before = Date.now()
    const sock = await RawSocket.open(gw.url)
    const ch = await sock.waitFor((f) => f.type === "event")
    expect(ch.event).toBe("connect.challenge")
    expect("seq" in ch).toBe(false)
    expect("stateVersion" in ch).toBe(false)
    const payload = ch.payload as { nonce: unknown; ts: unknown }
    expect(payload.nonce).toBeString()
    expect((payload.nonce as string).length).toBeGreaterThanOrEqual(16)
    expect(payload.ts).toBeNumber()
    expect(payload.ts as number).toBeGreaterThanOrEqual(before - 1000)
    expect(payload.ts as number).toBeLessThanOrEqual(Date.now() + 1000)
    // Each socket gets its own nonce.
    const other = await RawSocket.open(gw.url)
    const ch2 = await other.waitFor((f) => f.type === "event")
    expect((ch2.payload as { nonce: string }).nonce).not.toBe(payload.nonce)
    sock.close()
    other.close()
  })

  test("hello-ok for a read-only client: protocol 4, server, features, snapshot, auth, policy; no paths", async () => {
    const sock = await opened(gw.url)
    sock.send(connectFrame("c1"))
    const res = await sock.response("c1")
    expect(res.ok).toBe(true)
    const hello = res.payload as Record<string, any>
    expect(hello.type).toBe("hello-ok")
    expect(hello.protocol).toBe(4)
    expect(hello.server.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(hello.server.connId).toBeString()
    expect(hello.features.methods).toEqual(Object.keys(METHODS))
    expect(hello.features.events).toEqual(Object.keys(EVENTS))
    for (const e of ["connect.challenge", "tick", "health", "presence", "shutdown"]) expect(hello.features.events).toContain(e)

    const snap = hello.snapshot
    expect(snap.presence).toBeArray()
    expect(snap.presence.some((p: { mode?: string }) => p.mode === "gateway")).toBe(true)
    expect(snap.health.ok).toBe(true)
    expect(snap.health.defaultAgentId).toBe("main")
    expect(snap.stateVersion.presence).toBeNumber()
    expect(snap.stateVersion.health).toBeNumber()
    expect(snap.uptimeMs).toBeNumber()
    expect(snap.uptimeMs).toBeGreaterThanOrEqual(0)
    expect(snap.sessionDefaults).toMatchObject({ defaultAgentId: "main", mainKey: "main", mainSessionKey: "agent:main:main" })
    expect("configPath" in snap).toBe(false)
    expect("stateDir" in snap).toBe(false)

    expect(hello.auth).toMatchObject({ role: "operator", scopes: ["operator.read"] })
    expect(hello.policy).toEqual({ maxPayload: 25 * 1024 * 1024, maxBufferedBytes: 50 * 1024 * 1024, tickIntervalMs: 30_000 })
    // Still connected: the socket answers requests.
    expect((await sock.request("health")).ok).toBe(true)
    sock.close()
  })

  test("hello-ok for an admin client carries configPath and stateDir; connIds are per connection", async () => {
    const a = await connected(gw.url, { scopes: ["operator.admin"] })
    const b = await connected(gw.url)
    expect(a.hello.auth.scopes).toEqual(["operator.admin"])
    expect(a.hello.snapshot.configPath).toBe(`${gw.home}/gateway.json`)
    expect(a.hello.snapshot.stateDir).toBe(gw.home)
    expect(b.hello.snapshot.configPath).toBeUndefined()
    expect(a.hello.server.connId).not.toBe(b.hello.server.connId)
    a.sock.close()
    b.sock.close()
  })

  test("unknown scopes are dropped from the grant", async () => {
    const { sock, hello } = await connected(gw.url, { scopes: ["operator.read", "operator.bogus"] })
    expect(hello.auth.scopes).toEqual(["operator.read"])
    sock.close()
  })
})

describe("protocol negotiation", () => {
  test("3..3 is accepted with protocol 3", async () => {
    const { sock, hello } = await connected(gw.url, { minProtocol: 3, maxProtocol: 3 })
    expect(hello.protocol).toBe(3)
    sock.close()
  })

  test("3..4 negotiates 4, and so does 4..99", async () => {
    const a = await connected(gw.url, { minProtocol: 3, maxProtocol: 4 })
    expect(a.hello.protocol).toBe(4)
    const b = await connected(gw.url, { minProtocol: 4, maxProtocol: 99 })
    expect(b.hello.protocol).toBe(4)
    a.sock.close()
    b.sock.close()
  })

  test("99..99 is a protocol mismatch, then close 1002", async () => {
    const { res, close } = await rejected(gw.url, connectFrame("c1", { minProtocol: 99, maxProtocol: 99 }))
    expect(res.ok).toBe(false)
    const error = res.error as Record<string, any>
    expect(error.code).toBe("INVALID_REQUEST")
    expect(error.message).toBe("protocol mismatch")
    expect(error.details).toMatchObject({ code: "PROTOCOL_MISMATCH", clientMinProtocol: 99, clientMaxProtocol: 99, expectedProtocol: 4 })
    expect(close.code).toBe(1002)
  })
})

describe("bad first frames", () => {
  test("a req other than connect: INVALID_REQUEST with the request's id, then close 1008", async () => {
    const { res, close, sock } = await rejected(gw.url, { type: "req", id: "h1", method: "health" })
    expect(res.id).toBe("h1")
    expect(res.ok).toBe(false)
    expect(res.error).toMatchObject({ code: "INVALID_REQUEST", message: "invalid handshake: first request must be connect" })
    expect(close.code).toBe(1008)
    expect(close.reason).toBe("invalid handshake: first request must be connect")
    // No health payload leaked before the close.
    expect(sock.frames.filter((f) => f.type === "res")).toHaveLength(1)
  })

  test("JSON that is not a req: no response, close 1008", async () => {
    const sock = await opened(gw.url)
    sock.send({ hello: "world" })
    const close = await sock.closed()
    expect(close.code).toBe(1008)
    expect(sock.frames.map((f) => f.event ?? f.type)).toEqual(["connect.challenge"])
  })

  test("a non-JSON first frame: no response, close 1000", async () => {
    const sock = await opened(gw.url)
    sock.send("this is not json {")
    const close = await sock.closed()
    expect(close.code).toBe(1000)
    expect(sock.frames.map((f) => f.event ?? f.type)).toEqual(["connect.challenge"])
  })

  test("connect without client: 'invalid connect params' naming 'client', close 1008", async () => {
    const frame = connectFrame("c1")
    delete (frame.params as Record<string, unknown>).client
    const { res, close } = await rejected(gw.url, frame)
    const error = res.error as { code: string; message: string }
    expect(error.code).toBe("INVALID_REQUEST")
    expect(error.message.startsWith("invalid connect params")).toBe(true)
    expect(error.message).toContain("'client'")
    expect(close.code).toBe(1008)
  })

  test("a frame over 64 KiB before connect is closed with 1009, one under it is accepted", async () => {
    const sock = await opened(gw.url)
    sock.send(connectFrame("big", { userAgent: "x".repeat(70 * 1024) }))
    const close = await sock.closed()
    expect(close.code).toBe(1009)
    expect(sock.frames.filter((f) => f.type === "res")).toHaveLength(0)

    const ok = await opened(gw.url)
    ok.send(connectFrame("fits", { userAgent: "x".repeat(60 * 1024) }))
    expect((await ok.response("fits")).ok).toBe(true)
    ok.close()
  })

  test("a silent socket is closed with 1000 after handshakeTimeoutMs (500 ms)", async () => {
    const started = Date.now()
    const sock = await RawSocket.open(gw.url)
    const close = await sock.closed(3000)
    const elapsed = Date.now() - started
    expect(close.code).toBe(1000)
    expect(elapsed).toBeGreaterThanOrEqual(400)
    expect(elapsed).toBeLessThan(1500)
    expect(sock.frames.map((f) => f.event ?? f.type)).toEqual(["connect.challenge"])
  })

  test("a client that connects in time is not closed by the handshake timer", async () => {
    const { sock } = await connected(gw.url)
    await Bun.sleep(700)
    expect(sock.closeEvent).toBeUndefined()
    expect((await sock.request("health")).ok).toBe(true)
    sock.close()
  })
})

describe("shared-secret auth", () => {
  test("wrong token: AUTH_TOKEN_MISMATCH, close 1008", async () => {
    const { res, close } = await rejected(gw.url, connectFrame("c1", { auth: { token: "wrong-token" } }))
    const error = res.error as Record<string, any>
    expect(error.code).toBe("INVALID_REQUEST")
    expect(error.details.code).toBe("AUTH_TOKEN_MISMATCH")
    expect(error.message).not.toContain(E2E_TOKEN)
    expect(close.code).toBe(1008)
  })

  test("missing token: AUTH_TOKEN_MISSING, close 1008", async () => {
    const frame = connectFrame("c1")
    delete (frame.params as Record<string, unknown>).auth
    const { res, close } = await rejected(gw.url, frame)
    expect((res.error as Record<string, any>).details.code).toBe("AUTH_TOKEN_MISSING")
    expect(close.code).toBe(1008)
  })

  test("password mode: wrong password is AUTH_PASSWORD_MISMATCH, the right one connects", async () => {
    const bad = await rejected(pw.url, connectFrame("c1", { auth: { password: "nope" } }))
    expect((bad.res.error as Record<string, any>).details.code).toBe("AUTH_PASSWORD_MISMATCH")
    expect(bad.close.code).toBe(1008)

    // The token of the token-mode gateway means nothing here.
    const tok = await rejected(pw.url, connectFrame("c2"))
    expect((tok.res.error as Record<string, any>).details.code).toBe("AUTH_PASSWORD_MISMATCH")

    const { sock, hello } = await connected(pw.url, { auth: { password: "pw123" } })
    expect(hello.auth.role).toBe("operator")
    expect(hello.auth.method).toBe("password")
    expect((await sock.request("health")).ok).toBe(true)
    sock.close()
  })

  test("rate limit: after 3 failures even the right token gets AUTH_RATE_LIMITED with retryAfterMs", async () => {
    for (let i = 0; i < 3; i++) {
      const { res, close } = await rejected(limited.url, connectFrame(`bad${i}`, { auth: { token: `wrong-${i}` } }))
      expect((res.error as Record<string, any>).details.code).toBe("AUTH_TOKEN_MISMATCH")
      expect(close.code).toBe(1008)
    }
    const { res, close } = await rejected(limited.url, connectFrame("good"))
    const error = res.error as Record<string, any>
    expect(error.code).toBe("INVALID_REQUEST")
    expect(error.details.code).toBe("AUTH_RATE_LIMITED")
    expect(error.details.retryAfterMs).toBeGreaterThan(50_000)
    expect(error.details.retryAfterMs).toBeLessThanOrEqual(60_000)
    expect(error.retryAfterMs).toBe(error.details.retryAfterMs)
    expect(close.code).toBe(1008)
    // The lockout is per auth, not per listener: HTTP probes still answer.
    expect((await fetch(`http://127.0.0.1:${limited.port}/healthz`)).status).toBe(200)
  })
})
