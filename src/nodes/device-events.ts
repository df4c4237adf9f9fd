/** Domain events of device pairing (the broadcaster shows them as device.pair.requested / device.pair.resolved). */
import { defineEvent } from "../bus/index.ts"
import { DevicePairRequestedEvent, DevicePairResolvedEvent } from "../protocol/methods/devices.ts"

export const DevicePairRequested = defineEvent("devices.pair.requested", DevicePairRequestedEvent)
export const DevicePairResolved = defineEvent("devices.pair.resolved", DevicePairResolvedEvent)
