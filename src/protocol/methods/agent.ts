/** Agent methods: agent (two replies on one request id), agent.wait, wake. runId = idempotencyKey. */
import { z } from "zod"
import { lazy, type Built } from "../lazy.ts"
import { deliveryFields, IdempotencyKey, method } from "./define.ts"

export const AgentParams = lazy(() =>
  z.strictObject({
    message: z.string().min(1).max(1_000_000),
    idempotencyKey: IdempotencyKey(),
    agentId: z.string().optional(),
    sessionKey: z.string().optional(),
    sessionId: z.string().optional(),
    model: z.string().optional(),
    timeout: z.number().positive().optional().describe("Seconds"),
    lane: z.string().optional(),
    extraSystemPrompt: z.string().max(100_000).optional(),
    label: z.string().optional(),
    ...deliveryFields(),
  }),
)

/** The first reply: the message was accepted and its run is queued or running. */
export const AgentAccepted = lazy(() =>
  z.object({ runId: z.string(), agentId: z.string(), sessionKey: z.string(), status: z.literal("accepted"), acceptedAt: z.number() }),
)

export const RunUsage = lazy(() =>
  z.object({
    input: z.number(),
    output: z.number(),
    cacheRead: z.number(),
    cacheWrite: z.number(),
    total: z.number(),
    cost: z.object({ total: z.number().describe("USD") }),
  }),
)

/** OpenClaw's agentMeta carries much more (context budget, harness, credentials); clients accept what they don't know. */
export const AgentMeta = lazy(() =>
  z
    .object({
      sessionId: z.string(),
      sessionKey: z.string(),
      provider: z.string().nullable(),
      model: z.string().nullable(),
      usage: RunUsage(),
      successfulToolNames: z.array(z.string()),
      steps: z.number().describe("Model calls the run made"),
    })
    .loose(),
)

/** Every field is optional: a run known only from the database (it ended before a restart) has an empty meta. */
export const AgentRunMeta = lazy(() =>
  z
    .object({
      durationMs: z.number().optional(),
      agentMeta: AgentMeta().optional(),
      aborted: z.boolean().optional(),
      stopReason: z.string().optional(),
      finalAssistantVisibleText: z.string().optional(),
    })
    .loose(),
)

/** The second (final) reply on the same request id. A failed run is an UNAVAILABLE error instead. */
export const AgentFinal = lazy(() =>
  z.object({
    runId: z.string(),
    status: z.string().describe("ok | timeout | aborted (unknown: the run's record is gone)"),
    summary: z.string().describe('"completed", or what stopped the run'),
    stopReason: z.string().optional(),
    result: z.object({
      payloads: z.array(z.object({ text: z.string(), mediaUrl: z.string().nullable() })),
      meta: AgentRunMeta(),
    }),
  }),
)
export type AgentFinal = z.infer<Built<typeof AgentFinal>>

/** `agent` answers twice on one id: first AgentAccepted, then AgentFinal (clients wait for it with expectFinal). */
export const agent = method("agent", "operator.write", AgentParams, () => z.union([AgentAccepted(), AgentFinal()]))

export const agentWait = method(
  "agent.wait",
  "operator.write",
  () =>
    z.strictObject({
      runId: z.string().min(1),
      timeoutMs: z
        .number()
        .int()
        .min(0)
        .max(24 * 3600_000)
        .optional(),
    }),
  () =>
    z
      .object({
        runId: z.string(),
        status: z.string().describe("ok | error | aborted | timeout (timeout also when the run is still going)"),
        startedAt: z.number().optional(),
        endedAt: z.number().optional(),
        error: z.string().optional(),
        terminalReply: z
          .object({ disposition: z.string().describe("visible | empty"), text: z.string() })
          .optional()
          .describe("The run's final text, once it ended"),
      })
      .loose(),
)

export const wake = method(
  "wake",
  "operator.write",
  // OpenClaw accepts unknown wake fields (its only open params object).
  () =>
    z
      .object({
        mode: z.enum(["now", "next-heartbeat"]).default("now"),
        text: z.string().min(1),
        sessionKey: z.string().optional(),
        agentId: z.string().optional(),
        idempotencyKey: IdempotencyKey().optional(),
      })
      .loose(),
  () =>
    z.object({
      ok: z.literal(true),
      runId: z.string(),
      sessionKey: z.string(),
      mode: z.enum(["now", "next-heartbeat"]),
      queued: z.boolean().describe("next-heartbeat: stored, and carried by the next heartbeat turn"),
      duplicate: z.boolean().optional().describe("The idempotencyKey was seen before; nothing new was started"),
    }),
)
