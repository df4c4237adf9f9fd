/**
 * Device pairing (OpenClaw §7): decides whether a connect that carries a `device` block is admitted, and serves the
 * device.pair.* / device.token.* methods. The handshake asks `admit` after the shared-secret check; a paired device
 * may instead authenticate with its own token (hashed at rest, compared in constant time). Unknown devices from
 * remote addresses wait for an operator (NOT_PAIRED / PAIRING_REQUIRED + device.pair.requested); loopback clients
 * holding the shared secret are approved silently. Other rooms (nodes) use `isPaired` and `verifyDeviceIdentity`.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import type { Bus } from "../bus/index.ts"
import { GatewayError } from "../protocol/core.ts"
import type { PairedDevice } from "../protocol/methods/devices.ts"
import { hasScope, type Scope } from "../protocol/scopes.ts"
import type { DeviceRepo, DeviceRow, PairRequestRow } from "../store/devices.ts"
import type { Logger } from "../util/log.ts"
import { DeviceAccessRevoked, DevicePairRequested, DevicePairResolved } from "./device-events.ts"
import { verifyDeviceIdentity, type DeviceBlockInput } from "./device-identity.ts"

export { verifyDeviceIdentity } from "./device-identity.ts"

/** WebSocket close code for policy failures (auth, device, pairing). */
const POLICY_CLOSE = 1008

export interface AdmitInput {
  /** ConnectParams.device as sent (signature may be absent: then it is no device at all). */
  device?: Partial<DeviceBlockInput> & { id?: string }
  challengeNonce: string
  client: { id: string; mode: string; displayName?: string; platform?: string; deviceFamily?: string }
  role: string
  /** The scopes as sent in ConnectParams (what the device signed). */
  signedScopes: readonly string[]
  /** The scopes the handshake would grant a shared-secret holder (known operator scopes; none for nodes). */
  scopes: string[]
  auth?: { token?: string; password?: string; deviceToken?: string; bootstrapToken?: string }
  /** The shared secret (or auth mode none) admitted the client. */
  sharedSecret: boolean
  /** Why the shared-secret check failed, returned when nothing else authenticates the client. */
  authError?: GatewayError
  remoteAddress: string
  loopback: boolean
}

export type AdmitResult =
  | { ok: true; deviceId?: string; scopes: string[]; deviceToken?: string; issuedAtMs?: number }
  | { ok: false; error: GatewayError; closeCode: number /** counts against the auth rate limit */; authFailed: boolean }

/** SHA-256 hex of a device token: the only form that is stored. */
export function hashDeviceToken(token: string): string {
  return createHash("sha256").update(token).digest("hex")
}

function hashEquals(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex")
  const y = Buffer.from(b, "hex")
  return x.length === y.length && timingSafeEqual(x, y)
}

const subset = (wanted: readonly string[], granted: readonly string[]) => wanted.every((s) => granted.includes(s))

function refuse(error: GatewayError, authFailed = false): AdmitResult {
  return { ok: false, error, closeCode: POLICY_CLOSE, authFailed }
}

function deviceTokenMismatch(): GatewayError {
  return new GatewayError("INVALID_REQUEST", "unauthorized: device token mismatch (rotate/reissue device token)", {
    code: "AUTH_DEVICE_TOKEN_MISMATCH",
    authReason: "device_token_mismatch",
    canRetryWithDeviceToken: false,
    recommendedNextStep: "update_auth_credentials",
  })
}

const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v)

/** Who approves a request or rotates a token: the calling connection's scopes and device. */
export interface DeviceGrantor {
  scopes: readonly string[]
  deviceId?: string
}

/** Refuses with MISSING_SCOPE when `wanted` holds a scope the caller does not (operator.admin holds them all). */
function requireGrantable(wanted: readonly string[], caller: DeviceGrantor, action: string): void {
  const missing = wanted.filter((s) => !hasScope(caller.scopes, s as Scope))
  if (!missing.length) return
  throw new GatewayError("FORBIDDEN", `missing scope: ${missing.join(", ")} (a caller may grant only scopes it holds; cannot ${action})`, {
    code: "MISSING_SCOPE",
    missingScope: missing[0],
    requiredScopes: missing,
  })
}

export class DeviceService {
  constructor(
    private repo: DeviceRepo,
    private bus: Bus,
    private log?: Logger,
  ) {}

  /** Whether the device is paired (for `role`, when given). */
  isPaired(deviceId: string, role?: string): boolean {
    const d = this.repo.get(deviceId)
    return !!d && (!role || d.roles.includes(role))
  }

