/** health, status, system-presence. */
import { hasScope } from "../protocol/index.ts"
import type { PartialHandlers } from "./registry.ts"

export const systemHandlers = {
  health: (_params, { gw }) => gw.health(),

  status: async (_params, { gw, caller }) => {
    const systemPrompt = await gw.agent.promptReport()
    const mem = process.memoryUsage()
    const cfg = gw.config.current
    const admin = hasScope(caller.scopes, "operator.admin")
    return {
      runtimeVersion: gw.version,
      version: gw.version,
      pid: process.pid,
      uptimeMs: Date.now() - gw.startedAt,
      startedAt: gw.startedAt,
      platform: process.platform,
      arch: process.arch,
      bun: Bun.version,
      gateway: {
        bind: cfg.gateway.bind,
        host: gw.bind.host,
        port: gw.port(),
        authMode: gw.auth.mode,
        url: `ws://${gw.bind.host.includes(":") ? `[${gw.bind.host}]` : gw.bind.host}:${gw.port()}`,
      },
      connections: gw.connectionCount(),
      store: { sqliteVersion: gw.store.sqliteVersion, vecVersion: gw.store.vec.version, vecError: gw.store.vec.error },
      processMemory: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed },
      agent: {
        activeRuns: gw.agent.runtime.activeCount,
        sessions: gw.agent.sessions.count(),
        model: cfg.agents.defaults.model ?? cfg.models.default ?? null,
        // Kept lean on purpose; reported so it stays that way.
        systemPrompt,
        workspace: admin ? gw.agent.workspace : undefined,
      },
      // Paths on disk are only for admins, as in OpenClaw.
      ...(admin ? { configPath: gw.paths.config, stateDir: gw.paths.home } : {}),
    }
  },

  "system-presence": (_params, { gw }) => gw.presence(),
} satisfies PartialHandlers
