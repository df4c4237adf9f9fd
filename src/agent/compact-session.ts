/**
 * Compacts one session's transcript with a model: plan the cut, summarise the older turns, store the summary row and
 * the new context size. Used by runs (before a call that would overflow, or after an overflow error) and by
 * sessions.compact. A run may add the pre-compaction memory flush (memory-flush.ts): it gets the same serialised turns
 * the summariser gets, after the plan and before the summary call, so it also fits when the context has overflowed.
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
  /**
   * Called with the turns about to be summarised (serialised as for the summariser), after the plan and before the
   * summary call: the memory flush. Its usage is added to the compaction's.
   */
  beforeSummary?(model: M, transcript: string): Promise<Usage | undefined>
  /** A line appended to the stored summary (e.g. where durable notes live and how to search them). */
  note?: string
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
  // The note is context for the model, not part of the summary: the next summariser does not get it again.
  const prev = prevRow?.role === "summary" ? stripNote(prevRow.content, o.note) : undefined
  let summary = ""
  let usage = emptyUsage()
  const model = await o.model()
  const transcript = serializeForSummary(plan.summarize, prev)
  if (o.beforeSummary) {
    const flushUsage = await o.beforeSummary(model, transcript)
    if (flushUsage) usage = addUsage(usage, flushUsage)
  }
  for await (const ev of o.streamModel({
    model,
    system: SUMMARY_SYSTEM_PROMPT,
    messages: [{ role: "user", content: transcript }],
    tools: [],
    signal: o.signal,
  })) {
    if (ev.type === "text-delta") summary += ev.delta
    else if (ev.type === "finish") usage = addUsage(usage, ev.usage)
    else if (ev.type === "error") throw new CompactionError({ message: `compaction failed: ${ev.error.message}`, kind: ev.error.kind })
  }
  if (!summary.trim()) throw new CompactionError({ message: "compaction failed: the model returned an empty summary", kind: "compaction" })
  const content = o.note ? `${summary.trim()}\n\n${o.note}` : summary.trim()
  const row: TranscriptMessage = { role: "summary", content, tokensBefore, keepFromId: plan.keepFromId }
  o.repo.append(o.key, o.sessionId, [row], { runId: o.runId, model: o.modelRef, role: (m) => m.role })
  const tokensAfter = totalTokens(contextOf(o.repo.transcript<TranscriptMessage>(o.key, o.sessionId)))
  o.repo.noteCompaction(o.key, tokensAfter)
  return { tokensBefore, tokensAfter, usage }
}

function stripNote(summary: string, note?: string): string {
  return note && summary.endsWith(note) ? summary.slice(0, -note.length).trimEnd() : summary
}
