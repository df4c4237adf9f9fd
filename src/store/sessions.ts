/**
 * Repository for sessions, transcripts and runs. Synchronous (bun:sqlite); every multi-row write is one transaction
 * so a crash leaves either the whole step or none of it.
 */
import { and, asc, desc, eq, gte, like, or, sql } from "drizzle-orm"
import type { Db } from "./index.ts"
import { messages, runs, sessions } from "./schema/sessions.sql.ts"

export type SessionRow = typeof sessions.$inferSelect
export type RunRow = typeof runs.$inferSelect

export interface StoredMessage<M = unknown> {
  id: number
  message: M
  runId: string | null
  model: string | null
  createdAt: number
}

export interface UsageDelta {
  input: number
  output: number
  total: number
  cost: number
  contextTokens?: number
}

export class SessionRepo {
  constructor(private db: Db) {}

  get(key: string): SessionRow | undefined {
    return this.db.select().from(sessions).where(eq(sessions.key, key)).get()
  }

  ensure(init: { key: string; agentId: string; kind: string; parentKey?: string; depth?: number; label?: string }): SessionRow {
    const existing = this.get(init.key)
    if (existing) return existing
    const now = Date.now()
    const row = {
      key: init.key,
      sessionId: crypto.randomUUID(),
      agentId: init.agentId,
      kind: init.kind,
      label: init.label ?? null,
      parentKey: init.parentKey ?? null,
      depth: init.depth ?? 0,
      createdAt: now,
      updatedAt: now,
    }
    this.db.insert(sessions).values(row).onConflictDoNothing().run()
    return this.get(init.key)!
  }

