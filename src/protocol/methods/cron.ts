/**
 * Cron and heartbeat methods with OpenClaw's names and shapes: cron.list|status|add|update|remove|run|runs,
 * last-heartbeat, set-heartbeats; and the `cron` and `heartbeat` event payloads. Job results are loose objects:
 * OpenClaw's jobs carry more fields (declarationKey, configRevision, …) and a client must accept what it does not know.
 */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { method, NoParams } from "./define.ts"

export const CronSchedule = lazy(() =>
  z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("at"), at: z.string().min(1).describe("ISO 8601 time; without an offset it is UTC") }),
    z.object({
      kind: z.literal("every"),
      everyMs: z.number().int().min(1000),
      anchorMs: z.number().optional().describe("Runs fall on anchorMs + n * everyMs (default: when the job was added)"),
    }),
    z.object({
      kind: z.literal("cron"),
      expr: z.string().min(1).describe("5 or 6 field cron expression (croner)"),
      tz: z.string().optional().describe("IANA time zone, e.g. Asia/Seoul (default: the gateway's)"),
    }),
  ]),
)

export const CronPayload = lazy(() =>
  z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("systemEvent"), text: z.string().min(1).describe("Put into the main session") }),
    z.object({
      kind: z.literal("agentTurn"),
      message: z.string().min(1).describe("An agent turn in the session cron:<jobId>"),
      model: z.string().optional(),
      thinking: z.string().optional(),
      timeoutSeconds: z.number().int().min(1).optional(),
      lightContext: z
        .boolean()
        .optional()
        .describe("Default true: each run sees only its own messages, not earlier runs of cron:<jobId> (as OpenClaw's fresh session per run)"),
    }),
  ]),
)

export const CronDelivery = lazy(() =>
  z.object({
    mode: z.enum(["none", "announce"]).describe("announce: the run's reply is sent to channel/to through the outbox"),
    channel: z.string().optional().describe("telegram | discord"),
    to: z.string().optional().describe("Chat id on that channel"),
  }),
)

const SessionTarget = () => z.enum(["main", "isolated"])
const WakeMode = () => z.enum(["now", "next-heartbeat"])
const Missed = () => z.enum(["skip", "run-once"]).describe("A run due while the gateway was down: skip it, or run once at start")

export const CronJobState = lazy(() =>
  z.object({
    nextRunAtMs: z.number().optional(),
    runningAtMs: z.number().optional().describe("Scheduled time of the run in flight"),
    lastRunAtMs: z.number().optional(),
    lastStatus: z.enum(["ok", "error", "skipped"]).optional(),
    lastError: z.string().optional(),
    lastDurationMs: z.number().optional(),
  }),
)

export const CronJob = lazy(() =>
  z
    .object({
      id: z.string(),
      name: z.string(),
      description: z.string().optional(),
      agentId: z.string().optional().describe("OpenClaw leaves it out for jobs of the default agent; ours always carry it"),
      effectiveAgentId: z.string().optional(),
      enabled: z.boolean(),
      createdAtMs: z.number(),
      updatedAtMs: z.number(),
      schedule: CronSchedule(),
      sessionTarget: SessionTarget(),
      wakeMode: WakeMode(),
      payload: CronPayload(),
      delivery: CronDelivery().optional(),
      deleteAfterRun: z.boolean().optional(),
      missed: Missed().optional(),
      state: CronJobState(),
      nextRunAtMs: z.number().optional(),
    })
    .loose(),
)
export type CronJob = z.infer<ReturnType<typeof CronJob>>

const JobFields = () => ({
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  schedule: CronSchedule(),
  sessionTarget: SessionTarget().optional().describe("Default: main for systemEvent, isolated for agentTurn"),
  wakeMode: WakeMode().optional(),
  payload: CronPayload(),
  delivery: CronDelivery().optional(),
  agentId: z.string().optional(),
  enabled: z.boolean().optional(),
  deleteAfterRun: z.boolean().optional().describe("Remove the job after a successful run (default for `at` jobs)"),
  missed: Missed().optional(),
})

export const CronAddParams = lazy(() => z.strictObject(JobFields()))
export type CronAddParams = z.infer<ReturnType<typeof CronAddParams>>
export const CronPatch = lazy(() => z.strictObject(JobFields()).partial())
export type CronPatch = z.infer<ReturnType<typeof CronPatch>>

/** OpenClaw takes the job as `id` or `jobId`. */
const JobRef = () => ({ id: z.string().min(1).optional(), jobId: z.string().min(1).optional() })
const needsId = (p: { id?: string; jobId?: string }) => !!(p.id ?? p.jobId)
const ID_MESSAGE = { message: "id (or jobId) is required" }