  async admit(input: AdmitInput): Promise<AdmitResult> {
    const dev = input.device
    // A block without a signature proves nothing: a shared-secret holder is treated as having sent no device.
    if (!dev?.signature) {
      if (input.sharedSecret) return { ok: true, scopes: input.scopes }
      return refuse(input.authError ?? new GatewayError("NOT_PAIRED", "device identity required", { code: "DEVICE_IDENTITY_REQUIRED" }), true)
    }
    const verified = await verifyDeviceIdentity(
      { id: dev.id ?? "", publicKey: dev.publicKey ?? "", signature: dev.signature, signedAt: dev.signedAt ?? Number.NaN, nonce: dev.nonce },
      {
        challengeNonce: input.challengeNonce,
        client: input.client,
        role: input.role,
        scopes: input.signedScopes,
        auth: input.auth,
      },
    )
    // Without the shared secret a bad signature is a failed authentication (rate limited like a wrong token).
    if (!verified.ok) return refuse(new GatewayError("INVALID_REQUEST", verified.message, { code: verified.code }), !input.sharedSecret)
    const deviceId = verified.deviceId
    const paired = this.repo.get(deviceId)

    // Authentication: the shared secret, or this device's own token for this role.
    let presented: string | undefined
    let tokenRow = undefined as ReturnType<DeviceRepo["tokenFor"]>
    if (!input.sharedSecret) {
      presented = input.auth?.deviceToken ?? input.auth?.token
      tokenRow = paired ? this.repo.tokenFor(deviceId, input.role) : undefined
      if (!presented || !tokenRow || !hashEquals(hashDeviceToken(presented), tokenRow.tokenHash)) {
        return refuse(input.authError && !presented ? input.authError : deviceTokenMismatch(), true)
      }
    }

    // Pairing: what this connect asks for must have been approved (a token holder: within its token's scopes).
    const approvedScopes = tokenRow ? tokenRow.scopes : (paired?.scopes ?? [])
    const reason = !paired
      ? "not-paired"
      : !paired.roles.includes(input.role)
        ? "role-upgrade"
        : !subset(input.scopes, approvedScopes)
          ? "scope-upgrade"
          : undefined
    if (reason) {
      const request = {
        deviceId,
        publicKey: verified.publicKey,
        displayName: input.client.displayName ?? null,
        platform: input.client.platform ?? null,
        deviceFamily: input.client.deviceFamily ?? null,
        clientId: input.client.id,
        clientMode: input.client.mode,
        role: input.role,
        scopes: input.scopes,
        remoteIp: input.remoteAddress,
        reason,
      }
      if (input.loopback && input.sharedSecret) {
        // Silent local approval: the shared secret on this machine already grants everything.
        const { reason: _reason, role, ...fields } = request
        this.repo.approve({ ...fields, roles: [role] })
        this.log?.info("device approved (loopback with the shared secret)", { deviceId, role: input.role })
      } else {
        const { row, created } = this.repo.upsertPending({ ...request, requestId: crypto.randomUUID() })
        if (created) this.bus.publish(DevicePairRequested, this.requestView(row))
        this.log?.info("device pairing required", { deviceId, requestId: row.requestId, reason, remoteAddress: input.remoteAddress })
        return refuse(
          new GatewayError("NOT_PAIRED", `pairing required: ${reason === "not-paired" ? "device is not approved yet" : reason}`, {
            code: "PAIRING_REQUIRED",
            reason,
            requestId: row.requestId,
            deviceId,
            requestedRole: input.role,
            requestedScopes: input.scopes,
            recommendedNextStep: "wait_then_retry",
          }),
        )
      }
    }

    this.repo.seen(deviceId, input.remoteAddress)
    if (presented && tokenRow) {
      this.repo.tokenUsed(deviceId, input.role)
      return { ok: true, deviceId, scopes: input.scopes, deviceToken: presented, issuedAtMs: tokenRow.issuedAt }
    }
    // Authenticated by the shared secret: hand the device a fresh token of its own for this role (only its hash is
    // kept, so a token can be shown only when it is issued).
    const device = this.repo.get(deviceId)!
    const issued = this.issue(deviceId, input.role, input.role === "operator" ? device.scopes : [])
    return { ok: true, deviceId, scopes: input.scopes, deviceToken: issued.token, issuedAtMs: issued.issuedAt }
  }

  private issue(deviceId: string, role: string, scopes: string[]): { token: string; issuedAt: number } {
    const token = randomBytes(32).toString("base64url")
    const row = this.repo.putToken(deviceId, role, hashDeviceToken(token), scopes)
    return { token, issuedAt: row.issuedAt }
  }

  // ---- methods --------------------------------------------------------------------------------------------------

  list(): { pending: ReturnType<DeviceService["requestView"]>[]; paired: PairedDevice[] } {
    return { pending: this.repo.pending().map((r) => this.requestView(r)), paired: this.repo.paired().map((d) => this.deviceView(d)) }
  }

