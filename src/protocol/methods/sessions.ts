/** Session methods: list, inspect, reset, delete, compact, patch, abort; spawn and transcript for agents in other processes. */
import { z } from "zod"
import { lazy, type Built } from "../lazy.ts"
import { AbortResult, TextPart } from "./chat.ts"
import { method } from "./define.ts"

/** One session as sessions.* return it. OpenClaw sends more per session; clients accept what they don't know. */
export const SessionEntry = lazy(() =>
  z
    .object({
      key: z.string(),
      sessionId: z.string().describe("Changes on reset: a new transcript starts"),
      agentId: z.string(),
      kind: z.string().describe("main | explicit | subagent | …"),
      label: z.string().optional(),
      displayName: z.string(),
      model: z.string().optional().describe("Per-session model override"),
      queueMode: z.string().optional(),
      parentKey: z.string().optional().describe("The session that spawned this sub-agent"),
      updatedAt: z.number(),
      createdAt: z.number(),
      inputTokens: z.number(),
      outputTokens: z.number(),
      totalTokens: z.number(),
      contextTokens: z.number(),
      costUsd: z.number(),
      compactionCount: z.number(),
      hasActiveRun: z.boolean(),
      activeRunIds: z.array(z.string()),
      messageCount: z.number().optional().describe("User and assistant messages in the current transcript"),
    })
    .loose(),
)
export type SessionEntry = z.infer<Built<typeof SessionEntry>>

export const ToolCallPart = lazy(() => z.object({ type: z.literal("tool-call"), toolCallId: z.string(), toolName: z.string(), input: z.unknown() }))

/** A stored transcript row (sessions.get): the message in the agent's own shape plus where and when it was written. */
export const StoredMessage = lazy(() => {
  const row = {
    id: z.number(),
    runId: z.string().nullable(),
    createdAt: z.number(),
    model: z.string().nullable().describe("provider/model that wrote it"),
  }
  return z.discriminatedUnion("role", [
    z.object({ ...row, role: z.literal("user"), content: z.string() }),
    z.object({ ...row, role: z.literal("assistant"), content: z.array(z.discriminatedUnion("type", [TextPart(), ToolCallPart()])) }),
    z.object({ ...row, role: z.literal("tool"), toolCallId: z.string(), toolName: z.string(), content: z.string(), isError: z.boolean() }),
    z.object({
      ...row,
      role: z.literal("summary"),
      content: z.string().describe("A compaction summary: stands in for everything before it"),
      tokensBefore: z.number(),
      keepFromId: z.number().optional(),
    }),
    z.object({ ...row, role: z.literal("system"), content: z.string() }),
  ])
})

const SessionKeyParams = lazy(() => z.strictObject({ key: z.string().min(1) }))

const EntryChange = lazy(() => z.object({ ok: z.literal(true), key: z.string(), entry: SessionEntry() }))

export const sessionsList = method(
  "sessions.list",
  "operator.read",
  () =>
    // A read: OpenClaw's clients send fields we have no use for (configuredAgentsOnly, spawnedBy, …) and limits
    // above our cap; unknown fields are ignored and the limit is clamped rather than the call refused.
    z
      .object({
        limit: z.number().int().min(1).optional().describe("At most 1000 rows are returned whatever is asked"),
        configuredAgentsOnly: z.boolean().optional(),
        spawnedBy: z.string().optional().describe("Only sub-agent sessions this session spawned"),
        activeMinutes: z.number().positive().optional(),
        includeGlobal: z.boolean().optional(),
        includeUnknown: z.boolean().optional(),
        includeDerivedTitles: z.boolean().optional(),
        includeLastMessage: z.boolean().optional(),
        label: z.string().optional(),
        agentId: z.string().optional(),
        search: z.string().optional(),
      })
      .loose()
      .optional()
      .default({}),
  () =>
    z
      .object({
        ts: z.number(),
        path: z.string().describe("Where sessions are stored"),
        count: z.number(),
        totalCount: z.number(),
        defaults: z.object({ model: z.string().nullable(), queueMode: z.string() }).loose(),
        sessions: z.array(
          SessionEntry().extend({
            label: z.string().describe("The session's label, else a short name from its key (main for agent:<id>:main)"),
            messageCount: z.number().describe("User and assistant messages in the current transcript"),
            lastMessage: z.string().optional().describe("With includeLastMessage: the last user or assistant text"),
          }),
        ),
      })
      .loose(),
)

export const sessionsGet = method(
  "sessions.get",
  "operator.read",
  () => SessionKeyParams().extend({ limit: z.number().int().min(1).max(5000).optional() }),
  () => z.object({ key: z.string(), entry: SessionEntry(), messages: z.array(StoredMessage()) }),
)

export const sessionsReset = method(
  "sessions.reset",
  "operator.write",
  () => SessionKeyParams().extend({ reason: z.enum(["new", "reset"]).optional() }),
  EntryChange,
)

export const sessionsDelete = method(
  "sessions.delete",
  "operator.write",
  () => SessionKeyParams().extend({ deleteTranscript: z.boolean().optional() }),
  () => z.object({ ok: z.literal(true), key: z.string(), deleted: z.boolean() }),
)

export const sessionsCompact = method("sessions.compact", "operator.write", SessionKeyParams, () =>
  z.object({ ok: z.literal(true), key: z.string(), compacted: z.boolean().describe("false: nothing old enough to summarise"), entry: SessionEntry() }),
)

export const sessionsPatch = method(
  "sessions.patch",
  "operator.write",
  () =>
    SessionKeyParams().extend({
      label: z.string().nullable().optional(),
      model: z.string().nullable().optional(),
      queueMode: z.enum(["followup", "collect", "steer"]).nullable().optional(),
    }),
  EntryChange,
)

export const sessionsAbort = method("sessions.abort", "operator.write", () => SessionKeyParams().extend({ runId: z.string().optional() }), AbortResult)

export const sessionsSpawn = method(
  "sessions.spawn",
  "operator.write",
  () =>
    z.strictObject({
      task: z.string().min(1),
      label: z.string().optional(),
      model: z.string().optional(),
      timeoutSeconds: z.number().positive().optional(),
      agentId: z.string().optional(),
    }),
  () => z.object({ runId: z.string(), sessionKey: z.string(), status: z.string().describe("accepted") }),
)

export const sessionsTranscript = method(
  "sessions.transcript",
  "operator.read",
  () => SessionKeyParams().extend({ limit: z.number().int().min(1).max(5000).optional() }),
  () =>
    z.object({
      key: z.string(),
      sessionId: z.string(),
      messages: z.array(
        z.object({ role: z.string().describe("user | assistant | tool"), content: z.string().describe("Text; tool results as '[tool] output'") }),
      ),
    }),
)
