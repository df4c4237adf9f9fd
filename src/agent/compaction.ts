/**
 * Compaction: when the context nears the window, older turns are summarised by the model (goal, decisions,
 * progress, next steps) and replaced by that summary; recent turns stay verbatim. The cut always falls on a user
 * message, so an assistant tool call is never separated from its results. The full history stays in the database.
 */
import { messageText, type TranscriptMessage } from "./types.ts"

export interface Stored {
  id: number
  message: TranscriptMessage
}

/** A summary row remembers where the verbatim part starts. */
type SummaryBody = Extract<TranscriptMessage, { role: "summary" }>

/** ~4 characters per token: cheap, provider-independent, and errs high for code and JSON. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4)
}

export function messageTokens(m: TranscriptMessage): number {
  if (m.role === "assistant") {
    return estimateTokens(m.content.map((p) => (p.type === "text" ? p.text : `${p.toolName}(${JSON.stringify(p.input)})`)).join("\n")) + 4
  }
  return estimateTokens(m.content) + 4
}

export function totalTokens(messages: TranscriptMessage[], system = ""): number {
  return messages.reduce((n, m) => n + messageTokens(m), estimateTokens(system))
}

/** The messages a model sees: the latest summary (if any) followed by everything from its keepFromId on. */
export function contextOf(rows: Stored[]): TranscriptMessage[] {
  let lastSummary: (Stored & { message: SummaryBody }) | undefined
  for (const r of rows) if (r.message.role === "summary") lastSummary = r as Stored & { message: SummaryBody }
  if (!lastSummary) return rows.map((r) => r.message)
  const keepFrom = lastSummary.message.keepFromId ?? lastSummary.id
  const kept = rows.filter((r) => r.id >= keepFrom && r.message.role !== "summary").map((r) => r.message)
  return [{ role: "summary", content: lastSummary.message.content, tokensBefore: lastSummary.message.tokensBefore }, ...kept]
}

/**
 * Chooses what to summarise: everything before the most recent user message that still leaves at least
 * `keepRecentTokens` of history after it (or the last user message if even that is too big). Returns undefined when
 * there is nothing worth compacting.
 */
export function planCompaction(rows: Stored[], keepRecentTokens: number): { summarize: Stored[]; keepFromId: number } | undefined {
  const live = rows.filter((r) => r.message.role !== "summary")
  if (live.length < 2) return undefined
  let acc = 0
  let cut = -1
  for (let i = live.length - 1; i >= 0; i--) {
    acc += messageTokens(live[i]!.message)
    if (live[i]!.message.role === "user") {
      cut = i
      if (acc >= keepRecentTokens) break
    }
  }
  if (cut <= 0) return undefined
  return { summarize: live.slice(0, cut), keepFromId: live[cut]!.id }
}

export const SUMMARY_SYSTEM_PROMPT = `You compress a conversation between a user and an AI assistant so the assistant can continue without the original.
Write a structured summary in Markdown with exactly these sections:
## Goal
## Constraints & Preferences
## Key Decisions
## Progress
(Done / In progress / Blocked)
## Next Steps
## Critical Context
Copy file paths, identifiers, URLs, numbers and names exactly. Be complete but brief. Do not add anything that did not happen.`

/** Serialises turns for the summariser; long tool output is cut so the summary request itself stays small. */
export function serializeForSummary(rows: Stored[], previousSummary?: string): string {
  const parts: string[] = []
  if (previousSummary) parts.push(`[Previous summary]\n${previousSummary}`)
  for (const { message: m } of rows) {
    if (m.role === "user") parts.push(`[User]: ${m.content}`)
    else if (m.role === "assistant") {
      const text = messageText(m)
      if (text) parts.push(`[Assistant]: ${text}`)
      for (const p of m.content) if (p.type === "tool-call") parts.push(`[Tool call]: ${p.toolName} ${JSON.stringify(p.input).slice(0, 500)}`)
    } else if (m.role === "tool") parts.push(`[Tool result${m.isError ? " (error)" : ""}]: ${m.content.slice(0, 2000)}`)
    else if (m.role === "system") parts.push(`[System]: ${m.content}`)
  }
  return parts.join("\n\n")
}
