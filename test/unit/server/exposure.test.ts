/** Exposure beyond loopback: the self-signed certificate, the browser Origin allowlist and trusted-proxy identity. */
import { describe, expect, test } from "bun:test"
import { generateKeyPairSync, X509Certificate } from "node:crypto"
import { mkdtempSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { planAuth } from "../../../src/config/auth.ts"
import { ConfigSchema } from "../../../src/config/schema.ts"
import { checkUpgrade, isTrustedProxy, originAllowed, proxyIdentity } from "../../../src/server/exposure.ts"
import { certFingerprint, ensureSelfSigned, loadTls, selfSignedCertificate } from "../../../src/server/tls-cert.ts"

const gatewayOf = (gateway: unknown) => ConfigSchema.parse({ gateway }).gateway

describe("self-signed certificate", () => {
  test("covers loopback and the given names, is reused across starts, its key is 0600, its fingerprint is the DER's SHA-256", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "gw-tls-")), "tls")
    const first = ensureSelfSigned(dir, ["localhost", "127.0.0.1", "::1", "gw.example", "192.0.2.7"])
    const x509 = new X509Certificate(first.cert)
    expect(x509.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:gw.example, IP Address:192.0.2.7")
    expect(x509.fingerprint256).toBe(first.fingerprint)
    expect(x509.verify(x509.publicKey)).toBe(true)
    expect(Date.parse(x509.validTo) - Date.now()).toBeGreaterThan(700 * 86_400_000)
    expect(statSync(join(dir, "gateway.key")).mode & 0o777).toBe(0o600)
    // A pinned fingerprint survives a restart.
    expect(ensureSelfSigned(dir).fingerprint).toBe(first.fingerprint)
  })

  test("a certificate near expiry is renewed; dates past 2049 are encoded as GeneralizedTime", () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-tls-"))
    const key = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string
    writeFileSync(join(dir, "gateway.key"), key)
    writeFileSync(join(dir, "gateway.crt"), selfSignedCertificate(key, ["localhost"], 10))
    const old = certFingerprint(selfSignedCertificate(key, ["localhost"], 10))
    const renewed = ensureSelfSigned(dir, ["localhost"])
    expect(renewed.fingerprint).not.toBe(old)
    expect(Date.parse(new X509Certificate(renewed.cert).validTo) - Date.now()).toBeGreaterThan(30 * 86_400_000)
    const far = new X509Certificate(selfSignedCertificate(key, ["localhost"], 365 * 40))
    expect(new Date(far.validTo).getUTCFullYear()).toBeGreaterThan(2060)
  })

  test("a key that does not belong to the certificate, or an unreadable file, is a clear error naming the config keys", () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-tls-"))
    const mk = () => generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string
    writeFileSync(join(dir, "a.crt"), selfSignedCertificate(mk(), ["localhost"]))
    writeFileSync(join(dir, "b.key"), mk())
    expect(() => loadTls(join(dir, "a.crt"), join(dir, "b.key"))).toThrow(/does not belong to the certificate/)
    expect(() => loadTls(join(dir, "missing.crt"), join(dir, "b.key"))).toThrow(/gateway\.tls\.certPath/)
  })
})

