/**
 * Device pairing methods and events (OpenClaw's names and shapes, §7): pending requests and paired devices,
 * approve / reject / remove / rename, and per-role device tokens (rotate returns the new token once; revoke drops it).
 * All need operator.pairing, as in OpenClaw.
 */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { method, NoParams } from "./define.ts"

const DeviceId = lazy(() => z.string().min(1).max(256))
const RequestId = lazy(() => z.string().min(1).max(256))
const RoleName = lazy(() => z.string().min(1).max(64).describe("operator | node"))

/** A connect from a device waiting for an operator: device.pair.list `pending[]` and the device.pair.requested event. */
export const DevicePairRequest = lazy(() =>
  z.object({
    requestId: z.string(),
    deviceId: z.string(),
    publicKey: z.string(),
    displayName: z.string().optional(),
    platform: z.string().optional(),
    clientId: z.string().optional(),
    clientMode: z.string().optional(),
    role: z.string().optional(),
    scopes: z.array(z.string()).optional(),
    remoteIp: z.string().optional(),
    reason: z.string().optional().describe("not-paired | role-upgrade | scope-upgrade"),
    ts: z.number(),
  }),
)

/** A device token as listed: never the token itself. */
export const DeviceTokenSummary = lazy(() =>
  z.object({
    role: z.string(),
    scopes: z.array(z.string()),
    createdAtMs: z.number(),
    lastUsedAtMs: z.number().optional(),
  }),
)

export const PairedDevice = lazy(() =>
  z.object({
    deviceId: z.string(),
    publicKey: z.string(),
    displayName: z.string().optional(),
    platform: z.string().optional(),
    clientId: z.string().optional(),
    clientMode: z.string().optional(),
    roles: z.array(z.string()),
    scopes: z.array(z.string()),
    remoteIp: z.string().optional(),
    tokens: z.array(DeviceTokenSummary()).optional(),
    createdAtMs: z.number(),
    approvedAtMs: z.number(),
    lastSeenAtMs: z.number().optional(),
  }),
)
export type PairedDevice = z.infer<ReturnType<typeof PairedDevice>>

export const DevicePairRequestedEvent = lazy(() => DevicePairRequest().extend({ silent: z.boolean().optional() }))
export const DevicePairResolvedEvent = lazy(() =>
  z.object({ requestId: z.string(), deviceId: z.string(), decision: z.enum(["approved", "rejected"]), ts: z.number() }),
)

export const devicePairList = method(
  "device.pair.list",
  "operator.pairing",
  () => NoParams(),
  () => z.object({ pending: z.array(DevicePairRequest()), paired: z.array(PairedDevice()) }),
)

export const devicePairApprove = method(
  "device.pair.approve",
  "operator.pairing",
  () => z.object({ requestId: RequestId() }),
  () => z.object({ requestId: z.string(), device: PairedDevice() }),
)

export const devicePairReject = method(
  "device.pair.reject",
  "operator.pairing",
  () => z.object({ requestId: RequestId() }),
  () => z.object({ requestId: z.string(), deviceId: z.string() }),
)

export const devicePairRemove = method(
  "device.pair.remove",
  "operator.pairing",
  () => z.object({ deviceId: DeviceId() }),
  () => z.object({ deviceId: z.string(), removedAtMs: z.number() }),
)

export const devicePairRename = method(
  "device.pair.rename",
  "operator.pairing",
  () => z.object({ deviceId: DeviceId(), displayName: z.string().trim().min(1).max(256) }),
  () => z.object({ deviceId: z.string(), displayName: z.string() }),
)

export const deviceTokenRotate = method(
  "device.token.rotate",
  "operator.pairing",
  () => z.object({ deviceId: DeviceId(), role: RoleName(), scopes: z.array(z.string()).optional() }),
  () =>
    z.object({
      deviceId: z.string(),
      role: z.string(),
      token: z.string().describe("The new device token; shown once, only its hash is kept"),
      scopes: z.array(z.string()),
      rotatedAtMs: z.number(),
    }),
)

export const deviceTokenRevoke = method(
  "device.token.revoke",
  "operator.pairing",
  () => z.object({ deviceId: DeviceId(), role: RoleName() }),
  () => z.object({ deviceId: z.string(), role: z.string(), revokedAtMs: z.number() }),
)
