/** sessions.*: list, inspect, reset, delete, compact, patch, abort; spawn and transcript for agents in other processes. */
import { listAgents } from "../agent/agents.ts"
import { fullSessionKey } from "../agent/agents.ts"
import { UsageRepo } from "../store/usage.ts"
import { messageText, type TranscriptMessage } from "../agent/types.ts"
import { GatewayError } from "../protocol/index.ts"
import type { SessionRow } from "../store/sessions.ts"
import { accept, wsOrigin } from "./agent.ts"
import type { MethodContext } from "./context.ts"
import type { PartialHandlers } from "./registry.ts"

/** A session's label when none was set: the part of its key after agent:<id>: ("main" for the main session). */
export function defaultLabel(key: string): string {
  const parts = key.split(":")
  return parts[0] === "agent" && parts.length > 2 ? parts.slice(2).join(":") : key
}

export function entry(s: SessionRow, ctx: MethodContext) {
  const active = ctx.gw.agent.runtime.activeRunIds(s.key)
  return {
    key: s.key,
    sessionId: s.sessionId,
    agentId: s.agentId,
    kind: s.kind,
    label: s.label ?? undefined,
    displayName: s.label ?? s.key,
    model: s.model ?? undefined,
    queueMode: s.queueMode ?? undefined,
    parentKey: s.parentKey ?? undefined,
    updatedAt: s.updatedAt,
    createdAt: s.createdAt,
    inputTokens: s.inputTokens,
    outputTokens: s.outputTokens,
    totalTokens: s.totalTokens,
    contextTokens: s.contextTokens,
    costUsd: s.costUsd,
    compactionCount: s.compactionCount,
    hasActiveRun: active.length > 0,
    activeRunIds: active,
  }
}

function mustGet(ctx: MethodContext, rawKey: string): SessionRow {
  const s = ctx.gw.agent.sessions.get(fullSessionKey(ctx.gw.config.current, rawKey))
  if (!s) throw new GatewayError("INVALID_REQUEST", `no session ${rawKey}`, { code: "SESSION_NOT_FOUND" })
  return s
}

/** sessions.list answers at most this many rows, whatever limit is asked (OpenClaw's clients ask for more). */
const MAX_LIST = 1000
/** Rows read before spawnedBy / configuredAgentsOnly filter them. */
const MAX_SCAN = 10_000

