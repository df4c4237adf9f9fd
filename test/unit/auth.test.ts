import { describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { isLoopbackAddress, resolveAuth, resolveBind, StartupRefusal } from "../../src/config/auth.ts"
import { resolvePaths } from "../../src/config/paths.ts"
import { ConfigSchema } from "../../src/config/schema.ts"
import { AuthRateLimiter } from "../../src/server/auth-rate-limit.ts"
import { checkAuth, negotiateProtocol, runHandshake, secretEquals } from "../../src/server/handshake.ts"

const paths = () => resolvePaths(mkdtempSync(join(tmpdir(), "gw-auth-")), {})
const cfg = (auth: object = {}, bind = "loopback") => ConfigSchema.parse({ gateway: { bind, auth } })

describe("bind and auth resolution", () => {
  test("bind names", () => {
    expect(resolveBind("loopback")).toEqual({ host: "127.0.0.1", loopback: true })
    expect(resolveBind("lan")).toEqual({ host: "0.0.0.0", loopback: false })
    expect(resolveBind("::1").loopback).toBe(true)
    expect(resolveBind("192.168.1.5").loopback).toBe(false)
    expect(() => resolveBind("my-host")).toThrow(StartupRefusal)
  })
  test("loopback addresses", () => {
    expect(isLoopbackAddress("127.0.0.5")).toBe(true)
    expect(isLoopbackAddress("::ffff:127.0.0.1")).toBe(true)
    expect(isLoopbackAddress("10.0.0.1")).toBe(false)
  })
  test("loopback without a secret generates a 0600 token once", () => {
    const p = paths()
    const a = resolveAuth(cfg(), p, resolveBind("loopback"))
    expect(a.generated).toBe(true)
    expect(a.token!.length).toBeGreaterThanOrEqual(32)
    expect(statSync(p.tokenFile).mode & 0o777).toBe(0o600)
    expect(resolveAuth(cfg(), p, resolveBind("loopback")).token).toBe(a.token)
    expect(readFileSync(p.tokenFile, "utf8").trim()).toBe(a.token!)
  })
  test("non-loopback without a secret refuses, naming the fix", () => {
    expect(() => resolveAuth(cfg({}, "lan"), paths(), resolveBind("lan"))).toThrow(/--token/)
    expect(() => resolveAuth(cfg({ mode: "none" }, "lan"), paths(), resolveBind("lan"))).toThrow(StartupRefusal)
  })
  test("off loopback, a token under 16 or a password under 12 characters refuses to start, naming `gateway token new`", () => {
    expect(() => resolveAuth(cfg({ token: "abcdefghij" }, "lan"), paths(), resolveBind("lan"))).toThrow(/10-character token.*gateway token new/)
    expect(() => resolveAuth(cfg({ token: "abcdefgh1234567" }, "lan"), paths(), resolveBind("lan"))).toThrow(/at least 16/)
    expect(() => resolveAuth(cfg({ mode: "password", password: "short-pw" }, "lan"), paths(), resolveBind("lan"))).toThrow(/at least 12/)
    expect(resolveAuth(cfg({ mode: "password", password: "long-enough-pw" }, "lan"), paths(), resolveBind("lan")).mode).toBe("password")
    // Loopback keeps accepting short secrets (the generated token file is the default there anyway).
    expect(resolveAuth(cfg({ token: "abcdefghij" }), paths(), resolveBind("loopback")).token).toBe("abcdefghij")
  })
  test("configured secrets win", () => {
    expect(resolveAuth(cfg({ token: "abcdefgh12345678" }, "lan"), paths(), resolveBind("lan"))).toEqual({
      mode: "token",
      token: "abcdefgh12345678",
      generated: false,
    })
    expect(resolveAuth(cfg({ password: "pw" }), paths(), resolveBind("loopback")).mode).toBe("password")
    expect(resolveAuth(cfg({ mode: "none" }), paths(), resolveBind("loopback")).mode).toBe("none")
    expect(() => resolveAuth(cfg({ mode: "password" }), paths(), resolveBind("loopback"))).toThrow(/no password/)
  })
})

describe("handshake pieces", () => {
  test("protocol negotiation picks the highest common version in 3..4", () => {
    expect(negotiateProtocol(4, 4)).toBe(4)
    expect(negotiateProtocol(3, 4)).toBe(4)
    expect(negotiateProtocol(3, 3)).toBe(3)
    expect(negotiateProtocol(1, 9)).toBe(4)
    expect(negotiateProtocol(5, 9)).toBeUndefined()
    expect(negotiateProtocol(1, 2)).toBeUndefined()
  })
  test("secretEquals", () => {
    expect(secretEquals("abc", "abc")).toBe(true)
    expect(secretEquals("abc", "abcd")).toBe(false)
    expect(secretEquals("", "x")).toBe(false)
  })
  test("checkAuth codes", () => {
    const tok = { mode: "token" as const, token: "right-token", generated: false }
    expect(checkAuth(tok, { token: "right-token" })).toBeUndefined()
    expect(checkAuth(tok, { token: "wrong" })?.details?.code).toBe("AUTH_TOKEN_MISMATCH")
    expect(checkAuth(tok, undefined)?.details?.code).toBe("AUTH_TOKEN_MISSING")
    const pw = { mode: "password" as const, password: "pw", generated: false }
    expect(checkAuth(pw, { password: "pw" })).toBeUndefined()
    expect(checkAuth(pw, { password: "nope" })?.details?.code).toBe("AUTH_PASSWORD_MISMATCH")
    expect(checkAuth({ mode: "none", generated: false }, undefined)).toBeUndefined()
  })
  test("rate limiting locks an address out after repeated failures", () => {
    let now = 1_000_000
    const limiter = new AuthRateLimiter(
      () => ({ maxAttempts: 2, windowMs: 60_000, lockoutMs: 30_000, exemptLoopback: true }),
      () => now,
    )
    const auth = { mode: "token" as const, token: "right-token", generated: false }
    const params = (token: string) => ({
      minProtocol: 4,
      maxProtocol: 4,
      client: { id: "cli", version: "1", platform: "linux", mode: "cli" },
      auth: { token },
      scopes: ["operator.read", "bogus"],
    })
    const ctx = { auth, remoteAddress: "10.1.2.3", limiter }
    expect(runHandshake(params("bad"), ctx).ok).toBe(false)
    expect(runHandshake(params("bad"), ctx).ok).toBe(false)
    const locked = runHandshake(params("right-token"), ctx)
    expect(locked.ok).toBe(false)
    if (!locked.ok) expect(locked.error.details?.code).toBe("AUTH_RATE_LIMITED")
    now += 31_000
    const ok = runHandshake(params("right-token"), ctx)
    expect(ok.ok).toBe(true)
    if (ok.ok) expect(ok.scopes).toEqual(["operator.read"])
    // Loopback is exempt by default.
    const local = { auth, remoteAddress: "127.0.0.1", limiter }
    for (let i = 0; i < 5; i++) runHandshake(params("bad"), local)
    expect(runHandshake(params("right-token"), local).ok).toBe(true)
  })
  test("nodes get no operator scopes; unknown roles are refused", () => {
    const limiter = new AuthRateLimiter(() => ({ maxAttempts: 10, windowMs: 1000, lockoutMs: 1000, exemptLoopback: true }))
    const ctx = { auth: { mode: "none" as const, generated: false }, remoteAddress: "127.0.0.1", limiter }
    const base = { minProtocol: 3, maxProtocol: 3, client: { id: "node-host", version: "1", platform: "linux", mode: "node" }, scopes: ["operator.admin"] }
    const node = runHandshake({ ...base, role: "node" }, ctx)
    expect(node.ok && node.scopes).toEqual([])
    expect(node.ok && node.protocol).toBe(3)
    const bad = runHandshake({ ...base, role: "root" }, ctx)
    expect(!bad.ok && bad.error.message).toBe("unauthorized role: root")
  })
})
