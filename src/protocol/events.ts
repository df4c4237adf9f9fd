/** Server-sent events: names and payload schemas. The broadcaster and the client both use this table. */
import { z } from "zod"
import { ConnectChallenge, PresenceEntry } from "./connect.ts"
import { HealthSummary } from "./methods.ts"

export const TickEvent = z.object({ ts: z.number() })
export const ShutdownEvent = z.object({ reason: z.string(), restartExpectedMs: z.number().optional() })
export const PresenceEvent = z.object({ presence: z.array(PresenceEntry) })
export const ConfigChangedEvent = z.object({ path: z.string(), hash: z.string(), ts: z.number(), changedPaths: z.array(z.string()) })

export const EVENTS = {
  "connect.challenge": ConnectChallenge,
  tick: TickEvent,
  health: HealthSummary,
  presence: PresenceEvent,
  shutdown: ShutdownEvent,
  "config.changed": ConfigChangedEvent,
} as const

export type EventName = keyof typeof EVENTS
export type EventPayload<E extends EventName> = z.infer<(typeof EVENTS)[E]>
