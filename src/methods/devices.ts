/** device.pair.* and device.token.* (OpenClaw §7): thin handlers over nodes/devices.ts. */
import { GatewayError } from "../protocol/index.ts"
import { hasScope } from "../protocol/scopes.ts"
import type { PartialHandlers } from "./registry.ts"

export const devicesHandlers = {
  "device.pair.list": (_p, ctx) => ctx.gw.devices.list(),
  "device.pair.approve": (p, ctx) => ctx.gw.devices.approve(p.requestId, ctx.caller),
  "device.pair.reject": (p, ctx) => ctx.gw.devices.reject(p.requestId),
  "device.pair.remove": (p, ctx) => ctx.gw.devices.remove(p.deviceId),
  "device.pair.rename": (p, ctx) => ctx.gw.devices.rename(p.deviceId, p.displayName),
  "device.token.rotate": (p, ctx) => {
    requireAdminForNonOperator(p.role, ctx.caller.scopes)
    return ctx.gw.devices.rotate(p.deviceId, p.role, p.scopes, ctx.caller)
  },
  "device.token.revoke": (p, ctx) => {
    requireAdminForNonOperator(p.role, ctx.caller.scopes)
    return ctx.gw.devices.revoke(p.deviceId, p.role)
  },
} satisfies PartialHandlers

/** OpenClaw: tokens of non-operator roles (nodes) are managed with operator.admin, not just operator.pairing. */
function requireAdminForNonOperator(role: string, scopes: readonly string[]): void {
  if (role === "operator" || hasScope(scopes, "operator.admin")) return
  throw new GatewayError("FORBIDDEN", "missing scope: operator.admin", {
    code: "MISSING_SCOPE",
    missingScope: "operator.admin",
    requiredScopes: ["operator.admin"],
  })
}
