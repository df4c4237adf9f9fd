import { describe, expect, test } from "bun:test"
import { deviceIdForPublicKey, rawPublicKey, verifyDeviceIdentity, type DeviceConnectContext } from "../../../src/nodes/device-identity.ts"
import { buildDevicePayload, fromBase64Url, toBase64Url } from "../../../src/nodes/device-payload.ts"
import { generateDeviceKey, signConnect, type DeviceKey } from "../../../src/nodes/device-sign.ts"

const NOW = 1_800_000_000_000
const ctx = (over: Partial<DeviceConnectContext> = {}): DeviceConnectContext => ({
  challengeNonce: "nonce-1",
  client: { id: "cli", mode: "cli", platform: "linux", deviceFamily: "Linux" },
  role: "operator",
  scopes: ["operator.read", "operator.pairing"],
  auth: { token: "shared" },
  now: NOW,
  ...over,
})

async function signed(key: DeviceKey, version: "v3" | "v2" = "v3", over: { signedAtMs?: number; nonce?: string } = {}) {
  return signConnect(key, {
    nonce: over.nonce ?? "nonce-1",
    clientId: "cli",
    clientMode: "cli",
    role: "operator",
    scopes: ["operator.read", "operator.pairing"],
    token: "shared",
    platform: "linux",
    deviceFamily: "Linux",
    signedAtMs: over.signedAtMs ?? NOW - 5_000,
    version,
  })
}

async function pemOf(key: DeviceKey): Promise<string> {
  const pub = await crypto.subtle.importKey("raw", fromBase64Url(key.publicKey), { name: "Ed25519" }, true, ["verify"])
  const spki = Buffer.from(await crypto.subtle.exportKey("spki", pub)).toString("base64")
  return `-----BEGIN PUBLIC KEY-----\n${spki}\n-----END PUBLIC KEY-----\n`
}

