import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { buildDevicePayload, deviceIdFromRaw, fromBase64Url } from "../../../src/nodes/device-payload.ts"
import { loadOrCreateDeviceKey, signConnect } from "../../../src/nodes/device-sign.ts"

const dir = mkdtempSync(join(tmpdir(), "device-sign-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("device key file", () => {
  test("created 0600 in a 0700 directory, and the same identity is loaded again", async () => {
    const path = join(dir, "identity", "device.json")
    const a = await loadOrCreateDeviceKey(path)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, "identity")).mode & 0o777).toBe(0o700)
    const b = await loadOrCreateDeviceKey(path)
    expect(b.deviceId).toBe(a.deviceId)
    expect(b.publicKey).toBe(a.publicKey)
    expect(a.deviceId).toBe(await deviceIdFromRaw(fromBase64Url(a.publicKey)))
    expect(a.deviceId).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.parse(readFileSync(path, "utf8")).version).toBe(1)
  })
})

describe("signConnect", () => {
  test("signs the v3 payload with lower-cased platform and family, verifiable with the raw public key", async () => {
    const key = await loadOrCreateDeviceKey(join(dir, "k2.json"))
    const block = await signConnect(key, {
      nonce: "n-1",
      clientId: "cli",
      clientMode: "cli",
      role: "operator",
      scopes: ["operator.read", "operator.write"],
      token: "tok",
      platform: " Linux ",
      deviceFamily: "Linux",
      signedAtMs: 1000,
    })
    const payload = buildDevicePayload("v3", {
      deviceId: key.deviceId,
      clientId: "cli",
      clientMode: "cli",
      role: "operator",
      scopes: ["operator.read", "operator.write"],
      signedAtMs: 1000,
      token: "tok",
      nonce: "n-1",
      platform: "linux",
      deviceFamily: "linux",
    })
    expect(payload).toBe(`v3|${key.deviceId}|cli|cli|operator|operator.read,operator.write|1000|tok|n-1|linux|linux`)
    const pub = await crypto.subtle.importKey("raw", fromBase64Url(block.publicKey), { name: "Ed25519" }, false, ["verify"])
    expect(await crypto.subtle.verify("Ed25519", pub, fromBase64Url(block.signature), new TextEncoder().encode(payload))).toBe(true)
    expect(block).toMatchObject({ id: key.deviceId, signedAt: 1000, nonce: "n-1" })
  })
})
