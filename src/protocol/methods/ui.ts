/**
 * What OpenClaw's web UI and newer clients call on connect and on the chat page: chat.startup, session subscriptions
 * and previews, question.list, models.authStatus, diagnostics.lanes. Reads ignore optional fields they do not know
 * (newer clients send more than they need), so none of these is refused for a field we have no use for.
 */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { chatHistory } from "./chat.ts"
import { method } from "./define.ts"
import { SessionEntry } from "./sessions.ts"

const Open = () => z.object({}).loose().optional().default({})

export const chatStartup = method(
  "chat.startup",
  "operator.read",
  () =>
    z
      .object({
        sessionKey: z.string().min(1).optional().describe("Default: the default agent's main session"),
        agentId: z.string().optional(),
        limit: z.number().int().min(1).optional(),
        maxChars: z.number().int().positive().optional(),
      })
      .loose()
      .optional()
      .default({}),
  // The chat page's first read: the same shape as chat.history.
  () => chatHistory.result,
)

export const sessionsSubscribe = method("sessions.subscribe", "operator.read", Open, () => z.object({ subscribed: z.literal(true) }))

export const sessionsMessagesSubscribe = method(
  "sessions.messages.subscribe",
  "operator.read",
  () => z.object({ key: z.string().min(1) }).loose(),
  () => z.object({ key: z.string().describe("The session key, normalised"), subscribed: z.literal(true) }),
)

export const sessionsObserverVisibility = method(
  "sessions.observer.visibility",
  "operator.read",
  () => z.object({ visible: z.boolean().optional(), key: z.string().optional(), sessionKey: z.string().optional() }).loose(),
  () => z.object({ ok: z.literal(true), visible: z.boolean() }),
)

export const SessionPreviewItem = lazy(() =>
  z.object({ role: z.enum(["user", "assistant", "tool", "system", "other"]), text: z.string(), timestamp: z.number().optional() }),
)

export const sessionsPreview = method(
  "sessions.preview",
  "operator.read",
  () =>
    z
      .object({
        keys: z.array(z.string().min(1)).min(1).max(100),
        limit: z.number().int().min(1).optional().describe("Items per session (default 12, at most 100)"),
        maxChars: z.number().int().min(20).optional().describe("Per item (default 240)"),
      })
      .loose(),
  () =>
    z.object({
      ts: z.number(),
      previews: z.array(z.object({ key: z.string(), status: z.enum(["ok", "empty", "missing", "error"]), items: z.array(SessionPreviewItem()) })),
    }),
)

export const sessionsDescribe = method(
  "sessions.describe",
  "operator.read",
  () => z.object({ key: z.string().min(1), includeDerivedTitles: z.boolean().optional(), includeLastMessage: z.boolean().optional() }).loose(),
  () =>
    z.object({
      ts: z.number(),
      key: z.string(),
      found: z.boolean(),
      session: SessionEntry()
        .extend({
          derivedTitle: z.string().optional().describe("With includeDerivedTitles: the first user message, shortened"),
          lastMessage: z.string().optional().describe("With includeLastMessage: the last user or assistant text"),
        })
        .optional(),
    }),
)

export const questionList = method("question.list", "operator.read", Open, () =>
  z.object({
    questions: z
      .array(z.object({ id: z.string(), question: z.string(), sessionKey: z.string().optional(), createdAtMs: z.number(), expiresAtMs: z.number().optional() }))
      .describe("Pending questions the agent asked an operator (this gateway's agent does not ask any yet: always empty)"),
  }),
)

export const modelsAuthStatus = method("models.authStatus", "operator.read", Open, () =>
  z.object({
    ts: z.number(),
    providers: z.array(
      z.object({
        provider: z.string(),
        status: z.enum(["ok", "missing"]).describe("missing: a model of this provider would fail for want of a key"),
        source: z.enum(["config", "env", "keyless", "none"]),
        envVar: z.string().optional().describe("The variable the key comes from (or would)"),
        models: z.array(z.string()).describe("Configured models of this provider (provider/model)"),
      }),
    ),
  }),
)

export const diagnosticsLanes = method("diagnostics.lanes", "operator.read", Open, () =>
  z.object({
    ts: z.number(),
    maxConcurrent: z.number().describe("agents.defaults.maxConcurrent"),
    running: z.number().describe("Runs holding a slot now"),
    lanes: z.array(
      z.object({
        sessionKey: z.string(),
        active: z.object({ runId: z.string(), state: z.string(), startedAt: z.number().optional() }).optional(),
        queuedRunIds: z.array(z.string()),
        steerPending: z.number().describe("Messages waiting to be steered into the active run"),
      }),
    ),
  }),
)
