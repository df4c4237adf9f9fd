/** The router's named errors. */
import { NamedError } from "../util/named-error.ts"

/** A reused idempotency key whose parameters differ from its first use; nothing was changed. */
export const IdempotencyConflict = NamedError.create("IdempotencyConflict", (z) =>
  z.object({ message: z.string(), key: z.string(), fields: z.array(z.string()) }),
)
export type IdempotencyConflict = InstanceType<typeof IdempotencyConflict>

/** A door named an agent id that agents.list does not have; nothing was stored. */
export const UnknownAgent = NamedError.create("UnknownAgent", (z) => z.object({ message: z.string(), agentId: z.string(), known: z.array(z.string()) }))
export type UnknownAgent = InstanceType<typeof UnknownAgent>