export const sessionsHandlers = {
  "sessions.list": (p, ctx) => {
    const cfg = ctx.gw.config.current
    const limit = Math.min(p.limit ?? 100, MAX_LIST)
    const filtered = p.spawnedBy !== undefined || p.configuredAgentsOnly
    let rows = ctx.gw.agent.sessions.list({
      // Filters applied here need the whole candidate set first; the cap still bounds the answer.
      limit: filtered ? MAX_SCAN : limit,
      search: p.search ?? p.label,
      agentId: p.agentId,
      activeSince: p.activeMinutes ? Date.now() - p.activeMinutes * 60_000 : undefined,
    })
    if (p.spawnedBy !== undefined) {
      const parent = fullSessionKey(ctx.gw.config.current, p.spawnedBy)
      rows = rows.filter((r) => r.parentKey === parent)
    }
    if (p.configuredAgentsOnly) {
      const ids = new Set(listAgents(cfg, { workspace: ctx.gw.paths.workspace }).map((a) => a.id))
      rows = rows.filter((r) => ids.has(r.agentId))
    }
    rows = rows.slice(0, limit)
    const counts = new UsageRepo(ctx.gw.store.db).messageCounts(rows)
    return {
      ts: Date.now(),
      path: ctx.gw.paths.database,
      count: rows.length,
      totalCount: ctx.gw.agent.sessions.count(),
      defaults: { model: cfg.agents.defaults.model ?? cfg.models.default ?? null, queueMode: cfg.agents.defaults.queueMode },
      sessions: rows.map((r) => {
        const e = { ...entry(r, ctx), label: r.label ?? defaultLabel(r.key), messageCount: counts.get(r.key) ?? 0 }
        if (!p.includeLastMessage) return e
        const msgs = ctx.gw.agent.sessions.transcript<TranscriptMessage>(r.key, r.sessionId)
        const last = [...msgs].reverse().find((m) => m.message.role === "user" || m.message.role === "assistant")
        return { ...e, lastMessage: last ? messageText(last.message).slice(0, 500) : undefined }
      }),
    }
  },

  "sessions.get": (p, ctx) => {
    const s = mustGet(ctx, p.key)
    const rows = ctx.gw.agent.sessions.transcript<TranscriptMessage>(s.key, s.sessionId)
    return {
      key: s.key,
      entry: entry(s, ctx),
      messages: rows.slice(-(p.limit ?? 200)).map((r) => ({ id: r.id, runId: r.runId, createdAt: r.createdAt, model: r.model, ...r.message })),
    }
  },

  "sessions.reset": (p, ctx) => {
    const s = mustGet(ctx, p.key)
    ctx.gw.agent.runtime.abort(s.key)
    const next = ctx.gw.agent.sessions.reset(s.key)!
    return { ok: true, key: s.key, entry: entry(next, ctx) }
  },

  "sessions.delete": (p, ctx) => {
    const key = fullSessionKey(ctx.gw.config.current, p.key)
    ctx.gw.agent.runtime.abort(key)
    return { ok: true, key, deleted: ctx.gw.agent.sessions.delete(key, p.deleteTranscript ?? false) }
  },

  "sessions.compact": async (p, ctx) => {
    const s = mustGet(ctx, p.key)
    if (ctx.gw.agent.runtime.activeRunIds(s.key).length) throw new GatewayError("INVALID_REQUEST", "session has an active run; compact it after the run ends")
    const compacted = await ctx.gw.agent.compact(s.key)
    return { ok: true, key: s.key, compacted, entry: entry(ctx.gw.agent.sessions.get(s.key)!, ctx) }
  },

  "sessions.patch": (p, ctx) => {
    const s = mustGet(ctx, p.key)
    const fields: { label?: string | null; model?: string | null; queueMode?: string | null } = {}
    if (p.label !== undefined) fields.label = p.label
    if (p.model !== undefined) fields.model = p.model
    if (p.queueMode !== undefined) fields.queueMode = p.queueMode
    const next = ctx.gw.agent.sessions.patch(s.key, fields)!
    return { ok: true, key: s.key, entry: entry(next, ctx) }
  },

  "sessions.abort": (p, ctx) => {
    const runIds = ctx.gw.agent.runtime.abort(fullSessionKey(ctx.gw.config.current, p.key), p.runId)
    return { ok: true, aborted: runIds.length > 0, runIds }
  },

  "sessions.spawn": (p, ctx) => {
    const { runId, sessionKey } = accept(ctx.gw, {
      origin: wsOrigin(ctx, "ws.sessions.spawn"),
      // No agent id: the router picks the default agent.
      session: { kind: "subagent", agentId: p.agentId },
      message: p.task,
      delivery: { kind: "connection", connId: ctx.caller.connId },
      run: { model: p.model, label: p.label, depth: 1, timeoutMs: p.timeoutSeconds ? p.timeoutSeconds * 1000 : undefined },
    })
    return { runId, sessionKey, status: "accepted" }
  },

  "sessions.transcript": (p, ctx) => {
    const s = mustGet(ctx, p.key)
    const rows = ctx.gw.agent.sessions.transcript<TranscriptMessage>(s.key, s.sessionId)
    const messages = rows
      .map((r) => r.message)
      .filter((m) => m.role === "user" || m.role === "assistant" || m.role === "tool")
      .map((m) => ({ role: m.role, content: m.role === "tool" ? `[${m.toolName}] ${m.content}` : messageText(m) }))
      .filter((m) => m.content)
    return { key: s.key, sessionId: s.sessionId, messages: messages.slice(-(p.limit ?? 1000)) }
  },
} satisfies PartialHandlers
