/**
 * Read-only views over runs and transcripts for the usage and UI methods: daily token and cost totals, message
 * counts per session, and input receipts (whether an accepted message reached its transcript). The rows are the
 * ones SessionRepo writes; nothing here writes.
 */
import { and, eq, gte, inArray, isNotNull, sql } from "drizzle-orm"
import type { Db } from "./index.ts"
import { messages, runs } from "./schema/sessions.sql.ts"

export interface UsageTotals {
  input: number
  output: number
  cacheRead: number
  cacheWrite: number
  totalTokens: number
  totalCost: number
  /** Runs that recorded tokens but no price (a model without cost in the config). */
  missingCostEntries: number
}

export interface DailyUsage extends UsageTotals {
  /** YYYY-MM-DD (UTC). */
  date: string
}

export interface InputReceipt {
  runId: string
  /** consumed: in the transcript; pending: accepted, not yet there; dropped: its run ended without it; missing: never accepted. */
  state: "consumed" | "pending" | "dropped" | "missing"
  consumedByEventId?: string
  status?: string
}

export function emptyTotals(): UsageTotals {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 0, totalCost: 0, missingCostEntries: 0 }
}

interface StoredUsage {
  input?: number
  output?: number
  cacheRead?: number
  cacheWrite?: number
  total?: number
  cost?: number
}

export class UsageRepo {
  constructor(private db: Db) {}

  /** Per UTC day, the runs that ended with usage since `since` (ms), oldest day first. */
  daily(since: number, opts: { agentId?: string } = {}): DailyUsage[] {
    const conds = [gte(runs.startedAt, since), isNotNull(runs.usage)]
    if (opts.agentId) conds.push(eq(runs.agentId, opts.agentId))
    const rows = this.db
      .select({ startedAt: runs.startedAt, usage: runs.usage, costUsd: runs.costUsd, totalTokens: runs.totalTokens })
      .from(runs)
      .where(and(...conds))
      .all()
    const byDay = new Map<string, DailyUsage>()
    for (const r of rows) {
      const date = new Date(r.startedAt).toISOString().slice(0, 10)
      const day = byDay.get(date) ?? { date, ...emptyTotals() }
      byDay.set(date, day)
      let u: StoredUsage = {}
      try {
        u = JSON.parse(r.usage!) as StoredUsage
      } catch {}
      day.input += u.input ?? 0
      day.output += u.output ?? 0
      day.cacheRead += u.cacheRead ?? 0
      day.cacheWrite += u.cacheWrite ?? 0
      day.totalTokens += u.total ?? r.totalTokens
      day.totalCost += u.cost ?? r.costUsd
      if ((u.total ?? r.totalTokens) > 0 && !(u.cost ?? r.costUsd)) day.missingCostEntries++
    }
    return [...byDay.values()].sort((a, b) => a.date.localeCompare(b.date))
  }

  /** User and assistant rows per session (the current transcript of each), for sessions.list's messageCount. */
  messageCounts(sessions: { key: string; sessionId: string }[]): Map<string, number> {
    const out = new Map<string, number>()
    if (!sessions.length) return out
    const rows = this.db
      .select({ key: messages.sessionKey, sessionId: messages.sessionId, n: sql<number>`count(*)` })
      .from(messages)
      .where(
        and(
          inArray(
            messages.sessionKey,
            sessions.map((s) => s.key),
          ),
          inArray(messages.role, ["user", "assistant"]),
        ),
      )
      .groupBy(messages.sessionKey, messages.sessionId)
      .all()
    const current = new Map(sessions.map((s) => [s.key, s.sessionId]))
    for (const s of sessions) out.set(s.key, 0)
    for (const r of rows) if (current.get(r.key) === r.sessionId) out.set(r.key, r.n)
    return out
  }

  /**
   * What became of accepted inputs (chat.send idempotency keys): a client that lost the acknowledgement of a send asks
   * here before retrying, so a retry is confirmed instead of duplicated.
   */
  receipts(runIds: string[]): InputReceipt[] {
    if (!runIds.length) return []
    const found = new Map(
      this.db
        .select({ runId: runs.runId, status: runs.status })
        .from(runs)
        .where(inArray(runs.runId, runIds))
        .all()
        .map((r) => [r.runId, r.status]),
    )
    const consumed = new Map(
      this.db
        .select({ inputId: messages.inputId, id: messages.id })
        .from(messages)
        .where(inArray(messages.inputId, runIds))
        .all()
        .map((r) => [r.inputId!, r.id]),
    )
    return runIds.map((runId) => {
      const id = consumed.get(runId)
      if (id !== undefined) return { runId, state: "consumed", consumedByEventId: String(id), status: found.get(runId) }
      const status = found.get(runId)
      if (!status) return { runId, state: "missing" }
      return { runId, state: ["queued", "running", "merged", "deferred"].includes(status) ? "pending" : "dropped", status }
    })
  }
}
