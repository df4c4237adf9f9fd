/**
 * Compacts one session's transcript with a model: plan the cut, summarise the older turns, store the summary row and
 * the new context size. Used by runs (before a call that would overflow, or after an overflow error) and by
 * sessions.compact.
 */
import type { SessionRepo } from "../store/sessions.ts"
import { CompactionError } from "./errors.ts"
import { SUMMARY_SYSTEM_PROMPT, contextOf, planCompaction, serializeForSummary, totalTokens } from "./compaction.ts"
import type { ModelHandle, StreamModel } from "./model-types.ts"
import { addUsage, emptyUsage, type TranscriptMessage, type Usage } from "./types.ts"

export interface CompactOptions<M extends ModelHandle> {
  repo: SessionRepo
  key: string
  sessionId: string
  keepRecentTokens: number
  /** Resolved only when there is something to compact (a session may have nothing to do and no model). */
  model: () => Promise<M>
  streamModel: StreamModel<M>
  signal: AbortSignal
  /** Recorded on the summary row. */
  runId?: string
  modelRef?: string
  /** Called once the plan is made, before the (slow) summary call. */
  onStart?(tokensBefore: number): void
}

/** Undefined when there is nothing worth compacting. */
export async function compactSession<M extends ModelHandle>(
  o: CompactOptions<M>,
): Promise<{ tokensBefore: number; tokensAfter: number; usage: Usage } | undefined> {
  const rows = o.repo.transcript<TranscriptMessage>(o.key, o.sessionId)
  const plan = planCompaction(rows, o.keepRecentTokens)
  if (!plan) return undefined
  const tokensBefore = totalTokens(contextOf(rows))
  o.onStart?.(tokensBefore)
  const prevRow = [...rows].reverse().find((r) => r.message.role === "summary")?.message
  const prev = prevRow?.role === "summary" ? prevRow.content : undefined
  let summary = ""
  let usage = emptyUsage()
  const model = await o.model()
  for await (const ev of o.streamModel({
    model,
    system: SUMMARY_SYSTEM_PROMPT,
    messages: [{ role: "user", content: serializeForSummary(plan.summarize, prev) }],
    tools: [],
    signal: o.signal,
  })) {
    if (ev.type === "text-delta") summary += ev.delta
    else if (ev.type === "finish") usage = addUsage(usage, ev.usage)
    else if (ev.type === "error") throw new CompactionError({ message: `compaction failed: ${ev.error.message}`, kind: ev.error.kind })
  }
  if (!summary.trim()) throw new CompactionError({ message: "compaction failed: the model returned an empty summary", kind: "compaction" })
  const row: TranscriptMessage = { role: "summary", content: summary.trim(), tokensBefore, keepFromId: plan.keepFromId }
  o.repo.append(o.key, o.sessionId, [row], { runId: o.runId, model: o.modelRef, role: (m) => m.role })
  const tokensAfter = totalTokens(contextOf(o.repo.transcript<TranscriptMessage>(o.key, o.sessionId)))
  o.repo.noteCompaction(o.key, tokensAfter)
  return { tokensBefore, tokensAfter, usage }
}
