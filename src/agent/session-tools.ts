/**
 * Tools that reach other sessions: sessions_spawn (a sub-agent whose result is announced back to the parent),
 * sessions_send, sessions_list, sessions_history. Sub-agents get none of them beyond the configured depth.
 */
import { z } from "zod"
import type { SessionRepo } from "../store/sessions.ts"
import type { AgentRuntime } from "./runtime.ts"
import type { Accepted, Inbound } from "../router/inbound.ts"
import { agentIdOf, normalizeSessionKey } from "./session-key.ts"
import { defineTool, ToolError, type ToolDef } from "./tools/tool.ts"
import { messageText, type TranscriptMessage } from "./types.ts"

export interface SessionToolDeps {
  runtime: () => AgentRuntime
  /** The router's door: these tools start runs like any other door. */
  accept(inbound: Inbound): Accepted
  repo: SessionRepo
  limits: () => { maxDepth: number; maxChildren: number }
}

/**
 * Builds the session tools once and returns the selection a given session may use: spawning while under the depth
 * limit, the others only in top-level sessions. The tools read the caller from ctx.sessionKey.
 */
export function createSessionTools(deps: SessionToolDeps): (callerKey: string) => ToolDef[] {
  let built: { spawn: ToolDef; others: ToolDef[] } | undefined
  return (callerKey) => {
    built ??= build(deps)
    const depth = deps.repo.get(callerKey)?.depth ?? 0
    return [...(depth < deps.limits().maxDepth ? [built.spawn] : []), ...(depth === 0 ? built.others : [])]
  }
}

function build(deps: SessionToolDeps): { spawn: ToolDef; others: ToolDef[] } {
  return {
    spawn: defineTool({
      name: "sessions_spawn",
      description:
        "Start a sub-agent on a self-contained task in its own session. It runs in the background; its result is sent back to this session when it finishes. Returns the child session key and run id.",
      parameters: z.object({
        task: z.string().min(1).describe("Complete instructions for the sub-agent: it sees nothing of this conversation"),
        label: z.string().optional().describe("Short name shown in lists"),
      }),
      async execute(args, ctx) {
        const callerKey = ctx.sessionKey
        const depth = deps.repo.get(callerKey)?.depth ?? 0
        const children = deps.repo.list({ limit: 1000 }).filter((s) => s.parentKey === callerKey && deps.runtime().activeRunIds(s.key).length > 0)
        if (children.length >= deps.limits().maxChildren) {
          throw new ToolError({
            message: `Too many running sub-agents (${children.length} of ${deps.limits().maxChildren}). Wait for one to finish before spawning another.`,
          })
        }
        const { runId, sessionKey } = deps.accept({
          origin: { door: "tool.sessions_spawn", fromSessionKey: callerKey, fromRunId: ctx.runId },
          session: { kind: "subagent", agentId: agentIdOf(callerKey) },
          message: args.task,
          // A retried tool call (same call id in the same run) must not spawn twice.
          idempotencyKey: `spawn:${ctx.runId}:${ctx.toolCallId}`,
          run: { label: args.label, parentKey: callerKey, depth: depth + 1 },
        })
        return { output: JSON.stringify({ status: "accepted", runId, childSessionKey: sessionKey }), meta: { runId, childSessionKey: sessionKey } }
      },
    }),
    others: [
      defineTool({
        name: "sessions_send",
        description: "Send a message to another session and, unless timeoutSeconds is 0, wait for its reply.",
        parameters: z.object({
          sessionKey: z.string().describe("Target session key, e.g. agent:main:main"),
          message: z.string().min(1),
          timeoutSeconds: z.number().min(0).max(600).default(60).describe("0 = do not wait for a reply"),
        }),
        async execute(args, ctx) {
          // A short key names a session of the caller's own agent.
          const target = normalizeSessionKey(args.sessionKey, agentIdOf(ctx.sessionKey))
          if (target === ctx.sessionKey) throw new ToolError({ message: "A session cannot send to itself; reply directly instead." })
          const { runId } = deps.accept({
            origin: { door: "tool.sessions_send", fromSessionKey: ctx.sessionKey, fromRunId: ctx.runId },
            session: { kind: "key", key: target },
            message: args.message,
            idempotencyKey: `send:${ctx.runId}:${ctx.toolCallId}`,
          })
          if (args.timeoutSeconds === 0) return { output: JSON.stringify({ status: "sent", runId }) }
          const res = await deps.runtime().wait(runId, args.timeoutSeconds * 1000)
          if (!res) return { output: JSON.stringify({ status: "timeout", runId }) }
          return { output: JSON.stringify({ status: res.status, runId, reply: "text" in res ? res.text : undefined }) }
        },
      }),
      defineTool({
        name: "sessions_list",
        description: "List recent sessions with their keys, kinds and last activity.",
        parameters: z.object({ limit: z.number().int().min(1).max(100).default(20) }),
        async execute(args) {
          const rows = deps.repo.list({ limit: args.limit })
          return {
            output: JSON.stringify(
              rows.map((s) => ({ key: s.key, kind: s.kind, label: s.label, updatedAt: new Date(s.updatedAt).toISOString(), totalTokens: s.totalTokens })),
            ),
          }
        },
      }),
      defineTool({
        name: "sessions_history",
        description: "Read the recent user and assistant messages of a session.",
        parameters: z.object({ sessionKey: z.string(), limit: z.number().int().min(1).max(200).default(20) }),
        async execute(args, ctx) {
          const key = normalizeSessionKey(args.sessionKey, agentIdOf(ctx.sessionKey))
          const s = deps.repo.get(key)
          if (!s) throw new ToolError({ message: `No session ${key}. Use sessions_list to see the available keys.` })
          const msgs = deps.repo
            .transcript<TranscriptMessage>(key, s.sessionId)
            .map((r) => r.message)
            .filter((m) => m.role === "user" || m.role === "assistant")
            .map((m) => ({ role: m.role, text: messageText(m) }))
            .filter((m) => m.text)
          return { output: JSON.stringify(msgs.slice(-args.limit)) }
        },
      }),
    ],
  }
}

/** When a sub-agent's run ends, its result goes back to the parent session as a new turn there (once per child run). */
export function announceSubagentResults(runtime: AgentRuntime, repo: SessionRepo, accept: (inbound: Inbound) => Accepted): () => void {
  return runtime.onRunEnd((o) => {
    const child = repo.get(o.sessionKey)
    if (!child?.parentKey) return
    const label = child.label ? ` "${child.label}"` : ""
    const body = o.status === "ok" ? o.text || "(no text)" : `failed: ${o.error ?? o.status}`
    try {
      accept({
        origin: { door: "subagent.announce", fromSessionKey: o.sessionKey, fromRunId: o.runId },
        session: { kind: "key", key: child.parentKey },
        message: `[Sub-agent${label} (${o.sessionKey}) finished with status ${o.status}]\n${body}`,
        idempotencyKey: `announce:${o.runId}`,
      })
    } catch {
      // The parent may be over budget or the gateway stopping; the child's transcript still holds the result.
    }
  })
}
