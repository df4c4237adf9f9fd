/** usage.status and usage.cost from the usage every finished run records (runs.usage), in OpenClaw's shapes. */
import { emptyTotals, UsageRepo, type UsageTotals } from "../store/usage.ts"
import type { Config } from "../config/schema.ts"
import { GatewayError } from "../protocol/index.ts"
import type { PartialHandlers } from "./registry.ts"

const DAY_MS = 86_400_000

function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS
}

function sum(days: UsageTotals[]): UsageTotals {
  const t = emptyTotals()
  for (const d of days) {
    t.input += d.input
    t.output += d.output
    t.cacheRead += d.cacheRead
    t.cacheWrite += d.cacheWrite
    t.totalTokens += d.totalTokens
    t.totalCost += d.totalCost
    t.missingCostEntries += d.missingCostEntries
  }
  return t
}

/** Providers the config uses: custom ones, and those of the default and fallback models. */
export function configuredProviders(cfg: Config): string[] {
  const out = new Set(Object.keys(cfg.models.providers))
  for (const ref of [cfg.agents.defaults.model, cfg.models.default, ...cfg.models.fallbacks]) {
    const slash = ref?.indexOf("/") ?? -1
    if (ref && slash > 0) out.add(ref.slice(0, slash))
  }
  return [...out]
}

export const usageHandlers = {
  "usage.status": (_p, { gw }) => {
    const cfg = gw.config.current
    const now = Date.now()
    const today = new UsageRepo(gw.store.db).daily(startOfUtcDay(now))
    const { budget } = cfg.agents.defaults
    return {
      updatedAt: now,
      // Quota windows are a provider's own accounting (OpenClaw reads them from subscription APIs); none is queried here.
      providers: configuredProviders(cfg).map((provider) => ({ provider, displayName: provider, windows: [] })),
      today: sum(today),
      budget: {
        ...(budget.dailyTokens !== undefined ? { dailyTokens: budget.dailyTokens } : {}),
        ...(budget.dailyCostUsd !== undefined ? { dailyCostUsd: budget.dailyCostUsd } : {}),
      },
      // Heartbeat turns (run ids heartbeat:<ms>) counted apart: their share of today's spend.
      ...(gw.heartbeat ? { heartbeat: gw.heartbeat.spendToday() } : {}),
    }
  },

  "usage.cost": (p, { gw }) => {
    const now = Date.now()
    const end = p.endDate ? Date.parse(`${p.endDate}T00:00:00Z`) + DAY_MS : startOfUtcDay(now) + DAY_MS
    const start = p.startDate ? Date.parse(`${p.startDate}T00:00:00Z`) : end - (p.days ?? 30) * DAY_MS
    if (!(start < end)) throw new GatewayError("INVALID_REQUEST", "startDate must not be after endDate")
    const daily = new UsageRepo(gw.store.db).daily(start, { agentId: p.agentId }).filter((d) => Date.parse(`${d.date}T00:00:00Z`) < end)
    return { updatedAt: now, days: Math.round((end - start) / DAY_MS), daily, totals: sum(daily) }
  },
} satisfies PartialHandlers