describe("browser Origin", () => {
  test("no Origin (not a browser), loopback origins and listed origins are allowed", () => {
    expect(originAllowed(null, "127.0.0.1:18789", [])).toBe(true)
    for (const o of ["http://127.0.0.1:18789", "http://localhost:5173", "https://[::1]:8443", "http://127.1.2.3", "http://app.localhost"]) {
      expect(originAllowed(o, "127.0.0.1:18789", [])).toBe(true)
    }
    expect(originAllowed("https://ops.example.com", "gw.example.com", ["https://ops.example.com"])).toBe(true)
    expect(originAllowed("https://anything.example", "h", ["*"])).toBe(true)
  })

  test("another site, a DNS-rebound name, null and non-http origins are refused", () => {
    expect(originAllowed("https://evil.example", "127.0.0.1:18789", [])).toBe(false)
    // Rebinding: the attacker's name resolves to the gateway, so Host and Origin agree; only an IP literal counts.
    expect(originAllowed("http://rebind.evil.example:18789", "rebind.evil.example:18789", [])).toBe(false)
    expect(originAllowed("null", "127.0.0.1:18789", [])).toBe(false)
    expect(originAllowed("file://", "127.0.0.1:18789", [])).toBe(false)
    expect(originAllowed("https://ops.example.com.evil", "h", ["https://ops.example.com"])).toBe(false)
  })

  test("the gateway's own page opened by IP address on the LAN is same-origin", () => {
    expect(originAllowed("http://192.0.2.7:18789", "192.0.2.7:18789", [])).toBe(true)
    expect(originAllowed("http://192.0.2.7:18789", "192.0.2.8:18789", [])).toBe(false)
  })

  test("checkUpgrade refuses a foreign origin with 403 naming gateway.controlUi.allowedOrigins", () => {
    const req = new Request("http://127.0.0.1:1/", { headers: { origin: "https://evil.example", host: "127.0.0.1:1" } })
    const r = checkUpgrade(req, "127.0.0.1", gatewayOf({}))
    expect(r).toMatchObject({ ok: false, status: 403 })
    expect(!r.ok && r.message).toContain("gateway.controlUi.allowedOrigins")
  })
})

describe("trusted proxy", () => {
  const gw = gatewayOf({
    auth: { mode: "trusted-proxy", trustedProxy: { requiredHeaders: ["x-forwarded-proto"] } },
    trustedProxies: ["10.0.0.0/8", "::ffff:192.0.2.1"],
  })

  test("addresses and CIDR ranges match, IPv4-mapped IPv6 as IPv4", () => {
    expect(isTrustedProxy("10.1.2.3", gw.trustedProxies)).toBe(true)
    expect(isTrustedProxy("::ffff:10.9.9.9", gw.trustedProxies)).toBe(true)
    expect(isTrustedProxy("192.0.2.1", gw.trustedProxies)).toBe(true)
    expect(isTrustedProxy("11.0.0.1", gw.trustedProxies)).toBe(false)
    expect(isTrustedProxy("not-an-ip", gw.trustedProxies)).toBe(false)
  })

  test("the user header only counts from a trusted proxy; required headers; x-openclaw-scopes narrows", () => {
    const h = (o: Record<string, string>) => new Headers(o)
    expect(proxyIdentity(h({ "x-forwarded-user": "nick", "x-forwarded-proto": "https" }), "11.0.0.1", gw)).toMatchObject({ ok: false, status: 401 })
    expect(proxyIdentity(h({ "x-forwarded-proto": "https" }), "10.0.0.1", gw)).toMatchObject({ ok: false, status: 401 })
    expect(proxyIdentity(h({ "x-forwarded-user": "nick" }), "10.0.0.1", gw)).toMatchObject({ ok: false, status: 401 })
    expect(proxyIdentity(h({ "x-forwarded-user": "nick", "x-forwarded-proto": "https" }), "10.0.0.1", gw)).toEqual({ ok: true, proxy: { user: "nick" } })
    expect(proxyIdentity(h({ "x-forwarded-user": "nick", "x-forwarded-proto": "https", "x-openclaw-scopes": "operator.read, bogus" }), "10.0.0.1", gw)).toEqual(
      {
        ok: true,
        proxy: { user: "nick", scopes: ["operator.read"] },
      },
    )
  })

  test("the mode refuses to start without gateway.trustedProxies; config rejects a malformed address", () => {
    const cfg = ConfigSchema.parse({ gateway: { auth: { mode: "trusted-proxy" } } })
    expect(() => planAuth(cfg, { host: "0.0.0.0", loopback: false })).toThrow(/gateway\.trustedProxies is empty/)
    expect(
      planAuth(ConfigSchema.parse({ gateway: { auth: { mode: "trusted-proxy" }, trustedProxies: ["10.0.0.1"] } }), { host: "0.0.0.0", loopback: false }).mode,
    ).toBe("trusted-proxy")
    expect(ConfigSchema.safeParse({ gateway: { trustedProxies: ["10.0.0.0/99"] } }).success).toBe(false)
  })
})
