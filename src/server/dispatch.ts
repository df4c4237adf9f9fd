/** After hello: validates a request frame, checks scope, runs the handler, shapes the reply. Never touches sockets. */
import { METHODS, GatewayError, RequestFrame, describeIssues, errRes, hasScope, okRes, type ResponseFrame } from "../protocol/index.ts"
import { handlers, isMethodName, type MethodContext } from "../methods/index.ts"
import type { Logger } from "../util/log.ts"

/**
 * Returns the response frame, or undefined when the frame deserves no reply (a stray cancel).
 * `frame` is already-parsed JSON.
 */
export async function dispatch(frame: unknown, ctx: MethodContext, log: Logger): Promise<ResponseFrame | undefined> {
  const req = RequestFrame.safeParse(frame)
  if (!req.success) {
    if (typeof frame === "object" && frame !== null && (frame as { type?: unknown }).type === "cancel") return undefined
    const rawId = typeof frame === "object" && frame !== null ? (frame as { id?: unknown }).id : undefined
    const id = typeof rawId === "string" && rawId ? rawId : "invalid"
    return errRes(id, new GatewayError("INVALID_REQUEST", `invalid request frame: ${describeIssues(req.error)}`))
  }
  const { id, method, params } = req.data

  if (method === "connect") return errRes(id, new GatewayError("INVALID_REQUEST", "already connected: connect is only valid as the first frame"))
  if (!isMethodName(method)) {
    // Named back to the client, but bounded: a 750 KB method name must not come back as a 750 KB error.
    const shown = method.length > 120 ? `${method.slice(0, 120)}… (${method.length} characters)` : method
    return errRes(id, new GatewayError("INVALID_REQUEST", `unknown method: ${shown}`))
  }

  const def = METHODS[method]
  if (def.scope !== null && !hasScope(ctx.caller.scopes, def.scope)) {
    return errRes(
      id,
      new GatewayError("FORBIDDEN", `missing scope: ${def.scope}`, { code: "MISSING_SCOPE", missingScope: def.scope, requiredScopes: [def.scope] }),
    )
  }

  const parsed = def.params.safeParse(params)
  if (!parsed.success) return errRes(id, new GatewayError("INVALID_REQUEST", `invalid ${method} params: ${describeIssues(parsed.error)}`))

  try {
    const handler = handlers[method] as (p: unknown, c: MethodContext) => unknown
    const payload = await handler(parsed.data, ctx)
    return okRes(id, payload)
  } catch (err) {
    if (err instanceof GatewayError) return errRes(id, err)
    log.error(`method ${method} failed`, { error: (err as Error)?.stack ?? String(err), connId: ctx.caller.connId })
    return errRes(id, new GatewayError("UNAVAILABLE", `${method} failed: ${(err as Error)?.message ?? String(err)}`))
  }
}
