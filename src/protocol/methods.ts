/**
 * Every RPC method we implement: its params schema, its result schema and the scope it needs.
 * Server dispatch and the client both read this table, so a method's shape is declared exactly once.
 */
import { z } from "zod"
import { PresenceEntry } from "./connect.ts"

/** `null` = no scope check at all (OpenClaw lets `health` through for any authenticated role). */
export type MethodScope = "operator.read" | "operator.write" | "operator.admin" | "operator.pairing" | "operator.approvals" | null

export interface MethodDef<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly name: string
  readonly scope: MethodScope
  readonly params: P
  readonly result: R
}

/**
 * Schemas are built on first use, not at import: a daemon that starts in tens of milliseconds cannot afford to
 * construct every method's zod schema up front (each costs time and resident memory), and most are never called.
 */
function method<P extends z.ZodType, R extends z.ZodType>(name: string, scope: MethodScope, params: () => P, result: () => R): MethodDef<P, R> {
  let p: P | undefined
  let r: R | undefined
  return {
    name,
    scope,
    get params() {
      return (p ??= params())
    },
    get result() {
      return (r ??= result())
    },
  }
}

/** Params are optional on the wire (`openclaw gateway health` sends none), so absent params parse as `{}`. */
const noParams = z.strictObject({}).optional().default({})

export const HealthAgentSummary = z.object({
  agentId: z.string(),
  isDefault: z.boolean(),
  heartbeat: z.object({ enabled: z.boolean(), every: z.string(), everyMs: z.number() }),
  sessions: z.object({ path: z.string(), count: z.number(), recent: z.array(z.unknown()) }),
})

export const HealthSummary = z.object({
  ok: z.boolean(),
  ts: z.number(),
  durationMs: z.number(),
  channels: z.record(z.string(), z.unknown()),
  channelOrder: z.array(z.string()),
  channelLabels: z.record(z.string(), z.string()),
  heartbeatSeconds: z.number(),
  defaultAgentId: z.string(),
  agents: z.array(HealthAgentSummary),
  sessions: z.object({ path: z.string(), count: z.number(), recent: z.array(z.unknown()) }),
})
export type HealthSummary = z.infer<typeof HealthSummary>

export const health = method("health", null, () => z.strictObject({ probe: z.boolean().optional() }).optional().default({}), () => HealthSummary)

export const StatusResult = z
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
    configPath: z.string().optional(),
    stateDir: z.string().optional(),
  })
  .loose()
export type StatusResult = z.infer<typeof StatusResult>

export const status = method(
  "status",
  "operator.read",
  () => // OpenClaw's own status call sends these two flags; accepted and ignored.
  z.strictObject({ includeChannelSummary: z.boolean().optional(), includeCliProjection: z.boolean().optional() }).optional().default({}),
  () => StatusResult,)

export const systemPresence = method("system-presence", "operator.read", () => noParams, () => z.array(PresenceEntry))

export const LogsTailParams = z
  .strictObject({
    cursor: z.number().int().nonnegative().optional(),
    limit: z.number().int().min(1).max(5000).optional(),
    maxBytes: z.number().int().min(1).max(1_000_000).optional(),
  })
  .optional()
  .default({})
export const LogsTailResult = z.object({
  file: z.string(),
  cursor: z.number(),
  size: z.number(),
  lines: z.array(z.string()),
  truncated: z.boolean(),
  reset: z.boolean(),
})
export type LogsTailResult = z.infer<typeof LogsTailResult>
export const logsTail = method("logs.tail", "operator.read", () => LogsTailParams, () => LogsTailResult)

export const ConfigIssue = z.object({ path: z.string(), message: z.string() })
export const ConfigGetResult = z.object({
  path: z.string(),
  exists: z.boolean(),
  raw: z.string().nullable(),
  parsed: z.unknown(),
  valid: z.boolean(),
  config: z.record(z.string(), z.unknown()),
  hash: z.string(),
  issues: z.array(ConfigIssue),
  warnings: z.array(z.string()),
})
export type ConfigGetResult = z.infer<typeof ConfigGetResult>
export const configGet = method("config.get", "operator.read", () => noParams, () => ConfigGetResult)

export const ConfigWriteResult = z.object({
  ok: z.literal(true),
  path: z.string(),
  hash: z.string(),
  config: z.record(z.string(), z.unknown()),
  changedPaths: z.array(z.string()),
  restartRequired: z.boolean(),
  restartPaths: z.array(z.string()),
})
export type ConfigWriteResult = z.infer<typeof ConfigWriteResult>

const configWriteMeta = { sessionKey: z.string().optional(), note: z.string().optional(), restartDelayMs: z.number().optional() }
export const configSet = method(
  "config.set",
  "operator.admin",
  () => z.strictObject({ raw: z.string().max(1_000_000), baseHash: z.string().optional(), ...configWriteMeta }),
  () => ConfigWriteResult,)