  list(opts: { limit?: number; search?: string; agentId?: string; activeSince?: number } = {}): SessionRow[] {
    const conds = []
    if (opts.agentId) conds.push(eq(sessions.agentId, opts.agentId))
    if (opts.activeSince) conds.push(gte(sessions.updatedAt, opts.activeSince))
    if (opts.search) conds.push(or(like(sessions.key, `%${opts.search}%`), like(sessions.label, `%${opts.search}%`)))
    return this.db
      .select()
      .from(sessions)
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(sessions.updatedAt))
      .limit(opts.limit ?? 100)
      .all()
  }

  count(): number {
    return this.db.select({ n: sql<number>`count(*)` }).from(sessions).get()?.n ?? 0
  }

  patch(key: string, fields: Partial<Pick<SessionRow, "label" | "model" | "queueMode">>): SessionRow | undefined {
    this.db
      .update(sessions)
      .set({ ...fields, updatedAt: Date.now() })
      .where(eq(sessions.key, key))
      .run()
    return this.get(key)
  }

  /** Starts a fresh transcript under the same key; the old messages stay in the database. */
  /**
   * A fresh transcript, and counters that describe it: a reset session showing the old token count reads as if the
   * old conversation were still in it. (Daily budgets sum the runs table, which keeps every run's usage.)
   */
  reset(key: string): SessionRow | undefined {
    this.db
      .update(sessions)
      .set({
        sessionId: crypto.randomUUID(),
        inputTokens: 0,
        outputTokens: 0,
        totalTokens: 0,
        costUsd: 0,
        contextTokens: 0,
        compactionCount: 0,
        updatedAt: Date.now(),
      })
      .where(eq(sessions.key, key))
      .run()
    return this.get(key)
  }

  delete(key: string, deleteTranscript: boolean): boolean {
    return this.db.transaction((tx) => {
      const gone = tx.delete(sessions).where(eq(sessions.key, key)).returning({ key: sessions.key }).all()
      if (deleteTranscript) tx.delete(messages).where(eq(messages.sessionKey, key)).run()
      return gone.length > 0
    })
  }

  /** Appends messages atomically and bumps the session's usage counters. */
  append<M>(key: string, sessionId: string, items: M[], meta: { runId?: string; model?: string; role: (m: M) => string }, usage?: UsageDelta): void {
    const now = Date.now()
    this.db.transaction((tx) => {
      for (const m of items) {
        tx.insert(messages)
          .values({
            sessionKey: key,
            sessionId,
            body: JSON.stringify(m),
            role: meta.role(m),
            runId: meta.runId ?? null,
            model: meta.model ?? null,
            createdAt: now,
          })
          .run()
      }
      tx.update(sessions)
        .set({
          updatedAt: now,
          ...(usage
            ? {
                inputTokens: sql`${sessions.inputTokens} + ${usage.input}`,
                outputTokens: sql`${sessions.outputTokens} + ${usage.output}`,
                totalTokens: sql`${sessions.totalTokens} + ${usage.total}`,
                costUsd: sql`${sessions.costUsd} + ${usage.cost}`,
                ...(usage.contextTokens !== undefined ? { contextTokens: usage.contextTokens } : {}),
              }
            : {}),
        })
        .where(eq(sessions.key, key))
        .run()
    })
  }

  transcript<M>(key: string, sessionId: string): StoredMessage<M>[] {
    return this.db
      .select()
      .from(messages)
      .where(and(eq(messages.sessionKey, key), eq(messages.sessionId, sessionId)))
      .orderBy(asc(messages.id))
      .all()
      .map((r) => ({ id: r.id, message: JSON.parse(r.body) as M, runId: r.runId, model: r.model, createdAt: r.createdAt }))
  }

  noteCompaction(key: string, contextTokens: number): void {
    this.db
      .update(sessions)
      .set({ compactionCount: sql`${sessions.compactionCount} + 1`, contextTokens, updatedAt: Date.now() })
      .where(eq(sessions.key, key))
      .run()
  }

  // ---- runs and accepted inputs -------------------------------------------------------------------------------

  /**
   * Records an accepted message before it is acknowledged, so a restart can still run (or re-home) it. False when
   * the id is already taken.
   */
  insertInput(row: {
    runId: string
    sessionKey: string
    agentId: string
    input: unknown
    status: "queued" | "merged" | "deferred"
    carriedBy?: string
    origin?: unknown
    delivery?: unknown
  }): boolean {
    const now = Date.now()
    const inserted = this.db
      .insert(runs)
      .values({
        runId: row.runId,
        sessionKey: row.sessionKey,
        agentId: row.agentId,
        input: JSON.stringify(row.input),
        status: row.status,
        carriedBy: row.carriedBy ?? null,
        origin: row.origin === undefined ? null : JSON.stringify(row.origin),
        delivery: row.delivery === undefined ? null : JSON.stringify(row.delivery),
        startedAt: now,
        acceptedAt: now,
      })
      .onConflictDoNothing()
      .returning({ runId: runs.runId })
      .all()
    return inserted.length > 0
  }

  markRunning(runId: string, sessionKey: string, model?: string): void {
    this.db.transaction((tx) => {
      tx.update(runs)
        .set({ status: "running", startedAt: Date.now(), model: model ?? null })
        .where(eq(runs.runId, runId))
        .run()
      tx.update(sessions).set({ lastRunId: runId }).where(eq(sessions.key, sessionKey)).run()
    })
  }

  /** Inputs carried by a run (collect-merged or steered into it), in the order they were accepted. */
  carriedBy(runId: string): RunRow[] {
    return this.db
      .select()
      .from(runs)
      .where(and(eq(runs.carriedBy, runId), eq(runs.status, "merged")))
      .orderBy(asc(runs.acceptedAt), asc(runs.runId))
      .all()
  }

  /** Whether an accepted input is in a transcript (a user row records it). */
  hasInput(inputId: string): boolean {
    return !!this.db.select({ id: messages.id }).from(messages).where(eq(messages.inputId, inputId)).get()
  }

  /**
   * Appends the user rows of accepted inputs that are not in the transcript yet, in one transaction: starting (or
   * resuming after a crash) a run is idempotent, and no message is ever recorded twice.
   */
  appendInputs(key: string, sessionId: string, runId: string, inputs: { inputId: string; message: string }[]): number {
    const now = Date.now()
    return this.db.transaction((tx) => {
      let added = 0
      for (const i of inputs) {
        if (tx.select({ id: messages.id }).from(messages).where(eq(messages.inputId, i.inputId)).get()) continue
        tx.insert(messages)
          .values({
            sessionKey: key,
            sessionId,
            body: JSON.stringify({ role: "user", content: i.message }),
            role: "user",
            runId,
            inputId: i.inputId,
            createdAt: now,
          })
          .run()
        added++
      }
      if (added) tx.update(sessions).set({ updatedAt: now }).where(eq(sessions.key, key)).run()
      return added
    })
  }

  /**
   * Gives inputs that their carrier could not take (steered after its last step, or left behind by a crash) a run of
   * their own: the first becomes a queued run, the others are carried by it.
   */
  rehome(inputIds: string[]): string | undefined {
    const [first, ...rest] = inputIds
    if (!first) return undefined
    this.db.transaction((tx) => {
      tx.update(runs).set({ status: "queued", carriedBy: null }).where(eq(runs.runId, first)).run()
      for (const id of rest) tx.update(runs).set({ status: "merged", carriedBy: first }).where(eq(runs.runId, id)).run()
    })
    return first
  }

  /** Runs to pick up after a restart: cut off while running first, then queued ones, each in acceptance order. */
  unfinishedRuns(): RunRow[] {
    const rows = this.db
      .select()
      .from(runs)
      .where(or(eq(runs.status, "running"), eq(runs.status, "queued")))
      .all()
    const rank = (r: RunRow) => (r.status === "running" ? 0 : 1)
    return rows.sort((a, b) => rank(a) - rank(b) || (a.acceptedAt ?? a.startedAt) - (b.acceptedAt ?? b.startedAt))
  }

  /** Merged inputs whose carrier ended (or vanished) without them in its transcript: they still need a run. */
  strandedInputs(): RunRow[] {
    const merged = this.db.select().from(runs).where(eq(runs.status, "merged")).orderBy(asc(runs.acceptedAt)).all()
    return merged.filter((r) => {
      if (this.hasInput(r.runId)) return false
      const carrier = r.carriedBy ? this.getRun(r.carriedBy) : undefined
      return !carrier || !["queued", "running", "merged"].includes(carrier.status)
    })
  }

  /** Ends every input a run carried with the run's own status (an abort drops them with it). */
  endCarried(runId: string, status: string, error?: string): void {
    this.db
      .update(runs)
      .set({ status, error: error ?? null, endedAt: Date.now() })
      .where(and(eq(runs.carriedBy, runId), eq(runs.status, "merged")))
      .run()
  }

  endRun(runId: string, end: { status: string; error?: string; text?: string; usage?: unknown; costUsd?: number; totalTokens?: number; model?: string }): void {
    this.db
      .update(runs)
      .set({
        status: end.status,
        error: end.error ?? null,
        text: end.text ?? null,
        usage: end.usage === undefined ? null : JSON.stringify(end.usage),
        costUsd: end.costUsd ?? 0,
        totalTokens: end.totalTokens ?? 0,
        endedAt: Date.now(),
        ...(end.model ? { model: end.model } : {}),
      })
      .where(eq(runs.runId, runId))
      .run()
  }

  getRun(runId: string): RunRow | undefined {
    return this.db.select().from(runs).where(eq(runs.runId, runId)).get()
  }

  /** Tokens and cost of runs started since `since` (daily budgets). */
  usageSince(since: number, agentId?: string): { tokens: number; cost: number } {
    const row = this.db
      .select({ tokens: sql<number>`coalesce(sum(${runs.totalTokens}), 0)`, cost: sql<number>`coalesce(sum(${runs.costUsd}), 0)` })
      .from(runs)
      .where(agentId ? and(gte(runs.startedAt, since), eq(runs.agentId, agentId)) : gte(runs.startedAt, since))
      .get()
    return { tokens: row?.tokens ?? 0, cost: row?.cost ?? 0 }
  }
}
