/** Repository for the chat channels: pairing codes, approved senders and the reply outbox. */
import { and, asc, eq, inArray, lte, or, sql } from "drizzle-orm"
import type { Db } from "./index.ts"
import { channelAllow, channelPairing, outbox } from "./schema/channels.sql.ts"

export type PairingRow = typeof channelPairing.$inferSelect
export type OutboxRow = typeof outbox.$inferSelect

export class ChannelRepo {
  constructor(private db: Db) {}

  // ---- senders allowed to DM ----------------------------------------------------------------------------------

  isAllowed(channel: string, senderId: string): boolean {
    return !!this.db
      .select({ s: channelAllow.senderId })
      .from(channelAllow)
      .where(and(eq(channelAllow.channel, channel), eq(channelAllow.senderId, senderId)))
      .get()
  }

  allow(channel: string, senderId: string, via: string, senderName?: string): void {
    this.db
      .insert(channelAllow)
      .values({ channel, senderId, via, senderName: senderName ?? null, createdAt: Date.now() })
      .onConflictDoNothing()
      .run()
  }

  // ---- pairing ------------------------------------------------------------------------------------------------

  /** The sender's live pending request, if any. */
  pendingFor(channel: string, senderId: string, now = Date.now()): PairingRow | undefined {
    return this.db
      .select()
      .from(channelPairing)
      .where(and(eq(channelPairing.channel, channel), eq(channelPairing.senderId, senderId), eq(channelPairing.status, "pending")))
      .all()
      .find((r) => r.expiresAt > now)
  }

  /** Live pending requests, for one channel or all. Expired ones are marked so on the way. */
  pending(channel?: string, now = Date.now()): PairingRow[] {
    this.db
      .update(channelPairing)
      .set({ status: "expired", decidedAt: now })
      .where(and(eq(channelPairing.status, "pending"), lte(channelPairing.expiresAt, now)))
      .run()
    return this.db
      .select()
      .from(channelPairing)
      .where(channel ? and(eq(channelPairing.status, "pending"), eq(channelPairing.channel, channel)) : eq(channelPairing.status, "pending"))
      .orderBy(asc(channelPairing.createdAt))
      .all()
  }

  addPairing(row: Omit<PairingRow, "status" | "decidedAt">): void {
    this.db
      .insert(channelPairing)
      .values({ ...row, status: "pending", decidedAt: null })
      .run()
  }

  getPairing(code: string): PairingRow | undefined {
    return this.db.select().from(channelPairing).where(eq(channelPairing.code, code)).get()
  }

  /** Approves (the sender may DM from now on) or dismisses a pending code. False when no such live code. */
  decidePairing(code: string, decision: "approved" | "dismissed", now = Date.now()): PairingRow | undefined {
    return this.db.transaction((tx) => {
      const row = tx.select().from(channelPairing).where(eq(channelPairing.code, code)).get()
      if (row?.status !== "pending" || row.expiresAt <= now) return undefined
      tx.update(channelPairing).set({ status: decision, decidedAt: now }).where(eq(channelPairing.code, code)).run()
      if (decision === "approved") {
        tx.insert(channelAllow)
          .values({ channel: row.channel, senderId: row.senderId, senderName: row.senderName, via: "pairing", createdAt: now })
          .onConflictDoNothing()
          .run()
      }
      return { ...row, status: decision, decidedAt: now }
    })
  }

  // ---- outbox -------------------------------------------------------------------------------------------------

  /** Queues messages; a key already queued is left as it is (idempotent). Returns how many were new. */
  enqueue(rows: { key: string; runId?: string; channel: string; accountId?: string; target: unknown; kind: "text" | "file" | "edit"; body: string }[]): number {
    const now = Date.now()
    return this.db.transaction((tx) => {
      let added = 0
      for (const r of rows) {
        const inserted = tx
          .insert(outbox)
          .values({
            key: r.key,
            runId: r.runId ?? null,
            channel: r.channel,
            accountId: r.accountId ?? null,
            target: JSON.stringify(r.target),
            kind: r.kind,
            body: r.body,
            status: "pending",
            nextAttemptAt: now,
            createdAt: now,
          })
          .onConflictDoNothing()
          .returning({ id: outbox.id })
          .all()
        added += inserted.length
      }
      return added
    })
  }

  /** Pending messages of a channel, oldest first (due or waiting for a retry). */
  pendingRows(channel: string, limit = 100): OutboxRow[] {
    return this.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.channel, channel), eq(outbox.status, "pending")))
      .orderBy(asc(outbox.id))
      .limit(limit)
      .all()
  }

  /** Runs that ended ok since `since` with a channel reply target and nothing in the outbox for them. */
  finishedRunsWithoutOutbox(since: number): { runId: string; text: string | null }[] {
    const channelTarget = `%"kind":"channel"%`
    return this.db.all<{ runId: string; text: string | null }>(sql`
      select r.run_id as runId, r.text as text from runs r
      where r.status = 'ok' and r.ended_at > ${since}
        and (r.delivery like ${channelTarget}
             or exists (select 1 from runs c where c.carried_by = r.run_id and c.delivery like ${channelTarget}))
        and not exists (select 1 from outbox o where o.run_id = r.run_id)`)
  }

  /** The earliest time a pending message of the channel becomes due. */
  nextDueAt(channel: string): number | undefined {
    return (
      this.db
        .select({ t: sql<number>`min(${outbox.nextAttemptAt})` })
        .from(outbox)
        .where(and(eq(outbox.channel, channel), eq(outbox.status, "pending")))
        .get()?.t ?? undefined
    )
  }

  markSending(id: number): void {
    this.db
      .update(outbox)
      .set({ status: "sending", attempts: sql`${outbox.attempts} + 1` })
      .where(eq(outbox.id, id))
      .run()
  }

  markSent(id: number, platformMessageId: string): void {
    this.db.update(outbox).set({ status: "sent", platformMessageId, sentAt: Date.now(), lastError: null }).where(eq(outbox.id, id)).run()
  }

  markRetry(id: number, error: string, nextAttemptAt: number): void {
    this.db.update(outbox).set({ status: "pending", lastError: error, nextAttemptAt }).where(eq(outbox.id, id)).run()
  }

  markFailed(id: number, error: string): void {
    this.db.update(outbox).set({ status: "failed", lastError: error }).where(eq(outbox.id, id)).run()
  }

  /**
   * After a crash: a message left "sending" may or may not have reached the platform (it had been handed over, no
   * answer was recorded). It is sent again: at least once beats never; README says so.
   */
  requeueInterrupted(): number {
    return this.db.update(outbox).set({ status: "pending" }).where(eq(outbox.status, "sending")).returning({ id: outbox.id }).all().length
  }

  /** Whether a run's reply was already queued for delivery. */
  hasRun(runId: string): boolean {
    return !!this.db.select({ id: outbox.id }).from(outbox).where(eq(outbox.runId, runId)).get()
  }

  counts(channel: string): { pending: number; failed: number; sent: number } {
    const rows = this.db
      .select({ status: outbox.status, n: sql<number>`count(*)` })
      .from(outbox)
      .where(and(eq(outbox.channel, channel), or(inArray(outbox.status, ["pending", "sending", "failed", "sent"]))))
      .groupBy(outbox.status)
      .all()
    const by = Object.fromEntries(rows.map((r) => [r.status, r.n]))
    return { pending: (by.pending ?? 0) + (by.sending ?? 0), failed: by.failed ?? 0, sent: by.sent ?? 0 }
  }

  getByKey(key: string): OutboxRow | undefined {
    return this.db.select().from(outbox).where(eq(outbox.key, key)).get()
  }
}
