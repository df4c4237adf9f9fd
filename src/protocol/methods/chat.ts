/** Chat methods: chat.send / history / abort / inject, the chat view of sessions in OpenClaw's message shapes. */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { deliveryFields, IdempotencyKey, method } from "./define.ts"

export const TextPart = lazy(() => z.object({ type: z.literal("text"), text: z.string() }))

/** User and assistant text of a session, as chat.history lists it (tool traffic and summaries are not part of it). */
export const ChatHistoryMessage = lazy(() =>
  z.object({
    role: z.enum(["user", "assistant"]),
    content: z.union([z.string(), z.array(TextPart())]).describe("user: the text as a string; assistant: [{type: 'text', text}]"),
    timestamp: z.number(),
    model: z.string().optional().describe("provider/model that wrote an assistant message"),
    __gateway: z.object({ id: z.number().describe("Transcript row id"), runId: z.string().nullable() }).optional(),
  }),
)

export const ChatSessionInfo = lazy(() =>
  z.object({
    key: z.string(),
    kind: z.string(),
    agentId: z.string(),
    isMain: z.boolean(),
    hasActiveRun: z.boolean(),
    activeRunIds: z.array(z.string()),
    model: z.string().nullable().describe("Per-session model override"),
  }),
)

/** chat.abort and sessions.abort: which runs of the session were stopped. */
export const AbortResult = lazy(() => z.object({ ok: z.literal(true), aborted: z.boolean(), runIds: z.array(z.string()) }))

export const chatSend = method(
  "chat.send",
  "operator.write",
  () =>
    z.strictObject({
      sessionKey: z.string().min(1),
      message: z.string().min(1).max(1_000_000),
      idempotencyKey: IdempotencyKey(),
      agentId: z.string().optional(),
      timeoutMs: z.number().int().positive().optional(),
      originatingChannel: z.string().optional(),
      originatingTo: z.string().optional(),
      originatingAccountId: z.string().optional(),
      originatingThreadId: z.union([z.string(), z.number()]).optional(),
      ...deliveryFields(),
    }),
  () =>
    z
      .object({
        runId: z.string(),
        status: z.string().describe("started | in_flight (a retry of a running send) | ok | error | aborted | timeout (a retry of a finished one)"),
        mergedInto: z.string().optional().describe("The run that carries this message (queue modes collect and steer)"),
      })
      .loose(),
)

export const chatHistory = method(
  "chat.history",
  "operator.read",
  // Strict like OpenClaw's (a misspelt field is named), but the limit is clamped rather than refused.
  () =>
    z.strictObject({
      sessionKey: z.string().min(1),
      agentId: z.string().optional(),
      limit: z.number().int().min(1).optional().describe("At most 1000 messages whatever is asked"),
      maxChars: z.number().int().positive().optional(),
      inputRunIds: z
        .array(z.string().min(1))
        .max(200)
        .optional()
        .describe(
          "chat.send idempotency keys whose fate the client wants to know (inputReceipts): a send whose acknowledgement was lost is confirmed, not retried",
        ),
    }),
  // OpenClaw adds defaults, pending inputs and much more session info; clients accept what they don't know.
  () =>
    z
      .object({
        sessionKey: z.string(),
        sessionId: z.string().optional().describe("Absent when the session does not exist yet"),
        messages: z.array(ChatHistoryMessage()),
        hasMore: z.boolean(),
        totalMessages: z.number(),
        sessionInfo: ChatSessionInfo().optional(),
        inputReceipts: z
          .array(
            z.object({
              runId: z.string(),
              state: z
                .enum(["consumed", "pending", "dropped", "missing"])
                .describe("consumed: in the transcript; pending: accepted, not yet there; dropped: its run ended without it; missing: never accepted"),
              consumedByEventId: z.string().optional().describe("The transcript row that records it"),
              status: z.string().optional().describe("Its run's status"),
            }),
          )
          .optional()
          .describe("With inputRunIds: one receipt per id, in order"),
      })
      .loose(),
)

export const chatAbort = method(
  "chat.abort",
  "operator.write",
  () => z.strictObject({ sessionKey: z.string().min(1), runId: z.string().optional() }),
  AbortResult,
)

export const chatInject = method(
  "chat.inject",
  "operator.admin",
  () => z.strictObject({ sessionKey: z.string().min(1), message: z.string().min(1), label: z.string().optional() }),
  () => z.object({ ok: z.literal(true), sessionKey: z.string() }),
)
