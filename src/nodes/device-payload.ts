/**
 * The text a device signs at connect (OpenClaw §7), shared by the signer (client, node host) and the verifier (gateway).
 * Pure and dependency-free so the client path stays light.
 */

export type DevicePayloadVersion = "v3" | "v2"

export interface DevicePayloadFields {
  deviceId: string
  clientId: string
  clientMode: string
  role: string
  scopes: readonly string[]
  signedAtMs: number
  /** `auth.token ?? auth.deviceToken ?? auth.bootstrapToken ?? ""`, see `payloadToken`. */
  token: string
  nonce: string
  platform?: string
  deviceFamily?: string
}

/** v3 lower-cases platform and device family (ASCII only, trimmed) so "Linux" and "linux" sign the same text. */
function normalizeMeta(value: string | undefined): string {
  return (value ?? "").trim().replace(/[A-Z]/g, (c) => c.toLowerCase())
}

/** `v3|deviceId|clientId|mode|role|scopes|signedAtMs|token|nonce|platform|deviceFamily`, or v2 without the last two. */
export function buildDevicePayload(version: DevicePayloadVersion, f: DevicePayloadFields): string {
  const base = [version, f.deviceId, f.clientId, f.clientMode, f.role, f.scopes.join(","), String(f.signedAtMs), f.token, f.nonce]
  if (version === "v2") return base.join("|")
  return [...base, normalizeMeta(f.platform), normalizeMeta(f.deviceFamily)].join("|")
}

/** The token field of the payload: the first secret the client sends, as OpenClaw picks it. */
export function payloadToken(auth: { token?: string; deviceToken?: string; bootstrapToken?: string; password?: string } | undefined): string {
  return auth?.token ?? auth?.deviceToken ?? auth?.bootstrapToken ?? ""
}

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url")
}

export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(text, "base64url"))
}

/** Hex SHA-256 of the raw 32-byte public key: the device id. */
export async function deviceIdFromRaw(raw: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw))
  return Buffer.from(digest).toString("hex")
}
