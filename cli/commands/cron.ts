/**
 * `gateway cron add | list | status | run ID | runs ID | rm ID | enable ID | disable ID`: scheduled jobs on the
 * running gateway (cron.* methods). A job is named by its id, a unique id prefix or its exact name.
 */
import { defineCommand } from "citty"
import type { GatewayClient } from "../../src/client/index.ts"
import type { CronAddParams, CronJob } from "../../src/protocol/methods/cron.ts"
import { connectionArgs, fail, printJson, withClient } from "./_shared.ts"

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text)
  return m ? Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? "ms").toLowerCase()]!) : undefined
}

function describeSchedule(s: CronJob["schedule"]): string {
  if (s.kind === "at") return `at ${s.at}`
  if (s.kind === "every") {
    const ms = s.everyMs
    const unit = ms % 86_400_000 === 0 ? [86_400_000, "d"] : ms % 3_600_000 === 0 ? [3_600_000, "h"] : ms % 60_000 === 0 ? [60_000, "m"] : [1000, "s"]
    return `every ${ms / (unit[0] as number)}${unit[1]}`
  }
  return `cron "${s.expr}"${s.tz ? ` ${s.tz}` : ""}`
}

const when = (ms: number | undefined) => (ms ? new Date(ms).toISOString().replace(".000Z", "Z") : "-")

/** The job a user named: exact id, exact name, or a unique id prefix. */
async function resolveId(c: GatewayClient, ref: string): Promise<string> {
  const { jobs } = await c.request("cron.list", { includeDisabled: true, limit: 1000 })
  const exact = jobs.find((j) => j.id === ref) ?? jobs.filter((j) => j.name === ref).at(0)
  if (exact) {
    if (jobs.filter((j) => j.name === ref).length > 1) fail(`more than one job is named '${ref}'; use its id (gateway cron list)`)
    return exact.id
  }
  const prefixed = jobs.filter((j) => j.id.startsWith(ref))
  if (prefixed.length === 1) return prefixed[0]!.id
  return fail(prefixed.length ? `'${ref}' matches ${prefixed.length} jobs; give more of the id` : `no cron job '${ref}' (see 'gateway cron list --all')`)
}

const idArg = { id: { type: "positional", required: true, description: "Job id, unique id prefix, or name" } } as const

