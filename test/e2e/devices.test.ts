/**
 * Device pairing against the compiled binary, end to end and across a restart. The gateway listens on every
 * interface with a token, and the device connects through this machine's non-loopback address, so it is a remote
 * device: request → `gateway devices list` → `gateway devices approve` → device token in hello-ok → reconnect with
 * it alone → restart → still paired → `gateway devices revoke` → refused. OpenClaw's own CLI reads device.pair.list.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { loadOrCreateDeviceKey, type DeviceKey } from "../../src/nodes/device-sign.ts"
import { deviceConnect, nonLoopbackAddress } from "../harness/device-connect.ts"
import { connected, runCli, startBinary, type GatewayProcess, type RawSocket } from "./harness.ts"
import { openclawAvailable, openclawState, runOpenclaw, warnIfOpenclawMissing } from "./openclaw.ts"

/** Long enough for a non-loopback bind. */
const TOKEN = "devices-e2e-token-0123456789"
const ip = nonLoopbackAddress()
const home = mkdtempSync(join(tmpdir(), "gw-e2e-devices-"))
const start = () => startBinary({ home, args: ["--token", TOKEN, "--bind", "lan"] })
const env = (g: GatewayProcess) => ({ GATEWAY_HOME: home, GATEWAY_PORT: String(g.port), GATEWAY_TOKEN: TOKEN, XDG_CACHE_HOME: join(home, ".cache") })
const remote = (g: GatewayProcess) => `ws://${ip}:${g.port}`
/** The loopback URL (the ready line names the bind address, 0.0.0.0). */
const local = (g: GatewayProcess) => `ws://127.0.0.1:${g.port}`

let gw: GatewayProcess
let operator: RawSocket
let key: DeviceKey

beforeAll(async () => {
  gw = await start()
  operator = (await connected(local(gw), { auth: { token: TOKEN }, scopes: ["operator.pairing"] })).sock
  key = await loadOrCreateDeviceKey(join(home, "device-under-test", "device.json"))
})

afterAll(async () => {
  operator?.close()
  await gw?.stop()
  rmSync(home, { recursive: true, force: true })
})

