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
    this.db.update(sessions).set({ ...fields, updatedAt: Date.now() }).where(eq(sessions.key, key)).run()
    return this.get(key)
  }

  /** Starts a fresh transcript under the same key; the old messages stay in the database. */
  reset(key: string): SessionRow | undefined {
    this.db
      .update(sessions)
      .set({ sessionId: crypto.randomUUID(), contextTokens: 0, updatedAt: Date.now() })
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
          .values({ sessionKey: key, sessionId, body: JSON.stringify(m), role: meta.role(m), runId: meta.runId ?? null, model: meta.model ?? null, createdAt: now })
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

  // ---- runs ---------------------------------------------------------------------------------------------------

  /** Records an accepted run before it is acknowledged, so a restart can still run it. */
  queueRun(run: { runId: string; sessionKey: string; agentId: string; input: unknown }): boolean {
    const inserted = this.db
      .insert(runs)
      .values({ runId: run.runId, sessionKey: run.sessionKey, agentId: run.agentId, input: JSON.stringify(run.input), status: "queued", startedAt: Date.now() })
      .onConflictDoNothing()
      .returning({ runId: runs.runId })
      .all()
    return inserted.length > 0
  }

  markRunning(runId: string, sessionKey: string, model?: string): void {
    this.db.update(runs).set({ status: "running", startedAt: Date.now(), model: model ?? null }).where(eq(runs.runId, runId)).run()
    this.db.update(sessions).set({ lastRunId: runId }).where(eq(sessions.key, sessionKey)).run()
  }

  queuedRuns(): RunRow[] {
    return this.db.select().from(runs).where(eq(runs.status, "queued")).orderBy(asc(runs.startedAt)).all()
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

  /** Runs left "running" by a crash or kill -9 are finished as errors at start-up, so waiters get an answer. */
  failInterruptedRuns(): number {
    return this.db
      .update(runs)
      .set({ status: "error", error: "interrupted: the gateway stopped during this run", endedAt: Date.now() })
      .where(eq(runs.status, "running"))
      .returning({ runId: runs.runId })
      .all().length
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
