/**
 * The pre-compaction memory flush (OpenClaw's silent turn): before older turns are replaced by a summary, the model
 * reads them once more and may append durable notes (decisions, facts about the user, open tasks) to
 * memory/<YYYY-MM-DD>.md in the workspace, or reply NO_REPLY. Its text is never delivered or stored as a chat turn;
 * only the file it writes remains. It runs at most once per compaction: a marker per session remembers the
 * compaction count it ran at, so a compaction that fails after its flush does not flush again when retried.
 *
 * The only tool it gets is memory_append, which appends to today's memory file through the session's own `write`
 * tool (so tools.allow / tools.deny and the file roots apply as for any write; no `write`, no flush). A dedicated
 * append-only tool rather than write/edit: a silent turn nobody watches cannot overwrite or delete a file, touch
 * MEMORY.md, the bootstrap files or anything else, and cannot lose notes an earlier flush wrote to the same day.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import type { ModelHandle, StreamModel } from "./model-types.ts"
import { defineTool, runTool, ToolError, toModelTool, type ToolDef } from "./tools/tool.ts"
import { addUsage, emptyUsage, type AssistantMessage, type ToolMessage, type TranscriptMessage, type Usage } from "./types.ts"

export const NO_REPLY = "NO_REPLY"

/** The line a compacted context carries so the model knows where the older details went. */
export const MEMORY_NOTE =
  "Durable notes from earlier conversations live in MEMORY.md and memory/*.md (memory/YYYY-MM-DD.md per day); search them with memory_search and read around a hit with memory_get."

export const FLUSH_SYSTEM_PROMPT = `You are the assistant's memory keeper. The conversation below is about to be compacted: these turns will be replaced by a short summary.
Pre-compaction memory flush: store durable memories now. Write anything worth keeping beyond this conversation (decisions, facts and preferences about the user, open tasks and commitments, names, paths, numbers) with the memory_append tool; it appends to today's memory file. Write concise Markdown bullet points; do not repeat what is already obvious from the summary of earlier turns.
This turn is silent: nothing you write here is shown to the user. If there is nothing worth keeping, reply ${NO_REPLY}.`

/** Most model calls one flush makes (each may append): enough for a note and a correction, never a loop. */
const MAX_FLUSH_CALLS = 3
const MAX_APPEND_CHARS = 20_000

/** Local date, as the user reads it: memory/2026-12-03.md. */
export function memoryDay(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0")
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`
}

/** sessionId → the compaction count a flush last ran at (bounded; insertion order = age). */
const flushedAt = new Map<string, number>()
const MAX_MARKERS = 2000

export function flushDone(sessionId: string, compactionCount: number): boolean {
  return flushedAt.get(sessionId) === compactionCount
}

function markFlushed(sessionId: string, compactionCount: number): void {
  flushedAt.delete(sessionId)
  flushedAt.set(sessionId, compactionCount)
  if (flushedAt.size > MAX_MARKERS) flushedAt.delete(flushedAt.keys().next().value as string)
}

/** memory_append: appends to memory/<day>.md through the session's write tool (its policy and roots). */
export function createMemoryAppendTool(write: ToolDef, workspace: string, day: string): ToolDef {
  const path = `memory/${day}.md`
  return defineTool({
    name: "memory_append",
    description: `Append durable notes (Markdown) to today's memory file ${path}. Appends only; nothing is overwritten.`,
    parameters: z.object({ text: z.string().min(1).max(MAX_APPEND_CHARS).describe("The notes to append, e.g. Markdown bullet points") }),
    async execute(args, ctx) {
      const abs = join(workspace, path)
      let existing = ""
      if (existsSync(abs)) {
        try {
          existing = readFileSync(abs, "utf8")
        } catch (err) {
          throw new ToolError({ message: `cannot read ${path}: ${(err as Error).message}` })
        }
      }
      const note = args.text.trim()
      const content = existing.trim() ? `${existing.replace(/\s*$/, "")}\n\n${note}\n` : `# ${day}\n\n${note}\n`
      const res = await runTool(write, { path, content }, ctx)
      if (res.isError) throw new ToolError({ message: res.output })
      return { output: `Appended ${note.length} characters to ${path}.`, meta: { path } }
    },
  }) as ToolDef
}

