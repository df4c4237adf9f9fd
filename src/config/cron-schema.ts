/** Config of cron (top-level `cron`) and of the heartbeat (`agents.defaults.heartbeat`, OpenClaw's names). */
import { z } from "zod"

const DURATION = /^\s*\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)?\s*$/i
const HHMM = /^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/

export const Heartbeat = z
  .strictObject({
    every: z
      .string()
      .regex(DURATION, "a duration like 30m, 1h or 0m")
      .default("30m")
      .describe("Time between beats (30m, 1h, …); 0m turns heartbeats off. A beat with nothing in HEARTBEAT.md makes no model call"),
    prompt: z
      .string()
      .optional()
      .describe("The instruction each beat starts with (default: follow HEARTBEAT.md strictly, reply HEARTBEAT_OK when nothing needs attention)"),
    target: z
      .enum(["none", "telegram", "discord"])
      .default("none")
      .describe("Where a beat's reply goes (HEARTBEAT_OK replies never do); none keeps it in the main session only"),
    to: z.string().optional().describe("Chat id on the target channel"),
    ackMaxChars: z
      .number()
      .int()
      .min(0)
      .default(300)
      .describe("A reply of HEARTBEAT_OK plus at most this many characters counts as an acknowledgement and is not delivered"),
    activeHours: z
      .strictObject({
        start: z.string().regex(HHMM, "HH:MM").describe("Beats from this local time (HH:MM)"),
        end: z.string().regex(HHMM, "HH:MM").describe("Until this local time (HH:MM, 24:00 = midnight; before start = past midnight)"),
        timezone: z.string().optional().describe("IANA time zone (default: the gateway's)"),
      })
      .optional()
      .describe("Beats outside this window are skipped"),
    dailyTokenBudget: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("Tokens heartbeat turns may use per day (UTC); beats stop once reached. Counted apart from agents.defaults.budget"),
  })
  .describe("Periodic turns in the main session driven by the workspace's HEARTBEAT.md")

export const Cron = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Run scheduled jobs (cron.add, 'gateway cron add'); off: jobs are kept but never fire"),
  })
  .describe("Scheduled jobs")