describe.skipIf(!ip)("device pairing against the binary", () => {
  let deviceToken: string

  test("an unknown remote device is refused with PAIRING_REQUIRED and shows up in 'gateway devices list'", async () => {
    const first = await deviceConnect(remote(gw), { key, token: TOKEN, displayName: "e2e laptop" })
    expect(first.res.error).toMatchObject({ code: "NOT_PAIRED", details: { code: "PAIRING_REQUIRED", reason: "not-paired", deviceId: key.deviceId } })
    expect((await first.client.closed()).code).toBe(1008)
    const requestId = first.res.error!.details!.requestId as string
    // The operator's socket got the event (and the harness checked it against its schema).
    const ev = await operator.waitFor((f) => f.type === "event" && f.event === "device.pair.requested")
    expect(ev.payload).toMatchObject({ requestId, deviceId: key.deviceId, displayName: "e2e laptop", remoteIp: ip })

    const listed = await runCli(["devices", "list", "--json"], env(gw))
    expect(listed.code).toBe(0)
    const list = JSON.parse(listed.out)
    expect(list.pending).toEqual([
      expect.objectContaining({ requestId, deviceId: key.deviceId, role: "operator", scopes: ["operator.read", "operator.pairing"] }),
    ])
    expect(list.paired).toEqual([])
    const human = await runCli(["devices", "list"], env(gw))
    expect(human.out).toContain(requestId)

    const approved = await runCli(["devices", "approve", requestId], env(gw))
    expect(approved.code).toBe(0)
    expect(approved.out).toContain(key.deviceId)
    expect((await operator.waitFor((f) => f.type === "event" && f.event === "device.pair.resolved")).payload).toMatchObject({ requestId, decision: "approved" })
  }, 30_000)

  test("approved: hello-ok carries a device token, and the token alone reconnects the device", async () => {
    const withSecret = await deviceConnect(remote(gw), { key, token: TOKEN })
    expect(withSecret.res.ok).toBe(true)
    deviceToken = withSecret.res.payload.auth.deviceToken
    expect(deviceToken).toBeString()
    withSecret.client.close()

    const withToken = await deviceConnect(remote(gw), { key, deviceToken })
    expect(withToken.res.ok).toBe(true)
    expect(withToken.res.payload.auth).toMatchObject({ method: "device-token", deviceToken, scopes: ["operator.read", "operator.pairing"] })
    withToken.client.close()
    // Stored hashed: the token itself is nowhere in the database.
    const db = await Bun.file(join(home, "gateway.db")).arrayBuffer()
    expect(Buffer.from(db).includes(Buffer.from(deviceToken))).toBe(false)
  }, 30_000)

  test("after a restart the device is still paired and its token still works; revoked, it is refused", async () => {
    operator.close()
    await gw.stop()
    gw = await start()
    operator = (await connected(local(gw), { auth: { token: TOKEN }, scopes: ["operator.pairing"] })).sock

    const again = await deviceConnect(remote(gw), { key, deviceToken })
    expect(again.res.ok).toBe(true)
    again.client.close()
    const list = JSON.parse((await runCli(["devices", "list", "--json"], env(gw))).out)
    expect(list.paired).toEqual([
      expect.objectContaining({ deviceId: key.deviceId, roles: ["operator"], tokens: [expect.objectContaining({ role: "operator" })] }),
    ])

    const revoked = await runCli(["devices", "revoke", "--device", key.deviceId, "--role", "operator"], env(gw))
    expect(revoked.code).toBe(0)
    const refused = await deviceConnect(remote(gw), { key, deviceToken })
    expect(refused.res.error).toMatchObject({ code: "INVALID_REQUEST", details: { code: "AUTH_DEVICE_TOKEN_MISMATCH" } })
    expect((await refused.client.closed()).code).toBe(1008)
  }, 30_000)

  test("a forged device (another key's signature) is refused with DEVICE_AUTH_SIGNATURE_INVALID and 1008", async () => {
    const forged = await deviceConnect(remote(gw), { key, token: TOKEN, tamper: (b) => ({ ...b, signature: Buffer.alloc(64, 1).toString("base64url") }) })
    expect(forged.res.error).toMatchObject({ code: "INVALID_REQUEST", message: "device signature invalid", details: { code: "DEVICE_AUTH_SIGNATURE_INVALID" } })
    expect((await forged.client.closed()).code).toBe(1008)
  })

  test("the key file is 0600", () => {
    expect(statSync(join(home, "device-under-test", "device.json")).mode & 0o777).toBe(0o600)
  })
})

warnIfOpenclawMissing("devices.test.ts")

describe.skipIf(!openclawAvailable)("OpenClaw's CLI", () => {
  test("openclaw gateway call device.pair.list --json prints OpenClaw's {pending, paired} shape", async () => {
    const state = openclawState()
    const { code, out, err } = await runOpenclaw(["gateway", "call", "device.pair.list", "--url", local(gw), "--token", TOKEN, "--json"], { state })
    rmSync(state, { recursive: true, force: true })
    if (code !== 0) throw new Error(`openclaw exited ${code}: ${err}\n${out}`)
    const payload = JSON.parse(out)
    // As recorded from OpenClaw (normalized/cli__call-device.pair.list.012.jsonl): exactly these two keys.
    expect(Object.keys(payload).sort()).toEqual(["paired", "pending"])
    expect(Array.isArray(payload.pending)).toBe(true)
    expect(payload.paired.find((d: { deviceId: string }) => d.deviceId === key.deviceId)).toMatchObject({
      publicKey: key.publicKey,
      roles: ["operator"],
      scopes: ["operator.read", "operator.pairing"],
      createdAtMs: expect.any(Number),
      approvedAtMs: expect.any(Number),
    })
  }, 60_000)
})
