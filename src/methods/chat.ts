/** chat.send / history / abort / inject: the chat view of sessions, in OpenClaw's message shapes. */
import { fullSessionKey } from "../agent/agents.ts"
import { messageText, type TranscriptMessage } from "../agent/types.ts"
import { GatewayError, type MethodResult } from "../protocol/index.ts"
import type { StoredMessage } from "../store/sessions.ts"
import { UsageRepo } from "../store/usage.ts"
import type { GatewayServices } from "./context.ts"
import { accept, requestedDelivery, wsOrigin } from "./agent.ts"
import type { PartialHandlers } from "./registry.ts"

type ChatHistoryMessage = MethodResult<"chat.history">["messages"][number]

/** User and assistant text as chat messages; tool traffic and summaries are not part of the chat view. */
export function toChatMessages(rows: StoredMessage<TranscriptMessage>[]) {
  const out: ChatHistoryMessage[] = []
  for (const r of rows) {
    const m = r.message
    if (m.role === "user") out.push({ role: "user", content: m.content, timestamp: r.createdAt, __gateway: { id: r.id, runId: r.runId } })
    else if (m.role === "assistant") {
      const text = messageText(m)
      if (text)
        out.push({
          role: "assistant",
          content: [{ type: "text", text }],
          timestamp: r.createdAt,
          ...(r.model ? { model: r.model } : {}),
          __gateway: { id: r.id, runId: r.runId },
        })
    }
  }
  return out
}

/** chat.history's answer (also chat.startup's): the last messages, session info and, when asked, input receipts. */
export function chatHistoryPayload(
  gw: GatewayServices,
  p: { sessionKey: string; agentId?: string; limit?: number; maxChars?: number; inputRunIds?: string[] },
) {
  const sessionKey = fullSessionKey(gw.config.current, p.sessionKey, p.agentId)
  const session = gw.agent.sessions.get(sessionKey)
  // Receipts answer "did my send land?" even before the session exists (a lost acknowledgement of the first send).
  const receipts = p.inputRunIds?.length ? { inputReceipts: new UsageRepo(gw.store.db).receipts(p.inputRunIds) } : {}
  if (!session) return { sessionKey: p.sessionKey, messages: [], hasMore: false, totalMessages: 0, ...receipts }
  const all = toChatMessages(gw.agent.sessions.transcript<TranscriptMessage>(sessionKey, session.sessionId))
  const limit = Math.min(p.limit ?? 200, MAX_HISTORY)
  let messages = all.slice(-limit)
  if (p.maxChars) {
    let budget = p.maxChars
    const kept: typeof messages = []
    for (let i = messages.length - 1; i >= 0 && budget > 0; i--) {
      budget -= JSON.stringify(messages[i]!.content).length
      if (budget >= 0) kept.unshift(messages[i]!)
    }
    messages = kept
  }
  const active = gw.agent.runtime.activeRunIds(sessionKey)
  return {
    sessionKey: p.sessionKey,
    sessionId: session.sessionId,
    messages,
    hasMore: messages.length < all.length,
    totalMessages: all.length,
    sessionInfo: {
      key: sessionKey,
      kind: session.kind,
      agentId: session.agentId,
      isMain: session.kind === "main",
      hasActiveRun: active.length > 0,
      activeRunIds: active,
      model: session.model,
    },
    ...receipts,
  }
}

/** chat.history answers at most this many messages, whatever limit is asked. */
const MAX_HISTORY = 1000

export const chatHandlers = {
  "chat.send": (p, ctx) => {
    const r = accept(ctx.gw, {
      origin: wsOrigin(ctx, "ws.chat.send"),
      session: { kind: "key", key: p.sessionKey, agentId: p.agentId },
      message: p.message,
      idempotencyKey: p.idempotencyKey,
      delivery: requestedDelivery(p, ctx),
      run: { timeoutMs: p.timeoutMs },
    })
    const merged = r.carriedBy ? { mergedInto: r.carriedBy } : {}
    if (r.state !== "duplicate") return { runId: r.runId, status: "started", ...merged }
    // A retry (also after a restart) is told what became of the first send.
    const status = r.existing?.status
    return { runId: r.runId, status: status === "queued" || status === "running" || status === "merged" ? "in_flight" : (status ?? "in_flight"), ...merged }
  },

  "chat.history": (p, { gw }) => chatHistoryPayload(gw, p),

  "chat.abort": (p, { gw }) => {
    const runIds = gw.agent.runtime.abort(fullSessionKey(gw.config.current, p.sessionKey), p.runId)
    return { ok: true, aborted: runIds.length > 0, runIds }
  },

  "chat.inject": (p, { gw }) => {
    const sessionKey = fullSessionKey(gw.config.current, p.sessionKey)
    const session = gw.agent.sessions.ensure({ key: sessionKey, agentId: sessionKey.split(":")[1] ?? "main", kind: "main" })
    if (gw.agent.runtime.activeRunIds(sessionKey).length)
      throw new GatewayError("INVALID_REQUEST", "session has an active run; inject after it ends or abort it")
    const text = p.label ? `[${p.label}] ${p.message}` : p.message
    gw.agent.sessions.append(sessionKey, session.sessionId, [{ role: "assistant", content: [{ type: "text", text }] } satisfies TranscriptMessage], {
      role: (m) => m.role,
    })
    return { ok: true, sessionKey }
  },
} satisfies PartialHandlers
