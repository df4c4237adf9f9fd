/**
 * Verifies a connect's `device` block (OpenClaw §7): the Ed25519 public key (base64url raw 32 bytes or PEM SPKI),
 * device id = hex SHA-256 of the raw key, signedAt within ±2 min, the challenge nonce, and the signature over the v3
 * payload (or the legacy v2 one). Pure: WebCrypto only, no store, no sockets. Each failure carries OpenClaw's
 * message and `details.code`; the handshake sends it as INVALID_REQUEST and closes 1008.
 */
import { buildDevicePayload, deviceIdFromRaw, fromBase64Url, payloadToken } from "./device-payload.ts"

/** How far signedAt may be from the gateway's clock. */
export const DEVICE_SIGNATURE_SKEW_MS = 2 * 60_000

/** The SPKI DER header of an Ed25519 public key; the raw 32 bytes follow it. */
const SPKI_ED25519_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])

export type DeviceFailureCode =
  | "DEVICE_AUTH_INVALID"
  | "DEVICE_AUTH_DEVICE_ID_MISMATCH"
  | "DEVICE_AUTH_SIGNATURE_EXPIRED"
  | "DEVICE_AUTH_NONCE_REQUIRED"
  | "DEVICE_AUTH_NONCE_MISMATCH"
  | "DEVICE_AUTH_SIGNATURE_INVALID"
  | "DEVICE_AUTH_PUBLIC_KEY_INVALID"

export interface DeviceFailure {
  ok: false
  code: DeviceFailureCode
  message: string
}

export interface VerifiedDevice {
  ok: true
  deviceId: string
  /** base64url raw public key (normalised from PEM when it came as PEM). */
  publicKey: string
  signedAt: number
  payloadVersion: "v3" | "v2"
}

export interface DeviceBlockInput {
  id: string
  publicKey: string
  signature: string
  signedAt: number
  nonce?: string
}

export interface DeviceConnectContext {
  /** The nonce sent in this connection's connect.challenge. */
  challengeNonce: string
  client: { id: string; mode: string; platform?: string; deviceFamily?: string }
  role: string
  /** The scopes as requested in ConnectParams (signed as sent, in order). */
  scopes: readonly string[]
  auth?: { token?: string; deviceToken?: string; bootstrapToken?: string; password?: string }
  now?: number
}

const MESSAGES: Record<DeviceFailureCode, string> = {
  DEVICE_AUTH_INVALID: "device identity invalid",
  DEVICE_AUTH_DEVICE_ID_MISMATCH: "device identity mismatch",
  DEVICE_AUTH_SIGNATURE_EXPIRED: "device signature expired",
  DEVICE_AUTH_NONCE_REQUIRED: "device nonce required",
  DEVICE_AUTH_NONCE_MISMATCH: "device nonce mismatch",
  DEVICE_AUTH_SIGNATURE_INVALID: "device signature invalid",
  DEVICE_AUTH_PUBLIC_KEY_INVALID: "device public key invalid",
}

function fail(code: DeviceFailureCode): DeviceFailure {
  return { ok: false, code, message: MESSAGES[code] }
}

/** The raw 32 key bytes from base64url (or base64) raw, or from a PEM "PUBLIC KEY" (SPKI), else undefined. */
export function rawPublicKey(text: string): Uint8Array<ArrayBuffer> | undefined {
  const trimmed = text.trim()
  if (trimmed.startsWith("-----BEGIN")) {
    const m = /^-----BEGIN PUBLIC KEY-----([\s\S]+?)-----END PUBLIC KEY-----$/.exec(trimmed)
    if (!m) return undefined
    const der = new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"))
    if (der.length !== SPKI_ED25519_PREFIX.length + 32) return undefined
    for (let i = 0; i < SPKI_ED25519_PREFIX.length; i++) if (der[i] !== SPKI_ED25519_PREFIX[i]) return undefined
    return der.slice(SPKI_ED25519_PREFIX.length)
  }
  if (!/^[A-Za-z0-9_\-+/]+={0,2}$/.test(trimmed)) return undefined
  const raw = fromBase64Url(trimmed.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""))
  return raw.length === 32 ? raw : undefined
}

/** The device id a public key (raw or PEM) stands for, or undefined when the key is not an Ed25519 key. */
export async function deviceIdForPublicKey(publicKey: string): Promise<string | undefined> {
  const raw = rawPublicKey(publicKey)
  return raw ? deviceIdFromRaw(raw) : undefined
}

/** Checks a device block against this connection's challenge; never throws. */
export async function verifyDeviceIdentity(device: DeviceBlockInput, ctx: DeviceConnectContext): Promise<VerifiedDevice | DeviceFailure> {
  if (!device.id || !device.publicKey || !device.signature) return fail("DEVICE_AUTH_INVALID")
  const raw = rawPublicKey(device.publicKey)
  if (!raw) return fail("DEVICE_AUTH_PUBLIC_KEY_INVALID")
  let key: CryptoKey
  try {
    key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"])
  } catch {
    return fail("DEVICE_AUTH_PUBLIC_KEY_INVALID")
  }
  const deviceId = await deviceIdFromRaw(raw)
  if (device.id !== deviceId) return fail("DEVICE_AUTH_DEVICE_ID_MISMATCH")
  const now = ctx.now ?? Date.now()
  if (!Number.isFinite(device.signedAt) || Math.abs(now - device.signedAt) > DEVICE_SIGNATURE_SKEW_MS) return fail("DEVICE_AUTH_SIGNATURE_EXPIRED")
  if (!device.nonce) return fail("DEVICE_AUTH_NONCE_REQUIRED")
  if (device.nonce !== ctx.challengeNonce) return fail("DEVICE_AUTH_NONCE_MISMATCH")
  let signature: Uint8Array<ArrayBuffer>
  try {
    signature = fromBase64Url(device.signature.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""))
  } catch {
    return fail("DEVICE_AUTH_SIGNATURE_INVALID")
  }
  if (signature.length !== 64) return fail("DEVICE_AUTH_SIGNATURE_INVALID")
  const fields = {
    deviceId,
    clientId: ctx.client.id,
    clientMode: ctx.client.mode,
    role: ctx.role,
    scopes: ctx.scopes,
    signedAtMs: device.signedAt,
    token: payloadToken(ctx.auth),
    nonce: device.nonce,
    platform: ctx.client.platform,
    deviceFamily: ctx.client.deviceFamily,
  }
  // v3 first, as OpenClaw does; v2 is what protocol-3 clients still sign.
  for (const version of ["v3", "v2"] as const) {
    const payload = new TextEncoder().encode(buildDevicePayload(version, fields))
    if (await crypto.subtle.verify("Ed25519", key, signature, payload)) {
      return { ok: true, deviceId, publicKey: Buffer.from(raw).toString("base64url"), signedAt: device.signedAt, payloadVersion: version }
    }
  }
  return fail("DEVICE_AUTH_SIGNATURE_INVALID")
}
