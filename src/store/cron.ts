/**
 * Repository for cron jobs, their run history and heartbeat beats, plus the two questions the heartbeat asks of the
 * runs table: which wakes wait for the next beat, and how many tokens beats spent today (their run ids are tagged
 * `heartbeat:`).
 */
import { and, asc, desc, eq, gte, like, sql } from "drizzle-orm"
import type { Db } from "./index.ts"
import { cronJobs, cronRuns, heartbeats } from "./schema/cron.sql.ts"
import { messages, runs } from "./schema/sessions.sql.ts"

export type CronJobRow = typeof cronJobs.$inferSelect
export type CronJobInsert = typeof cronJobs.$inferInsert
export type CronRunRow = typeof cronRuns.$inferSelect
export type HeartbeatRow = typeof heartbeats.$inferSelect

/** Run ids of heartbeat turns start with this: their usage is counted apart from everything else. */
export const HEARTBEAT_RUN_PREFIX = "heartbeat:"

/** History kept per job; older entries are pruned when a run is recorded. */
const RUNS_KEPT = 200

export class CronRepo {
  constructor(private db: Db) {}

  list(): CronJobRow[] {
    return this.db.select().from(cronJobs).orderBy(asc(cronJobs.createdAtMs), asc(cronJobs.id)).all()
  }

  get(id: string): CronJobRow | undefined {
    return this.db.select().from(cronJobs).where(eq(cronJobs.id, id)).get()
  }

  insert(row: CronJobInsert): CronJobRow {
    return this.db.insert(cronJobs).values(row).returning().get()
  }

  update(id: string, fields: Partial<CronJobInsert>): CronJobRow | undefined {
    return this.db.update(cronJobs).set(fields).where(eq(cronJobs.id, id)).returning().get()
  }

  /** The job and its history go together. */
  remove(id: string): boolean {
    return this.db.transaction((tx) => {
      tx.delete(cronRuns).where(eq(cronRuns.jobId, id)).run()
      return tx.delete(cronJobs).where(eq(cronJobs.id, id)).returning({ id: cronJobs.id }).all().length > 0
    })
  }

  /** Records a finished (or skipped) run and keeps the newest RUNS_KEPT per job. */
  addRun(row: Omit<typeof cronRuns.$inferInsert, "id">): void {
    this.db.transaction((tx) => {
      tx.insert(cronRuns).values(row).run()
      const cutoff = tx
        .select({ id: cronRuns.id })
        .from(cronRuns)
        .where(eq(cronRuns.jobId, row.jobId))
        .orderBy(desc(cronRuns.id))
        .limit(1)
        .offset(RUNS_KEPT)
        .get()
      if (cutoff)
        tx.delete(cronRuns)
          .where(and(eq(cronRuns.jobId, row.jobId), sql`${cronRuns.id} <= ${cutoff.id}`))
          .run()
    })
  }

  /** Runs of every job that ended after `since`, oldest first, with the job's name (what the heartbeat reports). */
  runsSince(since: number, limit = 20): (CronRunRow & { name: string })[] {
    return this.db
      .select({ run: cronRuns, name: cronJobs.name })
      .from(cronRuns)
      .innerJoin(cronJobs, eq(cronJobs.id, cronRuns.jobId))
      .where(sql`${cronRuns.ts} > ${since}`)
      .orderBy(asc(cronRuns.id))
      .limit(limit)
      .all()
      .map((r) => ({ ...r.run, name: r.name }))
  }

  /** Newest first. */
  runs(jobId: string, limit: number): CronRunRow[] {
    return this.db.select().from(cronRuns).where(eq(cronRuns.jobId, jobId)).orderBy(desc(cronRuns.id)).limit(limit).all()
  }

  // ---- heartbeat ----------------------------------------------------------------------------------------------

  addBeat(row: Omit<typeof heartbeats.$inferInsert, "id">): HeartbeatRow {
    const beat = this.db.insert(heartbeats).values(row).returning().get()
    // Only the latest beat and the latest one that made a model call are read back; a short tail is kept besides.
    const called = this.lastCalledBeat()?.id ?? 0
    this.db
      .delete(heartbeats)
      .where(and(sql`${heartbeats.id} <= ${beat.id - 100}`, sql`${heartbeats.id} <> ${called}`))
      .run()
    return beat
  }

  lastBeat(): HeartbeatRow | undefined {
    return this.db.select().from(heartbeats).orderBy(desc(heartbeats.id)).limit(1).get()
  }

  /** The last beat that made a model call. */
  lastCalledBeat(): HeartbeatRow | undefined {
    return this.db.select().from(heartbeats).where(sql`${heartbeats.runId} is not null`).orderBy(desc(heartbeats.id)).limit(1).get()
  }

  /** Wakes (mode next-heartbeat) of a session still waiting for a beat, oldest first. */
  deferred(sessionKey: string): { runId: string; input: string | null; acceptedAt: number | null }[] {
    return this.db
      .select({ runId: runs.runId, input: runs.input, acceptedAt: runs.acceptedAt })
      .from(runs)
      .where(and(eq(runs.sessionKey, sessionKey), eq(runs.status, "deferred")))
      .orderBy(asc(runs.acceptedAt), asc(runs.runId))
      .all()
  }

  /** Deferred wakes a beat carried end with the beat's outcome (agent.wait on them answers with it). */
  endDeferred(runIds: string[], carrier: string, end: { status: string; text?: string; error?: string }): void {
    if (!runIds.length) return
    const now = Date.now()
    this.db.transaction((tx) => {
      for (const id of runIds) {
        tx.update(runs)
          .set({ status: end.status, carriedBy: carrier, text: end.text ?? null, error: end.error ?? null, endedAt: now })
          .where(and(eq(runs.runId, id), eq(runs.status, "deferred")))
          .run()
      }
    })
  }

  /** Drops a run's rows from its transcript (an acknowledged heartbeat: nothing happened worth keeping in context). */
  pruneTranscript(runId: string): number {
    return this.db.delete(messages).where(eq(messages.runId, runId)).returning({ id: messages.id }).all().length
  }

  /** Tokens and cost of heartbeat turns started since `since`. */
  heartbeatUsageSince(since: number): { tokens: number; cost: number; beats: number } {
    const row = this.db
      .select({
        tokens: sql<number>`coalesce(sum(${runs.totalTokens}), 0)`,
        cost: sql<number>`coalesce(sum(${runs.costUsd}), 0)`,
        beats: sql<number>`count(*)`,
      })
      .from(runs)
      .where(and(like(runs.runId, `${HEARTBEAT_RUN_PREFIX}%`), gte(runs.startedAt, since)))
      .get()
    return { tokens: row?.tokens ?? 0, cost: row?.cost ?? 0, beats: row?.beats ?? 0 }
  }
}
