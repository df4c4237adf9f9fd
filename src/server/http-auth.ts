/**
 * Bearer authentication for the HTTP APIs on the gateway port: the same shared secret as WebSocket clients, and the
 * same per-address failure limiter (an address locked out on one is locked out on the other).
 */
import type { Context, MiddlewareHandler } from "hono"
import type { ResolvedAuth } from "../config/auth.ts"
import type { Config } from "../config/schema.ts"
import type { AuthRateLimiter } from "./auth-rate-limit.ts"
import { proxyIdentity } from "./exposure.ts"
import { secretEquals } from "./handshake.ts"

/** What Bun.serve hands the Hono app with each request (server/index.ts). */
export interface HttpBindings {
  remoteAddress?: string
}

export function remoteAddressOf(c: Context): string {
  return (c.env as HttpBindings | undefined)?.remoteAddress ?? "unknown"
}

export function bearerAuth(auth: () => ResolvedAuth, limiter: AuthRateLimiter, gateway?: () => Config["gateway"]): MiddlewareHandler {
  return async (c: Context, next) => {
    const a = auth()
    if (a.mode === "trusted-proxy") {
      // No bearer token: the request must come through the proxy, which names the user it authenticated.
      const check = gateway ? proxyIdentity(c.req.raw.headers, remoteAddressOf(c), gateway()) : undefined
      if (!check?.ok) {
        const message = check?.message ?? "trusted-proxy auth is not available here"
        return c.json({ error: { message, type: "invalid_request_error", code: "unauthorized" } }, check?.status ?? 401)
      }
    } else if (a.mode !== "none") {
      const addr = remoteAddressOf(c)
      const wait = limiter.retryAfter(addr)
      if (wait > 0) {
        c.header("Retry-After", String(Math.ceil(wait / 1000)))
        return c.json(
          {
            error: {
              message: `too many failed authentication attempts from ${addr}; retry in ${Math.ceil(wait / 1000)} s`,
              type: "rate_limit_error",
              code: "rate_limited",
            },
          },
          429,
        )
      }
      const header = c.req.header("authorization") ?? ""
      const given = header.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : ""
      const expected = a.mode === "token" ? a.token! : a.password!
      if (!given || !secretEquals(given, expected)) {
        limiter.recordFailure(addr)
        return c.json(
          { error: { message: "missing or wrong bearer token (Authorization: Bearer <gateway token>)", type: "invalid_request_error", code: "unauthorized" } },
          401,
        )
      }
      limiter.recordSuccess(addr)
    }
    await next()
  }
}
