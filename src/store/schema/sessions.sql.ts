/** Sessions, their transcripts and their runs. */
import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core"

export const sessions = sqliteTable("sessions", {
  key: text("key").primaryKey(),
  /** Changes on reset: a new transcript starts, the old one stays on disk. */
  sessionId: text("session_id").notNull(),
  agentId: text("agent_id").notNull(),
  kind: text("kind").notNull(),
  label: text("label"),
  /** Per-session model override (sessions.patch). */
  model: text("model"),
  queueMode: text("queue_mode"),
  parentKey: text("parent_key"),
  depth: integer("depth").notNull().default(0),
  inputTokens: integer("input_tokens").notNull().default(0),
  outputTokens: integer("output_tokens").notNull().default(0),
  totalTokens: integer("total_tokens").notNull().default(0),
  costUsd: real("cost_usd").notNull().default(0),
  contextTokens: integer("context_tokens").notNull().default(0),
  compactionCount: integer("compaction_count").notNull().default(0),
  lastRunId: text("last_run_id"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
})

export const messages = sqliteTable(
  "messages",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    sessionKey: text("session_key").notNull(),
    sessionId: text("session_id").notNull(),
    /** A TranscriptMessage as JSON. */
    body: text("body").notNull(),
    role: text("role").notNull(),
    runId: text("run_id"),
    /** The accepted inbound message (runs.run_id) this user row records: at most one row per input. */
    inputId: text("input_id"),
    model: text("model"),
    usage: text("usage"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("messages_session").on(t.sessionKey, t.sessionId, t.id), index("messages_input").on(t.inputId)],
)

export const runs = sqliteTable(
  "runs",
  {
    runId: text("run_id").primaryKey(),
    sessionKey: text("session_key").notNull(),
    agentId: text("agent_id").notNull(),
    /**
     * Every accepted inbound message has a row, keyed by its idempotency key. Its own run: queued → running → ok |
     * error | aborted | timeout. Carried by another run (collect, steer): merged, with carried_by naming that run.
     * deferred: waits for the next heartbeat (wake mode next-heartbeat).
     */
    status: text("status").notNull(),
    /** The run's input (user message and options) as JSON, kept so a queued run survives a restart. */
    input: text("input"),
    /** The run that carries this message when it was merged into another (collect) or steered into one. */
    carriedBy: text("carried_by"),
    /** Which door it came through and from whom (Origin as JSON). */
    origin: text("origin"),
    /** Where the reply goes (DeliveryTarget as JSON). */
    delivery: text("delivery"),
    /** When the message was accepted (started_at is when its run started). */
    acceptedAt: integer("accepted_at"),
    model: text("model"),
    startedAt: integer("started_at").notNull(),
    endedAt: integer("ended_at"),
    error: text("error"),
    /** Final assistant text. */
    text: text("text"),
    usage: text("usage"),
    costUsd: real("cost_usd").notNull().default(0),
    totalTokens: integer("total_tokens").notNull().default(0),
  },
  (t) => [
    index("runs_started").on(t.startedAt),
    index("runs_session").on(t.sessionKey, t.startedAt),
    index("runs_status").on(t.status),
    index("runs_carried_by").on(t.carriedBy),
  ],
)
