/**
 * OpenClaw's own node host (`openclaw node run`, a real client signing its device identity with its own code) against
 * the compiled binary, from a private non-loopback address: its signature verifies, it is refused with
 * PAIRING_REQUIRED and waits, an operator approves, it connects and stores the device token from hello-ok, and,
 * restarted without the shared secret, reconnects with that token alone. Skipped, visibly, where the OpenClaw CLI is
 * not installed (../shared/tools/openclaw) or the machine has no private address (OpenClaw refuses plaintext ws://
 * to public ones).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { rmSync } from "node:fs"
import { networkInterfaces } from "node:os"
import { connected, startBinary, waitUntil, type GatewayProcess, type RawSocket } from "./harness.ts"
import { OPENCLAW, openclawAvailable, openclawEnv, openclawState, warnIfOpenclawMissing } from "./openclaw.ts"

const TOKEN = "devices-openclaw-token-0123456789"

/** A private address of this machine (RFC 1918 IPv4 or an IPv6 ULA) and the bind that listens on it. */
function privateAddress(): { host: string; bind: string } | undefined {
  const all = Object.values(networkInterfaces()).flatMap((l) => l ?? [])
  const v4 = all.find((a) => a.family === "IPv4" && !a.internal && /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(a.address))
  if (v4) return { host: v4.address, bind: "lan" }
  const v6 = all.find((a) => a.family === "IPv6" && !a.internal && /^f[cd]/i.test(a.address))
  return v6 ? { host: v6.address, bind: "::" } : undefined
}
const addr = privateAddress()
warnIfOpenclawMissing("devices-openclaw.test.ts")
if (openclawAvailable && !addr) console.warn("devices-openclaw.test.ts: no private non-loopback address on this machine; skipped")

let gw: GatewayProcess
let operator: RawSocket
const state = openclawState("openclaw-node-state-")
const nodeHosts: ReturnType<typeof Bun.spawn>[] = []

/** `openclaw node run` against the gateway's private address; with the shared secret only when asked. */
function startNodeHost(withSecret: boolean) {
  const p = Bun.spawn([OPENCLAW, "node", "run", "--host", addr!.host, "--port", String(gw.port), "--no-tls", "--display-name", "oc-e2e-node"], {
    env: openclawEnv(state, {
      // Break-glass for plaintext ws:// on a private network (this test's LAN address).
      OPENCLAW_ALLOW_INSECURE_PRIVATE_WS: "1",
      ...(withSecret ? { OPENCLAW_GATEWAY_TOKEN: TOKEN } : {}),
    }),
    stdout: "ignore",
    stderr: "ignore",
  })
  nodeHosts.push(p)
  return p
}

async function pairList(): Promise<{ pending: any[]; paired: any[] }> {
  const res = await operator.request("device.pair.list", {})
  if (!res.ok) throw new Error(JSON.stringify(res.error))
  return res.payload as { pending: any[]; paired: any[] }
}

describe.skipIf(!openclawAvailable || !addr)("OpenClaw's node host pairs with our gateway as a device", () => {
  beforeAll(async () => {
    gw = await startBinary({ args: ["--token", TOKEN, "--bind", addr!.bind] })
    operator = (await connected(`ws://127.0.0.1:${gw.port}`, { auth: { token: TOKEN }, scopes: ["operator.pairing"] })).sock
  })
  afterAll(async () => {
    for (const p of nodeHosts) p.kill("SIGKILL")
    operator?.close()
    await gw?.stop()
    rmSync(state, { recursive: true, force: true })
  })

  test("signed connect → PAIRING_REQUIRED → approve → connected with a device token → reconnects with the token alone", async () => {
    const first = startNodeHost(true)
    const request = await waitUntil(async () => (await pairList()).pending[0], "the node host's pairing request", 90_000)
    expect(request).toMatchObject({ role: "node", clientId: "node-host", clientMode: "node", displayName: "oc-e2e-node", remoteIp: addr!.host })
    expect(request.deviceId).toMatch(/^[0-9a-f]{64}$/)

    const approved = await operator.request("device.pair.approve", { requestId: request.requestId })
    expect(approved.ok).toBe(true)
    // It retries on its own, is admitted, and gets its token (the paired row lists it, never its value).
    const paired = await waitUntil(
      async () => (await pairList()).paired.find((d) => d.deviceId === request.deviceId && d.tokens?.length && d.lastSeenAtMs),
      "the node host to reconnect after approval",
      90_000,
    )
    // Read before any matcher runs: bun's toMatchObject with objectContaining emptied the matched array element.
    const issuedAt = paired.tokens[0].createdAtMs as number
    expect(paired.roles).toEqual(["node"])
    expect(paired.tokens.map((t: { role: string }) => t.role)).toEqual(["node"])

    first.kill("SIGTERM")
    await first.exited
    // No shared secret this time: only the device token OpenClaw stored from our hello-ok can admit it.
    startNodeHost(false)
    const reused = await waitUntil(
      async () => (await pairList()).paired.find((d) => d.deviceId === request.deviceId && d.tokens?.[0]?.lastUsedAtMs),
      "the node host to reconnect with its device token",
      90_000,
    )
    expect(reused.tokens[0].createdAtMs).toBe(issuedAt)
  }, 240_000)
})
