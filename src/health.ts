/** The HealthSummary served by `health`, the hello snapshot and the periodic `health` event. */
import { defineEvent } from "./bus/index.ts"
import type { ChannelHealth } from "./channels/types.ts"
import { HealthSummary } from "./protocol/index.ts"

/** The periodic health snapshot (OpenClaw's HealthSummary shape). */
export const HealthUpdated = defineEvent("gateway.health", HealthSummary)

const LABELS: Record<string, string> = { telegram: "Telegram", discord: "Discord" }

export interface HealthInputs {
  databasePath: string
  heartbeatSeconds: number
  sessionCount: number
  /** Configured chat channels only: an unconfigured one is not part of the gateway's health. */
  channels?: ChannelHealth[]
  /** agents.list's ids and default (src/agent/agents.ts agentIds); default: the single "main". */
  agents?: { ids: string[]; defaultId: string }
}

export function buildHealth(inputs: HealthInputs): HealthSummary {
  const started = performance.now()
  const configured = (inputs.channels ?? []).filter((c) => c.configured)
  const agents = inputs.agents ?? { ids: ["main"], defaultId: "main" }
  const sessions = { path: inputs.databasePath, count: inputs.sessionCount, recent: [] as unknown[] }
  const summary: HealthSummary = {
    ok: true,
    ts: Date.now(),
    durationMs: 0,
    channels: Object.fromEntries(configured.map((c) => [c.channel, c])),
    channelOrder: configured.map((c) => c.channel),
    channelLabels: Object.fromEntries(configured.map((c) => [c.channel, LABELS[c.channel] ?? c.channel])),
    heartbeatSeconds: inputs.heartbeatSeconds,
    defaultAgentId: agents.defaultId,
    agents: agents.ids.map((agentId) => ({
      agentId,
      isDefault: agentId === agents.defaultId,
      heartbeat: { enabled: inputs.heartbeatSeconds > 0, every: `${Math.round(inputs.heartbeatSeconds / 60)}m`, everyMs: inputs.heartbeatSeconds * 1000 },
      sessions,
    })),
    sessions,
  }
  summary.durationMs = Math.round((performance.now() - started) * 1000) / 1000
  return summary
}
