/**
 * The agent's own transcript shapes, independent of any provider SDK: what is stored in SQLite, replayed to models,
 * exported as JSONL and mapped to OpenClaw's chat messages. Every tool call in an assistant message is answered by
 * exactly one tool message (a result, an error, or "aborted"), so a transcript is always valid to resend.
 */
import { z } from "zod"

export const TextPart = z.object({ type: z.literal("text"), text: z.string() })
export const ToolCallPart = z.object({
  type: z.literal("tool-call"),
  toolCallId: z.string(),
  toolName: z.string(),
  input: z.unknown(),
})
export type ToolCallPart = z.infer<typeof ToolCallPart>

export const UserMessage = z.object({ role: z.literal("user"), content: z.string() })
export const AssistantMessage = z.object({ role: z.literal("assistant"), content: z.array(z.discriminatedUnion("type", [TextPart, ToolCallPart])) })
export const ToolMessage = z.object({
  role: z.literal("tool"),
  toolCallId: z.string(),
  toolName: z.string(),
  /** LLM-readable result text (JSON results are serialised). */
  content: z.string(),
  isError: z.boolean(),
})
/** A compaction summary stands in for everything before it when the context is rebuilt. */
export const SummaryMessage = z.object({
  role: z.literal("summary"),
  content: z.string(),
  tokensBefore: z.number(),
  /** Id of the first stored message kept verbatim after this summary. */
  keepFromId: z.number().optional(),
})
export const SystemNote = z.object({ role: z.literal("system"), content: z.string() })

export const TranscriptMessage = z.discriminatedUnion("role", [UserMessage, AssistantMessage, ToolMessage, SummaryMessage, SystemNote])
export type TranscriptMessage = z.infer<typeof TranscriptMessage>
export type AssistantMessage = z.infer<typeof AssistantMessage>
export type ToolMessage = z.infer<typeof ToolMessage>

export const Usage = z.object({
  input: z.number(),
  output: z.number(),
  cacheRead: z.number().default(0),
  cacheWrite: z.number().default(0),
  total: z.number(),
  cost: z.number().default(0),
})
export type Usage = z.infer<typeof Usage>

export function emptyUsage(): Usage {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0, cost: 0 }
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    input: a.input + b.input,
    output: a.output + b.output,
    cacheRead: a.cacheRead + b.cacheRead,
    cacheWrite: a.cacheWrite + b.cacheWrite,
    total: a.total + b.total,
    cost: a.cost + b.cost,
  }
}

/** Usage as OpenClaw reports it on the wire (chat final, agent results): cost nested under `total`. */
export function reportedUsage(u: Usage) {
  return { input: u.input, output: u.output, cacheRead: u.cacheRead, cacheWrite: u.cacheWrite, total: u.total, cost: { total: u.cost } }
}

/** The plain text of a message (assistant text parts joined; tool calls omitted). */
export function messageText(m: TranscriptMessage): string {
  if (m.role === "assistant") return m.content.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("")
  return m.content
}
