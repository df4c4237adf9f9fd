/**
 * Device pairing through the real handshake, in process: the gateway listens on every interface and the "remote"
 * device connects through this machine's non-loopback address, so it is not silently approved.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { generateDeviceKey } from "../../../src/nodes/device-sign.ts"
import { deviceConnect, nonLoopbackAddress } from "../../harness/device-connect.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"
import type { TestClient } from "../../harness/ws-client.ts"

const ip = nonLoopbackAddress()
let gw: InProcessGateway
let operator: TestClient
let remoteUrl: string

beforeAll(async () => {
  gw = await startInProcess({ config: { gateway: { bind: "lan" } } })
  remoteUrl = `ws://${ip}:${gw.gateway.port}`
  operator = await gw.connect({ scopes: ["operator.pairing", "operator.admin"] })
})
afterAll(() => gw?.stop())

describe.skipIf(!ip)("device pairing (in process)", () => {
  test("remote unknown device: PAIRING_REQUIRED with a requestId, 1008, event to operators; approve; device token reconnects", async () => {
    const { key } = await generateDeviceKey()
    const first = await deviceConnect(remoteUrl, { key, token: gw.token, displayName: "laptop" })
    expect(first.res.ok).toBe(false)
    expect(first.res.error).toMatchObject({
      code: "NOT_PAIRED",
      details: { code: "PAIRING_REQUIRED", reason: "not-paired", deviceId: key.deviceId, requestedRole: "operator" },
    })
    const requestId = first.res.error!.details!.requestId as string
    expect((await first.client.closed()).code).toBe(1008)
    const requested = await operator.event("device.pair.requested", (p) => p.requestId === requestId)
    expect(requested).toMatchObject({ deviceId: key.deviceId, publicKey: key.publicKey, displayName: "laptop", clientId: "cli", role: "operator" })

    // A retry does not create a second request (nor a second event).
    const again = await deviceConnect(remoteUrl, { key, token: gw.token, displayName: "laptop" })
    expect(again.res.error?.details?.requestId).toBe(requestId)

    const list = await operator.call("device.pair.list", {})
    expect(list.pending.map((r: { requestId: string }) => r.requestId)).toContain(requestId)
    expect(list.paired.find((d: { deviceId: string }) => d.deviceId === key.deviceId)).toBeUndefined()

    const approved = await operator.call("device.pair.approve", { requestId })
    expect(approved.device).toMatchObject({ deviceId: key.deviceId, roles: ["operator"], scopes: ["operator.read", "operator.pairing"] })
    expect(await operator.event("device.pair.resolved", (p) => p.requestId === requestId)).toMatchObject({ decision: "approved", deviceId: key.deviceId })
    expect(operator.events("device.pair.requested").filter((p) => p.requestId === requestId)).toHaveLength(1)

    // Shared secret + approved device: hello-ok carries the device's own token.
    const second = await deviceConnect(remoteUrl, { key, token: gw.token })
    expect(second.res.ok).toBe(true)
    const deviceToken = second.res.payload.auth.deviceToken as string
    expect(deviceToken.length).toBeGreaterThan(20)
    expect(second.res.payload.auth).toMatchObject({ role: "operator", scopes: ["operator.read", "operator.pairing"] })
    second.client.close()

    // The device token alone (no shared secret) admits the device, with the scopes of its pairing.
    const third = await deviceConnect(remoteUrl, { key, deviceToken })
    expect(third.res.ok).toBe(true)
    expect(third.res.payload.auth).toMatchObject({ method: "device-token", deviceToken, scopes: ["operator.read", "operator.pairing"] })
    expect((await third.client.call("device.pair.list", {})).paired.some((d: { deviceId: string }) => d.deviceId === key.deviceId)).toBe(true)
    third.client.close()

    // More scopes than approved with the device token: a scope-upgrade request, not a silent grant.
    const more = await deviceConnect(remoteUrl, { key, deviceToken, scopes: ["operator.admin"] })
    expect(more.res.error).toMatchObject({ code: "NOT_PAIRED", details: { code: "PAIRING_REQUIRED", reason: "scope-upgrade" } })

    // A wrong device token, and a device token sent without the device's signature, are refused.
    const wrong = await deviceConnect(remoteUrl, { key, deviceToken: "x".repeat(43) })
    expect(wrong.res.error).toMatchObject({ code: "INVALID_REQUEST", details: { code: "AUTH_DEVICE_TOKEN_MISMATCH" } })
    expect((await wrong.client.closed()).code).toBe(1008)
    const unsigned = await deviceConnect(remoteUrl, { key, deviceToken, tamper: (b) => ({ ...b, signature: "" }) })
    expect(unsigned.res.ok).toBe(false)

    // Rotate: the new token works, the old one no longer does; revoke: refused.
    const rotated = await operator.call("device.token.rotate", { deviceId: key.deviceId, role: "operator", scopes: ["operator.read"] })
    expect(rotated).toMatchObject({ deviceId: key.deviceId, role: "operator", scopes: ["operator.read"] })
    expect((await deviceConnect(remoteUrl, { key, deviceToken, scopes: ["operator.read"] })).res.error?.details?.code).toBe("AUTH_DEVICE_TOKEN_MISMATCH")
    const withNew = await deviceConnect(remoteUrl, { key, deviceToken: rotated.token, scopes: ["operator.read"] })
    expect(withNew.res.payload?.auth?.scopes).toEqual(["operator.read"])
    withNew.client.close()
    const listed = (await operator.call("device.pair.list", {})).paired.find((d: { deviceId: string }) => d.deviceId === key.deviceId)
    expect(JSON.stringify(listed)).not.toContain(rotated.token)
    expect(listed.tokens).toEqual([expect.objectContaining({ role: "operator", scopes: ["operator.read"] })])

    await operator.call("device.token.revoke", { deviceId: key.deviceId, role: "operator" })
    expect((await deviceConnect(remoteUrl, { key, deviceToken: rotated.token, scopes: ["operator.read"] })).res.error?.details?.code).toBe(
      "AUTH_DEVICE_TOKEN_MISMATCH",
    )

    expect(await operator.call("device.pair.rename", { deviceId: key.deviceId, displayName: "work laptop" })).toEqual({
      deviceId: key.deviceId,
      displayName: "work laptop",
    })
    expect((await operator.call("device.pair.remove", { deviceId: key.deviceId })).deviceId).toBe(key.deviceId)
    expect((await operator.call("device.pair.list", {})).paired.some((d: { deviceId: string }) => d.deviceId === key.deviceId)).toBe(false)
  })

  test("approve and rotate grant only the caller's own scopes; a device cannot approve its own request", async () => {
    const { key } = await generateDeviceKey()
    const first = await deviceConnect(remoteUrl, { key, token: gw.token })
    await operator.call("device.pair.approve", { requestId: first.res.error!.details!.requestId })
    // The device's own connection, scoped operator.read + operator.pairing.
    const own = await deviceConnect(remoteUrl, { key, token: gw.token })
    expect(own.res.ok).toBe(true)
    const deviceToken = own.res.payload.auth.deviceToken as string
    const upgrade = await deviceConnect(remoteUrl, { key, deviceToken, scopes: ["operator.read", "operator.pairing", "operator.admin"] })
    expect(upgrade.res.error?.details).toMatchObject({ code: "PAIRING_REQUIRED", reason: "scope-upgrade" })
    const requestId = upgrade.res.error!.details!.requestId as string

    const self = await own.client.request("device.pair.approve", { requestId })
    expect(self.error).toMatchObject({ code: "FORBIDDEN", details: { code: "SELF_APPROVAL" } })
    const pairingOnly = await gw.connect({ scopes: ["operator.read", "operator.pairing"] })
    const byPairing = await pairingOnly.request("device.pair.approve", { requestId })
    expect(byPairing.error).toMatchObject({ code: "FORBIDDEN", details: { code: "MISSING_SCOPE", missingScope: "operator.admin" } })
    expect((await operator.call("device.pair.list", {})).pending.some((r: { requestId: string }) => r.requestId === requestId)).toBe(true)

    // Once an admin approved admin for the device, a pairing-scoped caller still cannot mint an admin token.
    await operator.call("device.pair.approve", { requestId })
    const rotate = await pairingOnly.request("device.token.rotate", { deviceId: key.deviceId, role: "operator" })
    expect(rotate.error).toMatchObject({ code: "FORBIDDEN", details: { code: "MISSING_SCOPE", missingScope: "operator.admin" } })
    const ownRotate = await own.client.request("device.token.rotate", { deviceId: key.deviceId, role: "operator", scopes: ["operator.admin"] })
    expect(ownRotate.error?.code).toBe("FORBIDDEN")
    const narrow = await pairingOnly.call("device.token.rotate", { deviceId: key.deviceId, role: "operator", scopes: ["operator.read"] })
    expect(narrow.scopes).toEqual(["operator.read"])
    expect((await operator.call("device.token.rotate", { deviceId: key.deviceId, role: "operator" })).scopes).toContain("operator.admin")
    own.client.close()
    pairingOnly.close()
  })

  test("a loopback connection through a reverse proxy (X-Forwarded-For) is not approved silently", async () => {
    const { key } = await generateDeviceKey()
    const r = await deviceConnect(gw.url, { key, token: gw.token, headers: { "x-forwarded-for": "203.0.113.7" } })
    expect(r.res.error).toMatchObject({ code: "NOT_PAIRED", details: { code: "PAIRING_REQUIRED", reason: "not-paired" } })
    expect((await operator.call("device.pair.list", {})).paired.some((d: { deviceId: string }) => d.deviceId === key.deviceId)).toBe(false)
  })

  test("a frame above the pre-auth cap sent while the device is checked closes the socket with 1009", async () => {
    const { key } = await generateDeviceKey()
    const big = JSON.stringify({ type: "req", id: "big", method: "health", params: { pad: "x".repeat(70 * 1024) } })
    // The connect's reply never comes: the socket is closed while the device check is still running.
    await expect(deviceConnect(gw.url, { key, token: gw.token, alsoSend: big })).rejects.toThrow("socket closed (1009")
  })

  test("reject: resolved event with decision rejected; the request is gone", async () => {
    const { key } = await generateDeviceKey()
    const first = await deviceConnect(remoteUrl, { key, token: gw.token })
    const requestId = first.res.error!.details!.requestId as string
    expect(await operator.call("device.pair.reject", { requestId })).toEqual({ requestId, deviceId: key.deviceId })
    expect(await operator.event("device.pair.resolved", (p) => p.requestId === requestId)).toMatchObject({ decision: "rejected" })
    expect((await operator.call("device.pair.list", {})).pending.some((r: { requestId: string }) => r.requestId === requestId)).toBe(false)
    const res = await operator.request("device.pair.approve", { requestId })
    expect(res.error?.code).toBe("INVALID_REQUEST")
  })

  test("loopback with the shared secret is approved silently and gets a device token", async () => {
    const { key } = await generateDeviceKey()
    const r = await deviceConnect(gw.url, { key, token: gw.token })
    expect(r.res.ok).toBe(true)
    expect(typeof r.res.payload.auth.deviceToken).toBe("string")
    expect((await operator.call("device.pair.list", {})).paired.some((d: { deviceId: string }) => d.deviceId === key.deviceId)).toBe(true)
    r.client.close()
  })

  test("forged identities are refused with their codes and close 1008", async () => {
    const { key } = await generateDeviceKey()
    const { key: other } = await generateDeviceKey()
    const cases: [string, Parameters<typeof deviceConnect>[1]][] = [
      ["DEVICE_AUTH_SIGNATURE_INVALID", { key, token: gw.token, tamper: async (b) => ({ ...b, signature: (await deviceConnectSig(other, b)).signature }) }],
      ["DEVICE_AUTH_DEVICE_ID_MISMATCH", { key, token: gw.token, tamper: (b) => ({ ...b, id: other.deviceId }) }],
      ["DEVICE_AUTH_SIGNATURE_EXPIRED", { key, token: gw.token, signedAtMs: Date.now() - 10 * 60_000 }],
      ["DEVICE_AUTH_NONCE_MISMATCH", { key, token: gw.token, tamper: (b) => ({ ...b, nonce: "not-the-challenge" }) }],
      ["DEVICE_AUTH_PUBLIC_KEY_INVALID", { key, token: gw.token, tamper: (b) => ({ ...b, publicKey: "short" }) }],
    ]
    for (const [code, opts] of cases) {
      // Loopback and the shared secret do not excuse a bad signature.
      const r = await deviceConnect(gw.url, opts)
      expect(r.res.error?.details?.code).toBe(code)
      expect(r.res.error?.code).toBe("INVALID_REQUEST")
      expect((await r.client.closed()).code).toBe(1008)
    }
  })

  test("an unsigned device block from a shared-secret holder is treated as no device", async () => {
    const c = await gw.connect({ params: { device: { id: "x", publicKey: "y" } } })
    expect(c.hello.auth.deviceToken).toBeUndefined()
    expect(await c.call("health", {})).toBeTruthy()
  })

  test("src/client presents a device (v3 and v2) and hands back hello-ok's device token", async () => {
    const { GatewayClient } = await import("../../../src/client/index.ts")
    const { key } = await generateDeviceKey()
    const c = await GatewayClient.connect({ url: gw.url, token: gw.token, device: key, scopes: ["operator.read"] })
    expect(c.hello.auth.deviceToken).toBeString()
    c.close()
    const byToken = await GatewayClient.connect({
      url: gw.url,
      device: key,
      deviceToken: c.hello.auth.deviceToken,
      scopes: ["operator.read"],
      devicePayloadVersion: "v2",
    })
    expect(byToken.hello.auth).toMatchObject({ method: "device-token", scopes: ["operator.read"] })
    byToken.close()
  })

  test("revoking a token closes the connections that used it (1008); removing the device closes all of its connections", async () => {
    const { key } = await generateDeviceKey()
    const bySecret = await deviceConnect(gw.url, { key, token: gw.token })
    const deviceToken = bySecret.res.payload.auth.deviceToken as string
    const byToken = await deviceConnect(gw.url, { key, deviceToken })
    expect(byToken.res.ok).toBe(true)
    await operator.call("device.token.revoke", { deviceId: key.deviceId, role: "operator" })
    expect(await byToken.client.closed()).toEqual({ code: 1008, reason: "device token revoked" })
    // The shared-secret connection did not depend on the token.
    expect(await bySecret.client.call("health", {})).toBeTruthy()
    await operator.call("device.pair.remove", { deviceId: key.deviceId })
    expect(await bySecret.client.closed()).toEqual({ code: 1008, reason: "device removed" })
    expect(operator.isOpen).toBe(true)
  })

  test("the v2 payload is accepted", async () => {
    const { key } = await generateDeviceKey()
    const r = await deviceConnect(gw.url, { key, token: gw.token, version: "v2" })
    expect(r.res.ok).toBe(true)
    r.client.close()
  })
})

describe.skipIf(!ip)("device auth failures are rate limited (last: it locks this address out)", () => {
  test("forged signatures with a guessed device token count as failed authentications", async () => {
    const { key } = await generateDeviceKey()
    const forge: Parameters<typeof deviceConnect>[1] = {
      key,
      deviceToken: "guess",
      tamper: (b) => ({ ...b, signature: Buffer.alloc(64, 7).toString("base64url") }),
    }
    let last: string | undefined
    for (let i = 0; i < 15 && last !== "AUTH_RATE_LIMITED"; i++) {
      last = (await deviceConnect(remoteUrl, forge)).res.error?.details?.code
      if (last !== "AUTH_RATE_LIMITED") expect(last).toBe("DEVICE_AUTH_SIGNATURE_INVALID")
    }
    expect(last).toBe("AUTH_RATE_LIMITED")
  })
})

/** A signature over the same block by another key (for the forged-signature case). */
async function deviceConnectSig(other: Awaited<ReturnType<typeof generateDeviceKey>>["key"], b: { nonce: string; signedAt: number }) {
  const { signConnect } = await import("../../../src/nodes/device-sign.ts")
  return signConnect(other, {
    nonce: b.nonce,
    clientId: "cli",
    clientMode: "cli",
    role: "operator",
    scopes: ["operator.read", "operator.pairing"],
    platform: "linux",
    deviceFamily: "Linux",
    signedAtMs: b.signedAt,
  })
}
