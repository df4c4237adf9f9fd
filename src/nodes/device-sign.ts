/**
 * A device's own side of identity: an Ed25519 key pair kept 0600 under the state home, and the signed `device` block
 * for a connect. Used by src/client when a caller passes a device key (tests, and clients that pair); the node host
 * (`gateway node run`) does not sign one: it connects with the shared secret alone. WebCrypto only (no node:crypto,
 * no zod), and imported lazily by the client, so commands that do not present a device pay nothing for it.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { buildDevicePayload, deviceIdFromRaw, fromBase64Url, toBase64Url, type DevicePayloadVersion } from "./device-payload.ts"

export interface DeviceKey {
  /** Hex SHA-256 of the raw public key. */
  deviceId: string
  /** base64url of the raw 32-byte public key (what goes on the wire). */
  publicKey: string
  privateKey: CryptoKey
}

/** The signed block sent as ConnectParams.device. */
export interface DeviceBlock {
  id: string
  publicKey: string
  signature: string
  signedAt: number
  nonce: string
}

interface KeyFile {
  version: 1
  deviceId: string
  publicKey: string
  /** base64url PKCS#8 of the private key. */
  privateKey: string
  createdAtMs: number
}

/** Where the gateway binary keeps its own device key: `<state home>/identity/device.json`. */
export function defaultDeviceKeyPath(home: string): string {
  return join(home, "identity", "device.json")
}

export async function generateDeviceKey(): Promise<{ key: DeviceKey; pkcs8: Uint8Array }> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as unknown as CryptoKeyPair
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey))
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey))
  return { key: { deviceId: await deviceIdFromRaw(raw), publicKey: toBase64Url(raw), privateKey: pair.privateKey }, pkcs8 }
}

/** Loads the key pair at `path`, creating it (directory 0700, file 0600, written atomically) when absent. */
export async function loadOrCreateDeviceKey(path: string): Promise<DeviceKey> {
  if (existsSync(path)) {
    let file: KeyFile
    try {
      file = JSON.parse(readFileSync(path, "utf8")) as KeyFile
    } catch (err) {
      throw new Error(`device key file ${path} is not valid JSON (${(err as Error).message}); move it away to create a new identity`)
    }
    if (file.version !== 1 || typeof file.privateKey !== "string" || typeof file.publicKey !== "string") {
      throw new Error(`device key file ${path} is not a version 1 key file; move it away to create a new identity`)
    }
    const privateKey = await crypto.subtle.importKey("pkcs8", fromBase64Url(file.privateKey), { name: "Ed25519" }, false, ["sign"])
    return { deviceId: await deviceIdFromRaw(fromBase64Url(file.publicKey)), publicKey: file.publicKey, privateKey }
  }
  const { key, pkcs8 } = await generateDeviceKey()
  const file: KeyFile = { version: 1, deviceId: key.deviceId, publicKey: key.publicKey, privateKey: toBase64Url(pkcs8), createdAtMs: Date.now() }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
  return key
}

export interface SignConnectInput {
  /** The nonce of the server's connect.challenge. */
  nonce: string
  clientId: string
  clientMode: string
  role: string
  scopes: readonly string[]
  /** The token field of the payload: `auth.token ?? auth.deviceToken ?? auth.bootstrapToken ?? ""`. */
  token?: string
  platform?: string
  deviceFamily?: string
  /** Default now. */
  signedAtMs?: number
  /** Default v3; v2 is what older protocol-3 clients send. */
  version?: DevicePayloadVersion
}

/** Signs the connect payload and returns the `device` block for ConnectParams. */
export async function signConnect(key: DeviceKey, input: SignConnectInput): Promise<DeviceBlock> {
  const signedAt = input.signedAtMs ?? Date.now()
  const payload = buildDevicePayload(input.version ?? "v3", {
    deviceId: key.deviceId,
    clientId: input.clientId,
    clientMode: input.clientMode,
    role: input.role,
    scopes: input.scopes,
    signedAtMs: signedAt,
    token: input.token ?? "",
    nonce: input.nonce,
    platform: input.platform,
    deviceFamily: input.deviceFamily,
  })
  const sig = new Uint8Array(await crypto.subtle.sign("Ed25519", key.privateKey, new TextEncoder().encode(payload)))
  return { id: key.deviceId, publicKey: key.publicKey, signature: toBase64Url(sig), signedAt, nonce: input.nonce }
}
