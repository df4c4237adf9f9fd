/**
 * Connects with a signed device identity over a raw TestClient, so pairing tests can assert on the connect reply,
 * hello-ok's auth block and the close code. Used by the in-process and e2e device tests.
 */
import { signConnect, type DeviceBlock, type DeviceKey } from "../../src/nodes/device-sign.ts"
import { PROTOCOL_VERSION } from "../../src/protocol/index.ts"
import { TestClient, type Frame } from "./ws-client.ts"

export interface DeviceConnectOptions {
  key: DeviceKey
  /** The shared secret (auth.token). */
  token?: string
  /** A device token from an earlier hello-ok (auth.deviceToken). */
  deviceToken?: string
  scopes?: string[]
  role?: string
  clientId?: string
  mode?: string
  displayName?: string
  version?: "v3" | "v2"
  signedAtMs?: number
  /** Request headers of the upgrade (e.g. a reverse proxy's X-Forwarded-For). */
  headers?: Record<string, string>
  /** A raw frame sent right after connect, before its reply (it arrives while the device is being checked). */
  alsoSend?: string
  /** Change the signed block before it is sent (forgeries). */
  tamper?(block: DeviceBlock, nonce: string): DeviceBlock | Promise<DeviceBlock>
}

export interface DeviceConnectResult {
  client: TestClient
  res: Frame
}

export async function deviceConnect(url: string, o: DeviceConnectOptions): Promise<DeviceConnectResult> {
  const client = await TestClient.open(url, 5000, o.headers)
  const challenge = client.frames.find((f) => f.event === "connect.challenge")!
  const nonce = challenge.payload.nonce as string
  const auth: Record<string, string> = {}
  if (o.token) auth.token = o.token
  if (o.deviceToken) auth.deviceToken = o.deviceToken
  const role = o.role ?? "operator"
  const scopes = o.scopes ?? ["operator.read", "operator.pairing"]
  const client0 = { id: o.clientId ?? "cli", version: "test", platform: "linux", deviceFamily: "Linux", mode: o.mode ?? "cli", displayName: o.displayName }
  let device = await signConnect(o.key, {
    nonce,
    clientId: client0.id,
    clientMode: client0.mode,
    role,
    scopes,
    token: auth.token ?? auth.deviceToken ?? "",
    platform: client0.platform,
    deviceFamily: client0.deviceFamily,
    signedAtMs: o.signedAtMs,
    version: o.version,
  })
  if (o.tamper) device = await o.tamper(device, nonce)
  const reply = client.request("connect", {
    minProtocol: PROTOCOL_VERSION,
    maxProtocol: PROTOCOL_VERSION,
    client: client0,
    caps: [],
    auth,
    role,
    scopes,
    device,
  })
  if (o.alsoSend !== undefined) client.send(o.alsoSend)
  const res = await reply
  if (res.ok) client.hello = res.payload
  return { client, res }
}

/** This machine's first non-internal IPv4 address: connecting to it is not loopback, as pairing tests need. */
export function nonLoopbackAddress(): string | undefined {
  const { networkInterfaces } = require("node:os") as typeof import("node:os")
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address
  }
  return undefined
}