  /**
   * Approves a pending request on behalf of `caller`. The caller may grant only scopes it holds itself (admin grants
   * anything), and a device may not approve its own request: otherwise a pairing-scoped device could reconnect asking
   * for admin and approve that upgrade from the connection it already has.
   */
  approve(requestId: string, caller: DeviceGrantor): { requestId: string; device: PairedDevice } {
    const pending = this.repo.getRequest(requestId)
    if (pending?.status === "pending") {
      if (caller.deviceId && caller.deviceId === pending.deviceId) {
        throw new GatewayError("FORBIDDEN", "a device cannot approve its own pairing request; approve it from another operator", {
          code: "SELF_APPROVAL",
          deviceId: pending.deviceId,
        })
      }
      requireGrantable(pending.scopes, caller, "approve this request")
    }
    const req = this.repo.decide(requestId, "approved")
    if (!req) throw new GatewayError("INVALID_REQUEST", `unknown requestId: ${requestId} (see device.pair.list)`, { code: "UNKNOWN_REQUEST" })
    const device = this.repo.approve({
      deviceId: req.deviceId,
      publicKey: req.publicKey,
      displayName: req.displayName,
      platform: req.platform,
      deviceFamily: req.deviceFamily,
      clientId: req.clientId,
      clientMode: req.clientMode,
      roles: [req.role],
      scopes: req.scopes,
      remoteIp: req.remoteIp,
    })
    this.bus.publish(DevicePairResolved, { requestId, deviceId: req.deviceId, decision: "approved", ts: Date.now() })
    return { requestId, device: this.deviceView(device) }
  }

  reject(requestId: string): { requestId: string; deviceId: string } {
    const req = this.repo.decide(requestId, "rejected")
    if (!req) throw new GatewayError("INVALID_REQUEST", `unknown requestId: ${requestId} (see device.pair.list)`, { code: "UNKNOWN_REQUEST" })
    this.bus.publish(DevicePairResolved, { requestId, deviceId: req.deviceId, decision: "rejected", ts: Date.now() })
    return { requestId, deviceId: req.deviceId }
  }

  remove(deviceId: string): { deviceId: string; removedAtMs: number } {
    if (!this.repo.remove(deviceId)) throw this.unknownDevice(deviceId)
    this.bus.publish(DeviceAccessRevoked, { deviceId, reason: "removed" })
    return { deviceId, removedAtMs: Date.now() }
  }

  rename(deviceId: string, displayName: string): { deviceId: string; displayName: string } {
    if (!this.repo.rename(deviceId, displayName)) throw this.unknownDevice(deviceId)
    return { deviceId, displayName }
  }

  /**
   * A new token for (device, role), replacing the old one; scopes default to the device's approved scopes. The token
   * may carry only scopes the caller holds itself (admin: any), so rotate cannot mint more than its caller has.
   */
  rotate(deviceId: string, role: string, scopes: string[] | undefined, caller: DeviceGrantor) {
    const device = this.repo.get(deviceId)
    if (!device) throw this.unknownDevice(deviceId)
    if (!device.roles.includes(role)) {
      throw new GatewayError("INVALID_REQUEST", `device ${deviceId} is not approved for role ${role} (approved: ${device.roles.join(", ") || "none"})`)
    }
    const granted = role === "operator" ? device.scopes : []
    const wanted = scopes ?? granted
    const beyond = wanted.filter((s) => !granted.includes(s))
    if (beyond.length) throw new GatewayError("INVALID_REQUEST", `scopes not approved for this device: ${beyond.join(", ")}`)
    requireGrantable(wanted, caller, `issue a token with scopes ${wanted.join(", ")} (pass narrower scopes)`)
    const issued = this.issue(deviceId, role, wanted)
    this.bus.publish(DeviceAccessRevoked, { deviceId, role, reason: "rotated" })
    return { deviceId, role, token: issued.token, scopes: wanted, rotatedAtMs: issued.issuedAt }
  }

  revoke(deviceId: string, role: string): { deviceId: string; role: string; revokedAtMs: number } {
    if (!this.repo.get(deviceId)) throw this.unknownDevice(deviceId)
    if (!this.repo.revokeToken(deviceId, role)) throw new GatewayError("INVALID_REQUEST", `device ${deviceId} has no token for role ${role}`)
    this.bus.publish(DeviceAccessRevoked, { deviceId, role, reason: "revoked" })
    return { deviceId, role, revokedAtMs: Date.now() }
  }

  private unknownDevice(deviceId: string): GatewayError {
    return new GatewayError("INVALID_REQUEST", `unknown deviceId: ${deviceId} (see device.pair.list)`, { code: "UNKNOWN_DEVICE" })
  }

  private requestView(r: PairRequestRow) {
    return {
      requestId: r.requestId,
      deviceId: r.deviceId,
      publicKey: r.publicKey,
      displayName: opt(r.displayName),
      platform: opt(r.platform),
      clientId: opt(r.clientId),
      clientMode: opt(r.clientMode),
      role: r.role,
      scopes: r.scopes,
      remoteIp: opt(r.remoteIp),
      reason: r.reason,
      ts: r.createdAt,
    }
  }

  private deviceView(d: DeviceRow): PairedDevice {
    return {
      deviceId: d.deviceId,
      publicKey: d.publicKey,
      displayName: opt(d.displayName),
      platform: opt(d.platform),
      clientId: opt(d.clientId),
      clientMode: opt(d.clientMode),
      roles: d.roles,
      scopes: d.scopes,
      remoteIp: opt(d.remoteIp),
      tokens: this.repo.tokens(d.deviceId).map((t) => ({ role: t.role, scopes: t.scopes, createdAtMs: t.issuedAt, lastUsedAtMs: opt(t.lastUsedAt) })),
      createdAtMs: d.createdAt,
      approvedAtMs: d.approvedAt,
      lastSeenAtMs: opt(d.lastSeenAt),
    }
  }
}
