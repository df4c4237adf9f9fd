/** The agent's named errors: refusals at the door, and failures that end a run or a compaction. */
import { NamedError } from "../util/named-error.ts"

/** Why the agent refused to take a message: daily budget spent, or shutting down. */
export const RunRejected = NamedError.create("RunRejected", (z) => z.object({ message: z.string(), kind: z.enum(["budget", "limit", "invalid"]) }))
export type RunRejected = InstanceType<typeof RunRejected>

/** A run ended in failure; `kind` is what the chat error and agent.wait report (config, rate_limit, max_steps, …). */
export const RunFailure = NamedError.create("RunFailure", (z) => z.object({ message: z.string(), kind: z.string() }))
export type RunFailure = InstanceType<typeof RunFailure>

/** Summarising older turns failed (the model errored or said nothing). */
export const CompactionError = NamedError.create("CompactionError", (z) => z.object({ message: z.string(), kind: z.string() }))
export type CompactionError = InstanceType<typeof CompactionError>