const add = defineCommand({
  meta: {
    name: "add",
    description: "Add a job: one schedule (--cron [--tz] | --every | --at), one payload (--message | --system-event), optional --announce",
  },
  args: {
    name: { type: "string", required: true, description: "A name for the job" },
    cron: { type: "string", description: 'Cron expression, e.g. "0 9 * * 1-5"', valueHint: "expr" },
    tz: { type: "string", description: "IANA time zone for --cron (default: the gateway's)", valueHint: "zone" },
    every: { type: "string", description: "Interval: 90s, 10m, 2h, 1d", valueHint: "duration" },
    at: { type: "string", description: "One shot at an ISO time, e.g. 2026-12-24T09:00+09:00 (no offset: UTC)", valueHint: "time" },
    message: { type: "string", description: "Agent turn in the job's own session cron:<id>", valueHint: "text" },
    "system-event": { type: "string", description: "Text put into the main session instead of an isolated turn", valueHint: "text" },
    announce: { type: "string", description: "Send the reply to a chat: telegram:<chatId> or discord:<channelId>", valueHint: "channel:peer" },
    model: { type: "string", description: "Model for --message turns (provider/model)" },
    "next-heartbeat": { type: "boolean", description: "--system-event waits for the next heartbeat instead of running now", default: false },
    missed: { type: "string", description: "A run due while the gateway was down: skip (default; run-once for --at) or run-once", valueHint: "policy" },
    description: { type: "string", description: "What the job is for" },
    disabled: { type: "boolean", description: "Add it switched off", default: false },
    ...connectionArgs,
  },
  async run({ args }) {
    const schedules = [args.cron, args.every, args.at].filter((x) => x !== undefined)
    if (schedules.length !== 1) fail("give exactly one schedule: --cron EXPR [--tz ZONE], --every DURATION or --at TIME")
    if (args.tz && !args.cron) fail("--tz applies to --cron only")
    const payloads = [args.message, args["system-event"]].filter((x) => x !== undefined)
    if (payloads.length !== 1) fail("give exactly one of --message TEXT (an agent turn) or --system-event TEXT (into the main session)")
    let schedule: CronAddParams["schedule"]
    if (args.cron !== undefined) schedule = { kind: "cron", expr: args.cron, ...(args.tz ? { tz: args.tz } : {}) }
    else if (args.every !== undefined) {
      const ms = durationMs(args.every)
      if (!ms || ms < 1000) fail(`--every must be a duration of at least 1s (90s, 10m, 2h, 1d), got '${args.every}'`)
      schedule = { kind: "every", everyMs: ms }
    } else schedule = { kind: "at", at: args.at! }
    let delivery: CronAddParams["delivery"]
    if (args.announce !== undefined) {
      const i = args.announce.indexOf(":")
      if (i <= 0 || i === args.announce.length - 1) fail(`--announce must be channel:peer, e.g. telegram:123456, got '${args.announce}'`)
      delivery = { mode: "announce", channel: args.announce.slice(0, i), to: args.announce.slice(i + 1) }
    }
    if (args.missed !== undefined && args.missed !== "skip" && args.missed !== "run-once") fail(`--missed must be skip or run-once, got '${args.missed}'`)
    if (args.model && args.message === undefined) fail("--model applies to --message jobs only")
    const params: CronAddParams = {
      name: args.name,
      schedule,
      payload:
        args.message !== undefined
          ? { kind: "agentTurn", message: args.message, ...(args.model ? { model: args.model } : {}) }
          : { kind: "systemEvent", text: args["system-event"]! },
      ...(args["next-heartbeat"] ? { wakeMode: "next-heartbeat" as const } : {}),
      ...(delivery ? { delivery } : {}),
      ...(args.missed ? { missed: args.missed as "skip" | "run-once" } : {}),
      ...(args.description ? { description: args.description } : {}),
      ...(args.disabled ? { enabled: false } : {}),
    }
    const job = await withClient(args, ["operator.admin"], (c) => c.request("cron.add", params))
    if (args.json) return printJson(job)
    process.stdout.write(`added ${job.id} ${job.name} (${describeSchedule(job.schedule)}), next run ${when(job.state.nextRunAtMs)}\n`)
  },
})

const list = defineCommand({
  meta: { name: "list", description: "Jobs with their schedule, next run and last result (--all: disabled ones too)" },
  args: { all: { type: "boolean", description: "Include disabled jobs", default: false }, ...connectionArgs },
  async run({ args }) {
    const res = await withClient(args, ["operator.read"], (c) => c.request("cron.list", { includeDisabled: args.all, limit: 1000 }))
    if (args.json) return printJson({ jobs: res.jobs, total: res.total })
    if (!res.jobs.length) return void process.stdout.write(args.all ? "no cron jobs\n" : "no enabled cron jobs (--all shows disabled ones)\n")
    for (const j of res.jobs) {
      const last = j.state.lastStatus ? `${j.state.lastStatus}${j.state.lastError ? `: ${j.state.lastError}` : ""}` : "never ran"
      const target = j.delivery?.mode === "announce" ? ` → ${j.delivery.channel}:${j.delivery.to}` : ""
      process.stdout.write(
        `${j.id}  ${j.name}${j.enabled ? "" : " (disabled)"}\n  ${describeSchedule(j.schedule)}${target} · next ${when(j.state.nextRunAtMs)} · last ${last}\n`,
      )
    }
  },
})

