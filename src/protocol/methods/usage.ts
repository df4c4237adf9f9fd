/** usage.status (per-provider quota windows, plus today's spend) and usage.cost (daily tokens and cost), in OpenClaw's shapes. */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { method } from "./define.ts"

export const CostUsageTotals = lazy(() =>
  z.object({
    input: z.number(),
    output: z.number(),
    cacheRead: z.number(),
    cacheWrite: z.number(),
    totalTokens: z.number(),
    totalCost: z.number().describe("USD"),
    missingCostEntries: z.number().describe("Runs with tokens but no price (models.providers.*.models[].cost unset)"),
  }),
)

/** Heartbeat runs' share of the spend; filled in by the heartbeat service (absent until it reports). */
export const HeartbeatSpend = lazy(() =>
  z
    .object({
      runs: z.number(),
      totalTokens: z.number(),
      totalCost: z.number(),
    })
    .loose(),
)

export const usageStatus = method(
  "usage.status",
  "operator.read",
  () => z.object({}).loose().optional().default({}),
  () =>
    z
      .object({
        updatedAt: z.number(),
        providers: z.array(
          z.object({
            provider: z.string(),
            displayName: z.string(),
            windows: z
              .array(z.object({ label: z.string(), usedPercent: z.number(), resetAt: z.number().optional() }))
              .describe("Provider quota windows (empty: the provider reports none)"),
            plan: z.string().optional(),
            error: z.string().optional(),
          }),
        ),
        today: CostUsageTotals().describe("Runs started today (UTC)"),
        budget: z
          .object({ dailyTokens: z.number().optional(), dailyCostUsd: z.number().optional() })
          .describe("agents.defaults.budget: runs stop once today's spend reaches a limit"),
        heartbeat: HeartbeatSpend().optional(),
      })
      .loose(),
)

export const usageCost = method(
  "usage.cost",
  "operator.read",
  () =>
    z
      .object({
        days: z.number().int().min(1).max(3660).optional().describe("Days back from today, today included (default 30)"),
        startDate: z
          .string()
          .regex(/^\d{4}-\d{2}-\d{2}$/)
          .optional(),
        endDate: z
          .string()
          .regex(/^\d{4}-\d{2}-\d{2}$/)
          .optional(),
        agentId: z.string().optional(),
      })
      .loose()
      .optional()
      .default({}),
  () =>
    z
      .object({
        updatedAt: z.number(),
        days: z.number(),
        daily: z.array(CostUsageTotals().extend({ date: z.string().describe("YYYY-MM-DD (UTC)") })),
        totals: CostUsageTotals(),
      })
      .loose(),
)