describe("verifyDeviceIdentity", async () => {
  const { key } = await generateDeviceKey()

  test("accepts a v3 signature with a raw base64url key, and reports v3", async () => {
    const r = await verifyDeviceIdentity(await signed(key), ctx())
    expect(r).toMatchObject({ ok: true, deviceId: key.deviceId, payloadVersion: "v3", publicKey: key.publicKey })
  })

  test("accepts the legacy v2 payload", async () => {
    const r = await verifyDeviceIdentity(await signed(key, "v2"), ctx())
    expect(r).toMatchObject({ ok: true, payloadVersion: "v2" })
  })

  test("accepts the key as PEM SPKI; the id is the SHA-256 of the raw 32 bytes", async () => {
    const pem = await pemOf(key)
    expect(toBase64Url(rawPublicKey(pem)!)).toBe(key.publicKey)
    expect(await deviceIdForPublicKey(pem)).toBe(key.deviceId)
    const block = { ...(await signed(key)), publicKey: pem }
    const r = await verifyDeviceIdentity(block, ctx())
    expect(r).toMatchObject({ ok: true, deviceId: key.deviceId, publicKey: key.publicKey })
    const v2 = { ...(await signed(key, "v2")), publicKey: pem }
    expect(await verifyDeviceIdentity(v2, ctx())).toMatchObject({ ok: true, payloadVersion: "v2" })
  })

  test("the device id is hex SHA-256 of the raw key", async () => {
    const digest = Buffer.from(await crypto.subtle.digest("SHA-256", fromBase64Url(key.publicKey))).toString("hex")
    expect(key.deviceId).toBe(digest)
  })

  test("a signature by another key: DEVICE_AUTH_SIGNATURE_INVALID", async () => {
    const { key: other } = await generateDeviceKey()
    const forged = { ...(await signed(other)), id: key.deviceId, publicKey: key.publicKey }
    expect(await verifyDeviceIdentity(forged, ctx())).toMatchObject({ ok: false, code: "DEVICE_AUTH_SIGNATURE_INVALID", message: "device signature invalid" })
  })

  test("a payload signed for other scopes, role or token: DEVICE_AUTH_SIGNATURE_INVALID", async () => {
    const block = await signed(key)
    expect(await verifyDeviceIdentity(block, ctx({ scopes: ["operator.admin"] }))).toMatchObject({ code: "DEVICE_AUTH_SIGNATURE_INVALID" })
    expect(await verifyDeviceIdentity(block, ctx({ role: "node" }))).toMatchObject({ code: "DEVICE_AUTH_SIGNATURE_INVALID" })
    expect(await verifyDeviceIdentity(block, ctx({ auth: { token: "other" } }))).toMatchObject({ code: "DEVICE_AUTH_SIGNATURE_INVALID" })
    expect(await verifyDeviceIdentity({ ...block, signature: "AAAA" }, ctx())).toMatchObject({ code: "DEVICE_AUTH_SIGNATURE_INVALID" })
  })

  test("an id that is not the key's hash: DEVICE_AUTH_DEVICE_ID_MISMATCH", async () => {
    const block = { ...(await signed(key)), id: "f".repeat(64) }
    expect(await verifyDeviceIdentity(block, ctx())).toMatchObject({ ok: false, code: "DEVICE_AUTH_DEVICE_ID_MISMATCH", message: "device identity mismatch" })
  })

  test("signedAt more than 2 minutes off (either way): DEVICE_AUTH_SIGNATURE_EXPIRED", async () => {
    const stale = await signed(key, "v3", { signedAtMs: NOW - 121_000 })
    expect(await verifyDeviceIdentity(stale, ctx())).toMatchObject({ ok: false, code: "DEVICE_AUTH_SIGNATURE_EXPIRED", message: "device signature expired" })
    const future = await signed(key, "v3", { signedAtMs: NOW + 121_000 })
    expect(await verifyDeviceIdentity(future, ctx())).toMatchObject({ code: "DEVICE_AUTH_SIGNATURE_EXPIRED" })
    const edge = await signed(key, "v3", { signedAtMs: NOW - 119_000 })
    expect(await verifyDeviceIdentity(edge, ctx())).toMatchObject({ ok: true })
  })

  test("a nonce other than the challenge's: DEVICE_AUTH_NONCE_MISMATCH; none: DEVICE_AUTH_NONCE_REQUIRED", async () => {
    const other = await signed(key, "v3", { nonce: "nonce-2" })
    expect(await verifyDeviceIdentity(other, ctx())).toMatchObject({ ok: false, code: "DEVICE_AUTH_NONCE_MISMATCH", message: "device nonce mismatch" })
    const { nonce: _n, ...none } = await signed(key)
    expect(await verifyDeviceIdentity(none, ctx())).toMatchObject({ ok: false, code: "DEVICE_AUTH_NONCE_REQUIRED" })
  })

  test("a key that is not 32 bytes of Ed25519: DEVICE_AUTH_PUBLIC_KEY_INVALID", async () => {
    const block = await signed(key)
    expect(await verifyDeviceIdentity({ ...block, publicKey: "abc" }, ctx())).toMatchObject({ ok: false, code: "DEVICE_AUTH_PUBLIC_KEY_INVALID" })
    const rsaish = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"
    expect(await verifyDeviceIdentity({ ...block, publicKey: rsaish }, ctx())).toMatchObject({ code: "DEVICE_AUTH_PUBLIC_KEY_INVALID" })
  })

  test("v3 signs platform and device family lower-cased and trimmed", () => {
    const text = buildDevicePayload("v3", {
      deviceId: "d",
      clientId: "c",
      clientMode: "m",
      role: "operator",
      scopes: [],
      signedAtMs: 1,
      token: "",
      nonce: "n",
      platform: " MacOS ",
      deviceFamily: undefined,
    })
    expect(text).toBe("v3|d|c|m|operator||1||n|macos|")
    expect(
      buildDevicePayload("v2", { deviceId: "d", clientId: "c", clientMode: "m", role: "r", scopes: ["a", "b"], signedAtMs: 1, token: "t", nonce: "n" }),
    ).toBe("v2|d|c|m|r|a,b|1|t|n")
  })
})