const status = defineCommand({
  meta: { name: "status", description: "Whether cron runs, how many jobs, the next wake, and the heartbeat's state and spend" },
  args: { ...connectionArgs },
  async run({ args }) {
    const s = await withClient(args, ["operator.read"], (c) => c.request("cron.status", {}))
    if (args.json) return printJson(s)
    const hb = s.heartbeat
    const lines = [
      `cron       ${s.enabled ? "enabled" : "disabled (cron.enabled)"} · ${s.jobs} job(s) · next wake ${when(s.nextWakeAtMs ?? undefined)}`,
      ...(s.running.length ? [`running    ${s.running.join(", ")}`] : []),
      `heartbeat  ${hb.enabled ? `every ${Math.round(hb.everyMs / 60_000)}m · next ${when(hb.nextBeatAtMs)}` : "off"} · ${hb.tokensToday} tokens today${hb.dailyTokenBudget ? ` of ${hb.dailyTokenBudget}` : ""}`,
      `store      ${s.storePath}`,
    ]
    process.stdout.write(`${lines.join("\n")}\n`)
  },
})

const run = defineCommand({
  meta: { name: "run", description: "Run a job now (--due: only if it is due); it never starts a second run of a job already running" },
  args: { ...idArg, due: { type: "boolean", description: "Only when it is due", default: false }, ...connectionArgs },
  async run({ args }) {
    const res = await withClient(args, ["operator.admin"], async (c) =>
      c.request("cron.run", { id: await resolveId(c, args.id), mode: args.due ? "due" : "force" }),
    )
    if (args.json) return printJson(res)
    if (!res.ran) fail(`not run: ${res.reason}`)
    process.stdout.write("started; see 'gateway cron runs' for the result\n")
  },
})

const runs = defineCommand({
  meta: { name: "runs", description: "A job's run history, newest first: status, duration, error" },
  args: { ...idArg, limit: { type: "string", description: "Most entries (default 20)", default: "20" }, ...connectionArgs },
  async run({ args }) {
    const limit = Number(args.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) fail(`--limit must be a whole number from 1 to 200, got '${args.limit}'`)
    const res = await withClient(args, ["operator.read"], async (c) => c.request("cron.runs", { id: await resolveId(c, args.id), limit }))
    if (args.json) return printJson(res)
    if (!res.entries.length) return void process.stdout.write("no runs yet\n")
    for (const e of res.entries) {
      const detail = e.error ?? e.summary?.split("\n")[0] ?? ""
      process.stdout.write(`${when(e.runAtMs)}  ${e.status.padEnd(7)} ${String(e.durationMs).padStart(6)} ms  ${detail}\n`)
    }
  },
})

const rm = defineCommand({
  meta: { name: "rm", description: "Remove a job and its history (a run in flight is aborted)" },
  args: { ...idArg, ...connectionArgs },
  async run({ args }) {
    const res = await withClient(args, ["operator.admin"], async (c) => {
      const id = await resolveId(c, args.id)
      return { id, ...(await c.request("cron.remove", { id })) }
    })
    if (args.json) return printJson(res)
    process.stdout.write(res.removed ? `removed ${res.id}\n` : `${res.id} was already gone\n`)
  },
})

const toggle = (enabled: boolean) =>
  defineCommand({
    meta: {
      name: enabled ? "enable" : "disable",
      description: enabled ? "Switch a job on (its next run is computed from now)" : "Switch a job off (kept, never fires)",
    },
    args: { ...idArg, ...connectionArgs },
    async run({ args }) {
      const job = await withClient(args, ["operator.admin"], async (c) => c.request("cron.update", { id: await resolveId(c, args.id), patch: { enabled } }))
      if (args.json) return printJson(job)
      process.stdout.write(`${job.name} ${enabled ? `enabled, next run ${when(job.state.nextRunAtMs)}` : "disabled"}\n`)
    },
  })

export default defineCommand({
  meta: { name: "cron", description: "Scheduled jobs: add, list, status, run, runs, rm, enable, disable" },
  subCommands: { add, list, status, run, runs, rm, enable: toggle(true), disable: toggle(false) },
})
