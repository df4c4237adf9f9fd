/** Bearer authentication for the HTTP APIs on the gateway port: the same shared secret as WebSocket clients. */
import type { Context, MiddlewareHandler } from "hono"
import type { ResolvedAuth } from "../config/auth.ts"
import { secretEquals } from "./handshake.ts"

export function bearerAuth(auth: () => ResolvedAuth): MiddlewareHandler {
  return async (c: Context, next) => {
    const a = auth()
    if (a.mode !== "none") {
      const header = c.req.header("authorization") ?? ""
      const given = header.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : ""
      const expected = a.mode === "token" ? a.token! : a.password!
      if (!given || !secretEquals(given, expected)) {
        return c.json(
          { error: { message: "missing or wrong bearer token (Authorization: Bearer <gateway token>)", type: "invalid_request_error", code: "unauthorized" } },
          401,
        )
      }
    }
    await next()
  }
}