export const configPatch = method(
  "config.patch",
  "operator.admin",
  () => z.strictObject({ raw: z.string().max(1_000_000), baseHash: z.string().optional(), ...configWriteMeta }),
  () => ConfigWriteResult,)
export const configSchema = method(
  "config.schema",
  "operator.admin",
  () => noParams,
  () => z.object({ schema: z.record(z.string(), z.unknown()), uiHints: z.record(z.string(), z.unknown()), version: z.string(), generatedAt: z.string() }),)

export const ModelEntry = z.object({
  id: z.string(),
  name: z.string(),
  provider: z.string(),
  alias: z.string().optional(),
  contextWindow: z.number().optional(),
  reasoning: z.boolean().optional(),
  tags: z.array(z.string()).optional(),
  available: z.boolean().optional(),
})
export const modelsList = method(
  "models.list",
  "operator.read",
  () => z.strictObject({ view: z.enum(["default", "configured", "all"]).optional() }).optional().default({}),
  () => z.object({ models: z.array(ModelEntry) }),)

// ---- agent, chat, sessions, tools -------------------------------------------------------------------------------

const loose = z.object({}).loose()
const idempotencyKey = z.string().min(1).max(256).describe("Required: retrying with the same key returns the same run")
/** Delivery and routing fields OpenClaw clients send; accepted so those clients work, unused until channels exist. */
const deliveryFields = {
  deliver: z.boolean().optional(),
  bestEffortDeliver: z.boolean().optional(),
  channel: z.string().optional(),
  to: z.string().optional(),
  accountId: z.string().optional(),
  threadId: z.union([z.string(), z.number()]).optional(),
  thinking: z.string().optional(),
  attachments: z.array(z.unknown()).max(0, "attachments are not supported yet").optional(),
}

export const AgentParams = z.strictObject({
  message: z.string().min(1).max(1_000_000),
  idempotencyKey,
  agentId: z.string().optional(),
  sessionKey: z.string().optional(),
  sessionId: z.string().optional(),
  model: z.string().optional(),
  timeout: z.number().positive().optional().describe("Seconds"),
  lane: z.string().optional(),
  extraSystemPrompt: z.string().max(100_000).optional(),
  label: z.string().optional(),
  ...deliveryFields,
})
export const agent = method("agent", "operator.write", () => AgentParams, () => loose)
export const agentWait = method(
  "agent.wait",
  "operator.write",
  () => z.strictObject({ runId: z.string().min(1), timeoutMs: z.number().int().min(0).max(24 * 3600_000).optional() }),
  () => loose,)
export const wake = method(
  "wake",
  "operator.write",
  () =>
    z
      .object({
        mode: z.enum(["now", "next-heartbeat"]).default("now"),
        text: z.string().min(1),
        sessionKey: z.string().optional(),
        agentId: z.string().optional(),
        idempotencyKey: idempotencyKey.optional(),
      })
      .loose(),
  () => loose,)

export const chatSend = method(
  "chat.send",
  "operator.write",
  () => z.strictObject({
    sessionKey: z.string().min(1),
    message: z.string().min(1).max(1_000_000),
    idempotencyKey,
    agentId: z.string().optional(),
    timeoutMs: z.number().int().positive().optional(),
    originatingChannel: z.string().optional(),
    originatingTo: z.string().optional(),
    originatingAccountId: z.string().optional(),
    originatingThreadId: z.union([z.string(), z.number()]).optional(),
    ...deliveryFields,
  }),
  () => z.object({ runId: z.string(), status: z.string() }).loose(),)
export const chatHistory = method(
  "chat.history",
  "operator.read",
  () => z.strictObject({ sessionKey: z.string().min(1), agentId: z.string().optional(), limit: z.number().int().min(1).max(1000).optional(), maxChars: z.number().int().positive().optional() }),
  () => loose,)
export const chatAbort = method("chat.abort", "operator.write", () => z.strictObject({ sessionKey: z.string().min(1), runId: z.string().optional() }), () => loose)
export const chatInject = method(
  "chat.inject",
  "operator.admin",
  () => z.strictObject({ sessionKey: z.string().min(1), message: z.string().min(1), label: z.string().optional() }),
  () => loose,)

const sessionKeyParam = { key: z.string().min(1) }
export const sessionsList = method(
  "sessions.list",
  "operator.read",
  () => z
    .strictObject({
      limit: z.number().int().min(1).max(1000).optional(),
      activeMinutes: z.number().positive().optional(),
      includeGlobal: z.boolean().optional(),
      includeUnknown: z.boolean().optional(),
      includeDerivedTitles: z.boolean().optional(),
      includeLastMessage: z.boolean().optional(),
      label: z.string().optional(),
      agentId: z.string().optional(),
      search: z.string().optional(),
    })
    .optional()
    .default({}),
  () => loose,)
