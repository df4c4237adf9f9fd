/**
 * The agent's `cron` tool: list, add, remove and run scheduled jobs on the gateway it runs in (the same service as
 * cron.* over the wire). Within policy: tools.allow / tools.deny apply as to every tool, sub-agents do not get it, a
 * job the agent adds may only announce to chats the owner let in (as the `message` tool), runs at most once a minute,
 * and belongs to the calling agent; the tool sees, removes and runs only its own agent's jobs, by id (no bulk
 * operations), never another agent's or the operator's.
 */
import { z } from "zod"
import { scheduleProblem, shortestInterval } from "../../cron/schedule.ts"
import type { CronAddParams, CronJob } from "../../protocol/methods/cron.ts"
import { agentIdOf } from "../session-key.ts"
import { defineTool, ToolError, type ToolDef } from "./tool.ts"

/** What the tool needs of the cron service. */
export interface CronToolTarget {
  list(opts: { includeDisabled?: boolean }): CronJob[]
  get(id: string): CronJob | undefined
  add(p: CronAddParams): CronJob
  remove(id: string): boolean
  runNow(id: string, mode?: "due" | "force"): { ran: boolean; reason?: string }
}

export interface CronToolOptions {
  /** Whether the agent may announce to this chat (the channel core's allow rules); absent: no channels. */
  canAnnounce?(channel: string, to: string): boolean
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const MIN_INTERVAL_MS = 60_000

function everyMs(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$/i.exec(text)
  if (!m) throw new ToolError({ message: `every must look like 90s, 10m, 2h or 1d; got '${text}'.` })
  const ms = Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!)
  if (ms < MIN_INTERVAL_MS) throw new ToolError({ message: "every must be at least 1m for jobs the agent adds." })
  return ms
}

function line(j: CronJob): string {
  const s = j.schedule
  const when = s.kind === "at" ? `at ${s.at}` : s.kind === "every" ? `every ${s.everyMs / 60_000}m` : `cron "${s.expr}"${s.tz ? ` ${s.tz}` : ""}`
  const what = j.payload.kind === "agentTurn" ? j.payload.message : j.payload.text
  const next = j.state.nextRunAtMs ? new Date(j.state.nextRunAtMs).toISOString() : "none"
  return `- ${j.id} "${j.name}" ${when}${j.enabled ? "" : " (disabled)"}; next ${next}; last ${j.state.lastStatus ?? "never"}: ${what.slice(0, 120)}`
}

export function createCronTool(cron: CronToolTarget, opts: CronToolOptions = {}): ToolDef {
  return defineTool({
    name: "cron",
    description:
      "Scheduled jobs: list them, add one (a reminder or recurring task: exactly one of every / cron / at; the message runs as your own turn at that time), remove one by id, or run one now. Use announce (telegram:<chatId>) to have the result sent to a chat.",
    parameters: z.object({
      action: z.enum(["list", "add", "remove", "run"]),
      id: z.string().optional().describe("remove / run: the job id (from list)"),
      name: z.string().max(200).optional().describe("add: a short name"),
      message: z.string().max(4000).optional().describe("add: what to do when it runs"),
      every: z.string().optional().describe("add: interval like 10m, 2h, 1d"),
      cron: z.string().optional().describe('add: cron expression like "0 9 * * 1-5"'),
      tz: z.string().optional().describe("add: IANA time zone for cron, e.g. Asia/Seoul"),
      at: z.string().optional().describe("add: one-shot ISO time with offset, e.g. 2026-12-24T09:00+09:00"),
      announce: z.string().optional().describe("add: send the result to channel:chatId, e.g. telegram:123456"),
    }),
    async execute(args, ctx) {
      // The agent the run belongs to (the router put it in the session key).
      const agentId = agentIdOf(ctx.sessionKey)
      if (args.action === "list") {
        const jobs = cron.list({ includeDisabled: true }).filter((j) => j.agentId === agentId)
        return { output: jobs.length ? jobs.map(line).join("\n") : "No cron jobs." }
      }
      if (args.action === "remove" || args.action === "run") {
        if (!args.id) throw new ToolError({ message: `${args.action} needs the job id (call cron with action list to see them).` })
        // Another agent's or the operator's job answers as a missing one: the tool does not reveal it exists.
        if (cron.get(args.id)?.agentId !== agentId) return { output: `No job ${args.id}.` }
        if (args.action === "remove") return { output: cron.remove(args.id) ? `Removed ${args.id}.` : `No job ${args.id}.` }
        const res = cron.runNow(args.id)
        return { output: res.ran ? `Started ${args.id}; its result is recorded in the job's history.` : `Not run: ${res.reason}.` }
      }
      if (!args.name || !args.message) throw new ToolError({ message: "add needs name and message." })
      const given = [args.every, args.cron, args.at].filter((x) => x !== undefined)
      if (given.length !== 1) throw new ToolError({ message: "add needs exactly one of every, cron or at." })
      const schedule: CronAddParams["schedule"] =
        args.every !== undefined
          ? { kind: "every", everyMs: everyMs(args.every) }
          : args.cron !== undefined
            ? { kind: "cron", expr: args.cron, ...(args.tz ? { tz: args.tz } : {}) }
            : { kind: "at", at: args.at! }
      const problem = scheduleProblem(schedule)
      if (problem) throw new ToolError({ message: `Could not add the job: ${problem}` })
      // Measured on the schedule's real runs: a six-field cron expression (seconds first) can fire every second.
      const now = Date.now()
      const gap = shortestInterval(schedule, now, now)
      if (gap !== undefined && gap < MIN_INTERVAL_MS)
        throw new ToolError({ message: `The job would run every ${gap / 1000}s; jobs the agent adds may run at most once a minute.` })
      let delivery: CronAddParams["delivery"]
      if (args.announce) {
        const i = args.announce.indexOf(":")
        const channel = args.announce.slice(0, i)
        const to = args.announce.slice(i + 1)
        if (i <= 0 || !to) throw new ToolError({ message: `announce must be channel:chatId, e.g. telegram:123456; got '${args.announce}'.` })
        if (!opts.canAnnounce?.(channel, to))
          throw new ToolError({ message: `You may not announce to ${args.announce}: only chats the owner allowed (approved or allow-listed) can be messaged.` })
        delivery = { mode: "announce", channel, to }
      }
      try {
        const job = cron.add({ name: args.name, agentId, schedule, payload: { kind: "agentTurn", message: args.message }, ...(delivery ? { delivery } : {}) })
        return { output: `Added ${line(job)}`, meta: { jobId: job.id } }
      } catch (err) {
        throw new ToolError({ message: `Could not add the job: ${(err as Error).message}` })
      }
    },
  })
}