export interface FlushOptions<M extends ModelHandle> {
  model: M
  streamModel: StreamModel<M>
  /** The turns about to be summarised, serialised as for the summariser. */
  transcript: string
  /** The session's tools (policy applied); the flush needs `write`. */
  tools: ToolDef[]
  workspace: string
  sessionKey: string
  sessionId: string
  compactionCount: number
  runId: string
  signal: AbortSignal
  now?: Date
  log?: { info(msg: string, data?: unknown): void; warn(msg: string, data?: unknown): void }
}

export interface FlushResult {
  ran: boolean
  usage: Usage
  /** memory_append calls that succeeded. */
  appended: number
  /** Why it did not run. */
  skipped?: string
}

/**
 * One silent flush turn (a few model calls at most). Never throws for a model or tool failure: a failed flush must
 * not stop the compaction it precedes (an abort of the run still propagates).
 */
export async function runMemoryFlush<M extends ModelHandle>(o: FlushOptions<M>): Promise<FlushResult> {
  let usage = emptyUsage()
  if (flushDone(o.sessionId, o.compactionCount)) return { ran: false, usage, appended: 0, skipped: "already flushed for this compaction" }
  const write = o.tools.find((t) => t.name === "write")
  if (!write) return { ran: false, usage, appended: 0, skipped: "the write tool is not allowed" }
  // Marked before the call: a flush that fails half-way is not repeated for the same compaction.
  markFlushed(o.sessionId, o.compactionCount)
  const day = memoryDay(o.now)
  const append = createMemoryAppendTool(write, o.workspace, day)
  const messages: TranscriptMessage[] = [
    {
      role: "user",
      content: `${o.transcript}\n\n---\nStore durable memories from the conversation above in memory/${day}.md with memory_append. Reply ${NO_REPLY} when there is nothing to store.`,
    },
  ]
  let appended = 0
  for (let i = 0; i < MAX_FLUSH_CALLS; i++) {
    if (o.signal.aborted) throw o.signal.reason ?? new Error("aborted")
    let text = ""
    const calls: { toolCallId: string; toolName: string; input: unknown }[] = []
    let failed: string | undefined
    for await (const ev of o.streamModel({ model: o.model, system: FLUSH_SYSTEM_PROMPT, messages, tools: [toModelTool(append)], signal: o.signal })) {
      if (ev.type === "text-delta") text += ev.delta
      else if (ev.type === "tool-call") calls.push({ toolCallId: ev.toolCallId, toolName: ev.toolName, input: ev.input })
      else if (ev.type === "finish") usage = addUsage(usage, ev.usage)
      else if (ev.type === "error") failed = `${ev.error.kind}: ${ev.error.message}`
    }
    if (o.signal.aborted) throw o.signal.reason ?? new Error("aborted")
    if (failed) {
      o.log?.warn(`memory flush for ${o.sessionKey} failed (${failed}); compacting without it`)
      break
    }
    if (calls.length === 0) break
    const assistant: AssistantMessage = {
      role: "assistant",
      content: [...(text ? [{ type: "text" as const, text }] : []), ...calls.map((c) => ({ type: "tool-call" as const, ...c }))],
    }
    const results: ToolMessage[] = []
    for (const c of calls) {
      const res =
        c.toolName === append.name
          ? await runTool(append, c.input, { sessionKey: o.sessionKey, runId: o.runId, toolCallId: c.toolCallId, signal: o.signal, workspace: o.workspace })
          : { output: `Unknown tool '${c.toolName}'. The only tool here is ${append.name}.`, isError: true }
      if (!res.isError) appended++
      results.push({ role: "tool", toolCallId: c.toolCallId, toolName: c.toolName, content: res.output, isError: !!res.isError })
    }
    messages.push(assistant, ...results)
  }
  o.log?.info(`memory flush for ${o.sessionKey}`, { appended, day })
  return { ran: true, usage, appended }
}
