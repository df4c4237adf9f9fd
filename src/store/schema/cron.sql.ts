/** Cron jobs, their run history, and the heartbeat's beats. */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core"

export const cronJobs = sqliteTable("cron_jobs", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  description: text("description"),
  agentId: text("agent_id").notNull(),
  enabled: integer("enabled", { mode: "boolean" }).notNull(),
  /** CronSchedule as JSON: at / every / cron. */
  schedule: text("schedule").notNull(),
  /** main: a system event into the main session; isolated: an agent turn in cron:<id>. */
  sessionTarget: text("session_target").notNull(),
  wakeMode: text("wake_mode").notNull(),
  /** CronPayload as JSON. */
  payload: text("payload").notNull(),
  /** CronDelivery as JSON. */
  delivery: text("delivery"),
  deleteAfterRun: integer("delete_after_run", { mode: "boolean" }).notNull().default(false),
  /** A run missed while the gateway was down: skip (record it skipped) or run-once (one run now, however many were missed). */
  missed: text("missed").notNull().default("skip"),
  createdAtMs: integer("created_at_ms").notNull(),
  updatedAtMs: integer("updated_at_ms").notNull(),
  nextRunAtMs: integer("next_run_at_ms"),
  /** Set while a run is in flight (its scheduled time): after a crash the same run is picked up, never a second one. */
  runningAtMs: integer("running_at_ms"),
  lastRunAtMs: integer("last_run_at_ms"),
  lastStatus: text("last_status"),
  lastError: text("last_error"),
  lastDurationMs: integer("last_duration_ms"),
})

export const cronRuns = sqliteTable(
  "cron_runs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    jobId: text("job_id").notNull(),
    /** The agent run (runs.run_id) it started, when it started one. */
    runId: text("run_id"),
    /** When it ended. */
    ts: integer("ts").notNull(),
    /** The scheduled time it ran for. */
    runAtMs: integer("run_at_ms").notNull(),
    durationMs: integer("duration_ms").notNull(),
    /** ok | error | skipped */
    status: text("status").notNull(),
    error: text("error"),
    summary: text("summary"),
    nextRunAtMs: integer("next_run_at_ms"),
  },
  (t) => [index("cron_runs_job").on(t.jobId, t.id)],
)

export const heartbeats = sqliteTable("heartbeats", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  ts: integer("ts").notNull(),
  /** sent | ok-empty | ok-token | skipped | failed (OpenClaw's heartbeat event vocabulary). */
  status: text("status").notNull(),
  reason: text("reason"),
  runId: text("run_id"),
  durationMs: integer("duration_ms"),
  preview: text("preview"),
  to: text("to"),
  channel: text("channel"),
})