export const CronRunEntry = lazy(() =>
  z.object({
    ts: z.number(),
    jobId: z.string(),
    action: z.literal("finished"),
    status: z.enum(["ok", "error", "skipped"]),
    error: z.string().optional(),
    summary: z.string().optional(),
    runAtMs: z.number(),
    durationMs: z.number(),
    nextRunAtMs: z.number().optional(),
    runId: z.string().optional().describe("The agent run it started"),
  }),
)

export const HeartbeatEvent = lazy(() =>
  z.object({
    ts: z.number(),
    status: z.enum(["sent", "ok-empty", "ok-token", "skipped", "failed"]),
    to: z.string().optional(),
    preview: z.string().optional(),
    durationMs: z.number().optional(),
    hasMedia: z.boolean().optional(),
    reason: z.string().optional(),
    channel: z.string().optional(),
    silent: z.boolean().optional(),
    runId: z.string().optional().describe("The heartbeat turn, when a model call was made"),
  }),
)
export type HeartbeatEvent = z.infer<ReturnType<typeof HeartbeatEvent>>

export const CronEvent = lazy(() =>
  z.object({
    jobId: z.string(),
    action: z.enum(["added", "updated", "removed", "started", "finished"]),
    runAtMs: z.number().optional(),
    durationMs: z.number().optional(),
    status: z.enum(["ok", "error", "skipped"]).optional(),
    error: z.string().optional(),
    summary: z.string().optional(),
    nextRunAtMs: z.number().optional(),
  }),
)
export type CronEvent = z.infer<ReturnType<typeof CronEvent>>

export const HeartbeatStatus = lazy(() =>
  z.object({
    enabled: z.boolean().describe("Beats are on (config agents.defaults.heartbeat.every > 0 and not switched off by set-heartbeats)"),
    everyMs: z.number(),
    nextBeatAtMs: z.number().optional(),
    tokensToday: z.number().describe("Tokens heartbeat turns used today (UTC), counted apart from other runs"),
    costUsdToday: z.number(),
    dailyTokenBudget: z.number().optional(),
  }),
)

export const cronList = method(
  "cron.list",
  "operator.read",
  () =>
    z
      .strictObject({
        includeDisabled: z.boolean().optional(),
        limit: z.number().int().min(1).max(1000).optional(),
        offset: z.number().int().min(0).optional(),
        query: z.string().optional(),
      })
      .optional()
      .default({}),
  () =>
    z.object({
      jobs: z.array(CronJob()),
      total: z.number().int(),
      offset: z.number().int(),
      limit: z.number().int(),
      hasMore: z.boolean(),
      nextOffset: z.number().int().nullable().describe("Offset of the next page; null on the last one (as OpenClaw)"),
    }),
)

export const cronStatus = method("cron.status", "operator.read", NoParams, () =>
  z.object({
    enabled: z.boolean(),
    storePath: z.string().describe("The SQLite database holding the jobs"),
    jobs: z.number().int(),
    nextWakeAtMs: z.number().nullable(),
    running: z.array(z.string()).describe("Ids of jobs with a run in flight"),
    heartbeat: HeartbeatStatus(),
  }),
)

export const cronAdd = method("cron.add", "operator.admin", CronAddParams, CronJob)

export const cronUpdate = method(
  "cron.update",
  "operator.admin",
  () => z.strictObject({ ...JobRef(), patch: CronPatch() }).refine(needsId, ID_MESSAGE),
  CronJob,
)

export const cronRemove = method(
  "cron.remove",
  "operator.admin",
  () => z.strictObject(JobRef()).refine(needsId, ID_MESSAGE),
  () => z.object({ ok: z.literal(true), removed: z.boolean() }),
)

export const cronRun = method(
  "cron.run",
  "operator.admin",
  () =>
    z
      .strictObject({ ...JobRef(), mode: z.enum(["due", "force"]).optional().describe("due: only when it is due; force (default): now") })
      .refine(needsId, ID_MESSAGE),
  () =>
    z.object({
      ok: z.literal(true),
      ran: z.boolean(),
      reason: z.string().optional().describe("Why it did not run: not-due | already-running | disabled"),
      runAtMs: z.number().optional(),
    }),
)

export const cronRuns = method(
  "cron.runs",
  "operator.read",
  () => z.strictObject({ ...JobRef(), limit: z.number().int().min(1).max(200).optional() }).refine(needsId, ID_MESSAGE),
  () => z.object({ entries: z.array(CronRunEntry()) }),
)

export const lastHeartbeat = method("last-heartbeat", "operator.read", NoParams, () => HeartbeatEvent().nullable())

export const setHeartbeats = method(
  "set-heartbeats",
  "operator.admin",
  () => z.strictObject({ enabled: z.boolean() }),
  () => z.object({ ok: z.literal(true), enabled: z.boolean() }),
)