export const sessionsGet = method("sessions.get", "operator.read", () => z.strictObject({ ...sessionKeyParam, limit: z.number().int().min(1).max(5000).optional() }), () => loose)
export const sessionsReset = method("sessions.reset", "operator.write", () => z.strictObject({ ...sessionKeyParam, reason: z.enum(["new", "reset"]).optional() }), () => loose)
export const sessionsDelete = method("sessions.delete", "operator.write", () => z.strictObject({ ...sessionKeyParam, deleteTranscript: z.boolean().optional() }), () => loose)
export const sessionsCompact = method("sessions.compact", "operator.write", () => z.strictObject({ ...sessionKeyParam }), () => loose)
export const sessionsPatch = method(
  "sessions.patch",
  "operator.write",
  () => z.strictObject({ ...sessionKeyParam, label: z.string().nullable().optional(), model: z.string().nullable().optional(), queueMode: z.enum(["followup", "collect", "steer"]).nullable().optional() }),
  () => loose,)
export const sessionsAbort = method("sessions.abort", "operator.write", () => z.strictObject({ ...sessionKeyParam, runId: z.string().optional() }), () => loose)
export const sessionsSpawn = method(
  "sessions.spawn",
  "operator.write",
  () => z.strictObject({ task: z.string().min(1), label: z.string().optional(), model: z.string().optional(), timeoutSeconds: z.number().positive().optional(), agentId: z.string().optional() }),
  () => z.object({ runId: z.string(), sessionKey: z.string() }).loose(),)
export const sessionsTranscript = method(
  "sessions.transcript",
  "operator.read",
  () => z.strictObject({ ...sessionKeyParam, limit: z.number().int().min(1).max(5000).optional() }),
  () => z.object({ key: z.string(), messages: z.array(z.object({ role: z.string(), content: z.string() })) }).loose(),)

export const toolsCatalog = method("tools.catalog", "operator.read", () => z.object({ agentId: z.string().optional() }).loose().optional().default({}), () => loose)
export const toolsInvoke = method(
  "tools.invoke",
  "operator.write",
  () => z.strictObject({ name: z.string().min(1), args: z.record(z.string(), z.unknown()).optional(), sessionKey: z.string().optional(), idempotencyKey: z.string().optional() }),
  () => z.object({ ok: z.boolean(), result: z.string(), isError: z.boolean() }).loose(),)
export const execBash = method(
  "exec.bash",
  "operator.write",
  () => z.strictObject({ command: z.string().min(1).max(100_000), workdir: z.string().optional(), timeoutMs: z.number().int().positive().optional() }),
  () => z.object({ stdout: z.string(), stderr: z.string(), exitCode: z.number().nullable() }).loose(),)
export const execApprovalList = method("exec.approval.list", "operator.approvals", () => noParams, () => loose)
export const execApprovalResolve = method(
  "exec.approval.resolve",
  "operator.approvals",
  () => z.strictObject({ id: z.string().min(1), decision: z.enum(["allow-once", "allow-always", "deny"]) }),
  () => loose,)

/** The method table of this build, in the order hello-ok advertises it. */
export const METHODS = {
  health,
  status,
  "system-presence": systemPresence,
  "logs.tail": logsTail,
  "config.get": configGet,
  "config.set": configSet,
  "config.patch": configPatch,
  "config.schema": configSchema,
  "models.list": modelsList,
  agent,
  "agent.wait": agentWait,
  wake,
  "chat.send": chatSend,
  "chat.history": chatHistory,
  "chat.abort": chatAbort,
  "chat.inject": chatInject,
  "sessions.list": sessionsList,
  "sessions.get": sessionsGet,
  "sessions.reset": sessionsReset,
  "sessions.delete": sessionsDelete,
  "sessions.compact": sessionsCompact,
  "sessions.patch": sessionsPatch,
  "sessions.abort": sessionsAbort,
  "sessions.spawn": sessionsSpawn,
  "sessions.transcript": sessionsTranscript,
  "tools.catalog": toolsCatalog,
  "tools.invoke": toolsInvoke,
  "exec.bash": execBash,
  "exec.approval.list": execApprovalList,
  "exec.approval.resolve": execApprovalResolve,
} as const

export type MethodName = keyof typeof METHODS
export type MethodParams<M extends MethodName> = z.input<(typeof METHODS)[M]["params"]>
export type MethodResult<M extends MethodName> = z.infer<(typeof METHODS)[M]["result"]>
