/** Domain events of device pairing (the broadcaster shows them as device.pair.requested / device.pair.resolved). */
import { z } from "zod"
import { defineEvent } from "../bus/index.ts"
import { DevicePairRequestedEvent, DevicePairResolvedEvent } from "../protocol/methods/devices.ts"

export const DevicePairRequested = defineEvent("devices.pair.requested", DevicePairRequestedEvent)
export const DevicePairResolved = defineEvent("devices.pair.resolved", DevicePairResolvedEvent)

/**
 * A device lost access: removed (every connection of it), or its token for `role` revoked or rotated (the
 * connections that authenticated with that token). Not a wire event: the hub closes those sockets with 1008.
 */
export const DeviceAccessRevoked = defineEvent("devices.access.revoked", () =>
  z.object({ deviceId: z.string(), role: z.string().optional(), reason: z.enum(["removed", "revoked", "rotated"]) }),
)
