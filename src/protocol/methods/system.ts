/** System methods: health, status, system-presence, logs.tail. */
import { z } from "zod"
import { PresenceEntry } from "../connect.ts"
import { lazy, type Built } from "../lazy.ts"
import { method, NoParams } from "./define.ts"

const SessionsSummary = lazy(() =>
  z.object({ path: z.string(), count: z.number(), recent: z.array(z.unknown()).describe("Recent sessions (OpenClaw's shape; always empty here)") }),
)

export const HealthAgentSummary = lazy(() =>
  z.object({
    agentId: z.string(),
    isDefault: z.boolean(),
    heartbeat: z.object({ enabled: z.boolean(), every: z.string(), everyMs: z.number() }),
    sessions: SessionsSummary(),
  }),
)

/** The `health` reply, the hello snapshot's health and the `health` event. OpenClaw adds plugin and runtime fields. */
export const HealthSummary = lazy(() =>
  z
    .object({
      ok: z.boolean(),
      ts: z.number(),
      durationMs: z.number(),
      channels: z.record(z.string(), z.unknown()),
      channelOrder: z.array(z.string()),
      channelLabels: z.record(z.string(), z.string()),
      heartbeatSeconds: z.number(),
      defaultAgentId: z.string(),
      agents: z.array(HealthAgentSummary()),
      sessions: SessionsSummary(),
    })
    .loose(),
)
export type HealthSummary = z.infer<Built<typeof HealthSummary>>

export const health = method("health", null, () => z.strictObject({ probe: z.boolean().optional() }).optional().default({}), HealthSummary)

/** What the default agent's system prompt is made of (kept lean on purpose; reported so it stays that way). */
export const PromptReport = lazy(() =>
  z.object({
    chars: z.number(),
    files: z.array(z.object({ name: z.string(), rawChars: z.number(), injectedChars: z.number(), truncated: z.boolean() })),
  }),
)

/** OpenClaw's status carries much more (tasks, heartbeat, channel summary); clients must accept what they don't know. */
export const StatusResult = lazy(() =>
  z
    .object({
      runtimeVersion: z.string(),
      version: z.string(),
      pid: z.number(),
      uptimeMs: z.number(),
      startedAt: z.number(),
      platform: z.string(),
      arch: z.string(),
      bun: z.string(),
      gateway: z.object({ bind: z.string(), host: z.string(), port: z.number(), authMode: z.string(), url: z.string() }),
      connections: z.number(),
      store: z.object({ sqliteVersion: z.string(), vecVersion: z.string().nullable(), vecError: z.string().nullable() }),
      processMemory: z.object({ rssBytes: z.number(), heapUsedBytes: z.number() }),
      agent: z.object({
        activeRuns: z.number(),
        sessions: z.number(),
        model: z.string().nullable(),
        systemPrompt: PromptReport(),
        workspace: z.string().optional().describe("Admins only"),
      }),
      configPath: z.string().optional().describe("Admins only"),
      stateDir: z.string().optional().describe("Admins only"),
    })
    .loose(),
)
export type StatusResult = z.infer<Built<typeof StatusResult>>

export const status = method(
  "status",
  "operator.read",
  // OpenClaw's own status call sends these two flags; accepted and ignored.
  () => z.strictObject({ includeChannelSummary: z.boolean().optional(), includeCliProjection: z.boolean().optional() }).optional().default({}),
  StatusResult,
)

export const systemPresence = method("system-presence", "operator.read", NoParams, () => z.array(PresenceEntry))

export const LogsTailResult = lazy(() =>
  z.object({
    file: z.string(),
    cursor: z.number().describe("Pass back as `cursor` to read only newer lines"),
    size: z.number(),
    lines: z.array(z.string()).describe("JSONL log lines"),
    truncated: z.boolean(),
    reset: z.boolean().describe("The log was rotated or truncated since the cursor: reading restarted at 0"),
  }),
)
export type LogsTailResult = z.infer<Built<typeof LogsTailResult>>

export const logsTail = method(
  "logs.tail",
  "operator.read",
  () =>
    z
      .strictObject({
        cursor: z.number().int().nonnegative().optional(),
        limit: z.number().int().min(1).max(5000).optional(),
        maxBytes: z.number().int().min(1).max(1_000_000).optional(),
      })
      .optional()
      .default({}),
  LogsTailResult,
)
