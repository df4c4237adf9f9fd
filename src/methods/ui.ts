/**
 * What OpenClaw's web UI and newer clients call on connect and on the chat page. Subscriptions are acknowledged
 * only: every operator connection with read scope already receives session and chat events (as OpenClaw sends them
 * to all operators), so there is nothing to switch on.
 */
import { providerAuthStatus } from "../agent/providers.ts"
import { fullSessionKey } from "../agent/agents.ts"
import { messageText, type TranscriptMessage } from "../agent/types.ts"
import { UsageRepo } from "../store/usage.ts"
import { chatHistoryPayload } from "./chat.ts"
import type { PartialHandlers } from "./registry.ts"
import { defaultLabel, entry } from "./sessions.ts"
import { configuredProviders } from "./usage.ts"

const PREVIEW_ITEMS = 12
const PREVIEW_MAX_ITEMS = 100
const PREVIEW_CHARS = 240
const TITLE_CHARS = 60

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

export const uiHandlers = {
  "chat.startup": (p, { gw }) =>
    chatHistoryPayload(gw, {
      sessionKey: p.sessionKey ?? fullSessionKey(gw.config.current, "main", p.agentId),
      agentId: p.agentId,
      limit: p.limit,
      maxChars: p.maxChars,
    }),

  "sessions.subscribe": () => ({ subscribed: true }),

  "sessions.messages.subscribe": (p, { gw }) => ({ key: fullSessionKey(gw.config.current, p.key), subscribed: true }),

  "sessions.observer.visibility": (p) => ({ ok: true, visible: p.visible ?? true }),

  "sessions.preview": (p, { gw }) => {
    const limit = Math.min(p.limit ?? PREVIEW_ITEMS, PREVIEW_MAX_ITEMS)
    const maxChars = p.maxChars ?? PREVIEW_CHARS
    const previews = p.keys.map((raw) => {
      const key = fullSessionKey(gw.config.current, raw)
      const s = gw.agent.sessions.get(key)
      if (!s) return { key: raw, status: "missing" as const, items: [] }
      try {
        const rows = gw.agent.sessions.transcript<TranscriptMessage>(key, s.sessionId)
        const items = rows
          .filter((r) => r.message.role === "user" || r.message.role === "assistant")
          .map((r) => ({ role: r.message.role as "user" | "assistant", text: clip(messageText(r.message), maxChars), timestamp: r.createdAt }))
          .filter((i) => i.text)
          .slice(-limit)
        return { key: raw, status: items.length ? ("ok" as const) : ("empty" as const), items }
      } catch {
        return { key: raw, status: "error" as const, items: [] }
      }
    })
    return { ts: Date.now(), previews }
  },

  "sessions.describe": (p, ctx) => {
    const key = fullSessionKey(ctx.gw.config.current, p.key)
    const s = ctx.gw.agent.sessions.get(key)
    if (!s) return { ts: Date.now(), key, found: false }
    const messageCount = new UsageRepo(ctx.gw.store.db).messageCounts([s]).get(key) ?? 0
    const session: ReturnType<typeof entry> & { derivedTitle?: string; lastMessage?: string; messageCount: number } = {
      ...entry(s, ctx),
      label: s.label ?? defaultLabel(s.key),
      messageCount,
    }
    if (p.includeDerivedTitles || p.includeLastMessage) {
      const msgs = ctx.gw.agent.sessions.transcript<TranscriptMessage>(s.key, s.sessionId).map((r) => r.message)
      const firstUser = msgs.find((m) => m.role === "user")
      const last = [...msgs].reverse().find((m) => m.role === "user" || m.role === "assistant")
      if (p.includeDerivedTitles && firstUser) session.derivedTitle = clip(messageText(firstUser), TITLE_CHARS)
      if (p.includeLastMessage && last) session.lastMessage = messageText(last).slice(0, 500)
    }
    return { ts: Date.now(), key, found: true, session }
  },

  "question.list": () => ({ questions: [] }),

  "models.authStatus": (_p, { gw }) => {
    const cfg = gw.config.current
    const refs = [cfg.agents.defaults.model, cfg.models.default, ...cfg.models.fallbacks].filter((r): r is string => !!r)
    return {
      ts: Date.now(),
      providers: configuredProviders(cfg).map((provider) => {
        const auth = providerAuthStatus(provider, cfg.models)
        const models = new Set([
          ...(cfg.models.providers[provider]?.models ?? []).map((m) => `${provider}/${m.id}`),
          ...refs.filter((r) => r.startsWith(`${provider}/`)),
        ])
        return {
          provider,
          status: auth.source === "none" ? ("missing" as const) : ("ok" as const),
          source: auth.source,
          ...(auth.envVar ? { envVar: auth.envVar } : {}),
          models: [...models],
        }
      }),
    }
  },

  "diagnostics.lanes": (_p, { gw }) => ({
    ts: Date.now(),
    maxConcurrent: gw.config.current.agents.defaults.maxConcurrent,
    running: gw.agent.runtime.activeCount,
    lanes: gw.agent.runtime.laneSnapshot(),
  }),
} satisfies PartialHandlers
