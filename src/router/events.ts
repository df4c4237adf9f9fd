/** What the router publishes: messages it accepted, and runs that ended with where their reply should go. */
import { z } from "zod"
import { defineEvent } from "../bus/index.ts"
import { deliveryTargetSchema, originSchema } from "./inbound.ts"

export const InboundAccepted = defineEvent("router.inbound.accepted", () =>
  z.object({
    runId: z.string(),
    sessionKey: z.string(),
    state: z.enum(["queued", "merged", "deferred"]),
    carriedBy: z.string().optional(),
    origin: originSchema(),
    delivery: deliveryTargetSchema(),
    acceptedAt: z.number(),
  }),
)

/**
 * A run ended (also one resumed after a restart). `deliveries` lists the reply targets of every message the run
 * carried, its own first, without repeats: the channel outbox sends the reply to each.
 */
export const RunFinished = defineEvent("router.run.finished", () =>
  z.object({
    runId: z.string(),
    sessionKey: z.string(),
    status: z.enum(["ok", "error", "aborted", "timeout"]),
    text: z.string(),
    error: z.string().optional(),
    origin: originSchema().optional(),
    deliveries: z.array(deliveryTargetSchema()),
    /** Ids of the messages this run answered (its own and those merged or steered into it). */
    inputIds: z.array(z.string()),
    endedAt: z.number(),
  }),
)

/** A reply to deliver to a target other than the session's own listeners (published once per target). */
export const ReplyReady = defineEvent("router.reply.ready", () =>
  z.object({ runId: z.string(), sessionKey: z.string(), text: z.string(), target: deliveryTargetSchema() }),
)
