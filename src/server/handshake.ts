/**
 * The connect handshake, in OpenClaw's order: params → protocol range → role → rate limit → shared secret → scopes.
 * Pure decision logic: returns the reply and the close code; the socket glue sends them.
 */
import { timingSafeEqual, createHash } from "node:crypto"
import type { ResolvedAuth } from "../config/auth.ts"
import {
  CloseCode,
  ConnectParams,
  GatewayError,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  Role,
  describeIssues,
  isScope,
  type ClientInfo,
  type Scope,
} from "../protocol/index.ts"
import type { AuthRateLimiter } from "./auth-rate-limit.ts"
import type { ProxyIdentity } from "./exposure.ts"

export interface HandshakeAccepted {
  ok: true
  protocol: number
  role: Role
  scopes: Scope[]
  client: ClientInfo
  caps: string[]
  authMethod: ResolvedAuth["mode"]
  /** The parsed params (the device step reads device, auth and the scopes as signed). */
  params: ConnectParams
  /** The shared secret admitted the client; false only when a signed device may still authenticate with its token. */
  sharedSecret: boolean
  /** Why the shared secret did not admit the client (returned if the device token does not either). */
  authError?: GatewayError
}

export interface HandshakeRejected {
  ok: false
  error: GatewayError
  closeCode: number
}

export type HandshakeResult = HandshakeAccepted | HandshakeRejected

/** Constant-time comparison that also hides the secret's length (both sides are hashed first). */
export function secretEquals(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest()
  const b = createHash("sha256").update(expected).digest()
  return timingSafeEqual(a, b)
}

function reject(error: GatewayError, closeCode: number = CloseCode.policyViolation): HandshakeRejected {
  return { ok: false, error, closeCode }
}

function authFailure(code: string, message: string, reason: string): GatewayError {
  return new GatewayError("INVALID_REQUEST", message, {
    code,
    authReason: reason,
    canRetryWithDeviceToken: false,
    recommendedNextStep: "update_auth_credentials",
  })
}

/** Highest protocol both sides speak, or undefined. */
export function negotiateProtocol(min: number, max: number): number | undefined {
  for (let v = PROTOCOL_VERSION; v >= MIN_PROTOCOL_VERSION; v--) if (min <= v && v <= max) return v
  return undefined
}

export function checkAuth(auth: ResolvedAuth, given: { token?: string; password?: string } | undefined, proxy?: ProxyIdentity): GatewayError | undefined {
  if (auth.mode === "none") return undefined
  // The proxy authenticated the user; the upgrade was refused unless it came from gateway.trustedProxies.
  if (auth.mode === "trusted-proxy") {
    return proxy ? undefined : authFailure("AUTH_TRUSTED_PROXY_MISSING", "unauthorized: connect through the trusted proxy", "trusted_proxy_missing")
  }
  // Either wire field may carry the shared secret (OpenClaw accepts both).
  const supplied = given?.token ?? given?.password
  if (auth.mode === "token") {
    if (!supplied) return authFailure("AUTH_TOKEN_MISSING", "unauthorized: gateway token missing (set auth.token in connect params)", "token_missing")
    if (!secretEquals(supplied, auth.token!)) {
      return authFailure("AUTH_TOKEN_MISMATCH", "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token)", "token_mismatch")
    }
    return undefined
  }
  const pw = given?.password ?? given?.token
  if (!pw) return authFailure("AUTH_PASSWORD_MISSING", "unauthorized: gateway password missing (set auth.password in connect params)", "password_missing")
  if (!secretEquals(pw, auth.password!)) {
    return authFailure("AUTH_PASSWORD_MISMATCH", "unauthorized: gateway password mismatch (use this gateway's gateway.auth.password)", "password_mismatch")
  }
  return undefined
}

export function runHandshake(
  rawParams: unknown,
  ctx: { auth: ResolvedAuth; remoteAddress: string; limiter: AuthRateLimiter; proxy?: ProxyIdentity },
): HandshakeResult {
  const parsed = ConnectParams.safeParse(rawParams ?? {})
  if (!parsed.success) {
    return reject(new GatewayError("INVALID_REQUEST", `invalid connect params: ${describeIssues(parsed.error)}`))
  }
  const params = parsed.data

  const protocol = negotiateProtocol(params.minProtocol, params.maxProtocol)
  if (protocol === undefined) {
    return reject(
      new GatewayError("INVALID_REQUEST", "protocol mismatch", {
        code: "PROTOCOL_MISMATCH",
        clientMinProtocol: params.minProtocol,
        clientMaxProtocol: params.maxProtocol,
        expectedProtocol: PROTOCOL_VERSION,
        minimumProbeProtocol: MIN_PROTOCOL_VERSION,
      }),
      CloseCode.protocolError,
    )
  }

  const role = Role.safeParse(params.role ?? "operator")
  if (!role.success) return reject(new GatewayError("INVALID_REQUEST", `unauthorized role: ${params.role}`))

  const wait = ctx.limiter.retryAfter(ctx.remoteAddress)
  if (wait > 0) {
    return reject(
      new GatewayError(
        "INVALID_REQUEST",
        `unauthorized: too many failed authentication attempts; retry in ${Math.ceil(wait / 1000)}s`,
        { code: "AUTH_RATE_LIMITED", authReason: "rate_limited", recommendedNextStep: "wait_then_retry", retryAfterMs: wait },
        { retryable: true, retryAfterMs: wait },
      ),
    )
  }

  const authError = checkAuth(ctx.auth, params.auth, ctx.proxy)
  // A signed device may authenticate with its own device token instead; nodes/devices.ts decides after checking its
  // signature, and records the outcome with the rate limiter.
  const deviceMayAuth = !!authError && !!params.device?.signature && !!(params.auth?.deviceToken ?? params.auth?.token)
  if (authError && !deviceMayAuth) {
    ctx.limiter.recordFailure(ctx.remoteAddress)
    return reject(authError)
  }
  if (!authError) ctx.limiter.recordSuccess(ctx.remoteAddress)

  // A shared-secret holder is fully trusted, so an operator gets the scopes it asks for (unknown ones dropped).
  // Nodes get none: they speak node.* methods, not the operator surface.
  // Behind a trusted proxy, x-openclaw-scopes narrows what may be asked for.
  const grantable = (s: Scope) => !ctx.proxy?.scopes || ctx.proxy.scopes.includes(s)
  const scopes = role.data === "operator" ? [...new Set((params.scopes ?? []).filter(isScope).filter(grantable))] : []

  return {
    ok: true,
    protocol,
    role: role.data,
    scopes,
    client: params.client,
    caps: params.caps ?? [],
    authMethod: ctx.auth.mode,
    params,
    sharedSecret: !authError,
    ...(authError ? { authError } : {}),
  }
}
