/**
 * The scheduler: jobs live in SQLite; one timer (through the Clock) is armed for the earliest due job. A due job
 * hands its message to the router (door "cron"): a system event into the main session, or an agent turn in the
 * session cron:<jobId>; an announce goes to its channel peer as the run's delivery target (the router publishes the
 * reply, the outbox sends it once per run id). The agent run's id is `cron:<jobId>:<scheduled ms>`, so a run picked up
 * again after a restart is the same run (the router answers a duplicate), never a second one.
 *
 * Rules: a job never has two runs in flight (a run due while the last one still runs is recorded as skipped);
 * runs missed while the gateway was down follow the job's `missed` policy (skip, or run once however many were
 * missed); removing a job mid-run aborts its run and records nothing more.
 */
import { agentIds } from "../agent/agents.ts"
import type { Bus } from "../bus/index.ts"
import type { Config } from "../config/schema.ts"
import type { CronAddParams, CronJob, CronPatch } from "../protocol/methods/cron.ts"
import type { Accepted, DeliveryTarget, Inbound } from "../router/inbound.ts"
import type { CronJobRow, CronRepo, CronRunRow } from "../store/cron.ts"
import type { Logger } from "../util/log.ts"
import type { Clock, ClockTimer } from "./clock.ts"
import { CronChanged } from "./events.ts"
import { firstRun, nextRunAfter, scheduleProblem, type Schedule } from "./schedule.ts"

/** What a run's wait answers (the runtime's outcome or the stored row). */
export interface RunResult {
  status: string
  text?: string
  error?: string
}

export interface CronDeps {
  repo: CronRepo
  clock: Clock
  bus: Bus
  log: Logger
  config(): Config
  /** The router's accept. */
  accept(inbound: Inbound): Accepted
  /** Waits for the end of an agent run (undefined: timed out or unknown). */
  wait(runId: string, timeoutMs: number): Promise<RunResult | undefined>
  /** Aborts one agent run. */
  abort(sessionKey: string, runId: string): void
  storePath: string
}

/** A job definition that cannot run, with the field at fault in the message. */
export class CronInputError extends Error {}

type Payload = CronJob["payload"]
type Delivery = NonNullable<CronJob["delivery"]>
type RunStatus = "ok" | "error" | "skipped"

const SUMMARY_MAX = 500

function parse<T>(text: string | null): T | undefined {
  if (!text) return undefined
  try {
    return JSON.parse(text) as T
  } catch {
    return undefined
  }
}

/** The wire shape of a stored job (OpenClaw's CronJob). */
export function toJob(row: CronJobRow): CronJob {
  const delivery = parse<Delivery>(row.delivery)
  const state = {
    ...(row.nextRunAtMs != null ? { nextRunAtMs: row.nextRunAtMs } : {}),
    ...(row.runningAtMs != null ? { runningAtMs: row.runningAtMs } : {}),
    ...(row.lastRunAtMs != null ? { lastRunAtMs: row.lastRunAtMs } : {}),
    ...(row.lastStatus ? { lastStatus: row.lastStatus as RunStatus } : {}),
    ...(row.lastError ? { lastError: row.lastError } : {}),
    ...(row.lastDurationMs != null ? { lastDurationMs: row.lastDurationMs } : {}),
  }
  return {
    id: row.id,
    name: row.name,
    ...(row.description ? { description: row.description } : {}),
    agentId: row.agentId,
    effectiveAgentId: row.agentId,
    enabled: row.enabled,
    createdAtMs: row.createdAtMs,
    updatedAtMs: row.updatedAtMs,
    schedule: parse<Schedule>(row.schedule)!,
    sessionTarget: row.sessionTarget as "main" | "isolated",
    wakeMode: row.wakeMode as "now" | "next-heartbeat",
    payload: parse<Payload>(row.payload)!,
    ...(delivery ? { delivery } : {}),
    deleteAfterRun: row.deleteAfterRun,
    missed: row.missed as "skip" | "run-once",
    state,
    ...(row.nextRunAtMs != null ? { nextRunAtMs: row.nextRunAtMs } : {}),
  }
}

export function toRunEntry(r: CronRunRow) {
  return {
    ts: r.ts,
    jobId: r.jobId,
    action: "finished" as const,
    status: r.status as RunStatus,
    ...(r.error ? { error: r.error } : {}),
    ...(r.summary ? { summary: r.summary } : {}),
    runAtMs: r.runAtMs,
    durationMs: r.durationMs,
    ...(r.nextRunAtMs != null ? { nextRunAtMs: r.nextRunAtMs } : {}),
    ...(r.runId ? { runId: r.runId } : {}),
  }
}

/** "telegram:123456" → the channel and the chat; undefined when it is not channel:peer. */
export function parsePeer(text: string): { channel: string; to: string } | undefined {
  const i = text.indexOf(":")
  if (i <= 0 || i === text.length - 1) return undefined
  return { channel: text.slice(0, i).trim().toLowerCase(), to: text.slice(i + 1).trim() }
}

export class CronService {
  private timer: ClockTimer | undefined
  private running = new Map<string, { runId?: string; sessionKey?: string; done: Promise<void> }>()
  private stopped = false
  private started = false
  /** Whether the start-up handling (resume, missed runs) ran since cron was last enabled. */
  private caughtUp = false

  constructor(private deps: CronDeps) {}

  get enabled(): boolean {
    return this.deps.config().cron.enabled
  }

  // ---- jobs -----------------------------------------------------------------------------------------------------

  list(opts: { includeDisabled?: boolean; query?: string } = {}): CronJob[] {
    const q = opts.query?.toLowerCase()
    return this.deps.repo
      .list()
      .filter((r) => opts.includeDisabled || r.enabled)
      .filter((r) => !q || r.name.toLowerCase().includes(q) || r.id.includes(q) || (r.description ?? "").toLowerCase().includes(q))
      .map(toJob)
  }

  get(id: string): CronJob | undefined {
    const row = this.deps.repo.get(id)
    return row ? toJob(row) : undefined
  }

  add(p: CronAddParams): CronJob {
    const now = this.deps.clock.now()
    const fields = this.validate(p)
    const enabled = p.enabled ?? true
    const row = this.deps.repo.insert({
      id: crypto.randomUUID(),
      name: p.name,
      description: p.description ?? null,
      // The configured default agent (the first of agents.list, or the one marked default), not a fixed "main".
      agentId: p.agentId ?? agentIds(this.deps.config()).defaultId,
      enabled,
      schedule: JSON.stringify(p.schedule),
      sessionTarget: fields.sessionTarget,
      wakeMode: p.wakeMode ?? "now",
      payload: JSON.stringify(p.payload),
      delivery: p.delivery ? JSON.stringify(p.delivery) : null,
      deleteAfterRun: p.deleteAfterRun ?? p.schedule.kind === "at",
      // A one-shot reminder should still happen after downtime; a recurring job just waits for its next time.
      missed: p.missed ?? (p.schedule.kind === "at" ? "run-once" : "skip"),
      createdAtMs: now,
      updatedAtMs: now,
      nextRunAtMs: enabled ? (firstRun(p.schedule, now, now) ?? null) : null,
    })
    this.publish({ jobId: row.id, action: "added", ...(row.nextRunAtMs != null ? { nextRunAtMs: row.nextRunAtMs } : {}) })
    this.arm()
    return toJob(row)
  }

  update(id: string, patch: CronPatch): CronJob | undefined {
    const row = this.deps.repo.get(id)
    if (!row) return undefined
    const before = toJob(row)
    const merged = {
      name: patch.name ?? before.name,
      description: patch.description ?? before.description,
      schedule: patch.schedule ?? before.schedule,
      sessionTarget: patch.sessionTarget ?? (patch.payload ? undefined : before.sessionTarget),
      wakeMode: patch.wakeMode ?? before.wakeMode,
      payload: patch.payload ?? before.payload,
      delivery: patch.delivery ?? before.delivery,
      agentId: patch.agentId ?? before.agentId,
      enabled: patch.enabled ?? before.enabled,
      deleteAfterRun: patch.deleteAfterRun ?? before.deleteAfterRun,
      missed: patch.missed ?? before.missed,
    }
    const fields = this.validate(merged)
    const now = this.deps.clock.now()
    const rescheduled = !!patch.schedule || (patch.enabled === true && !row.enabled)
    const next = !merged.enabled ? null : rescheduled || row.nextRunAtMs == null ? (firstRun(merged.schedule, now, row.createdAtMs) ?? null) : row.nextRunAtMs
    const updated = this.deps.repo.update(id, {
      name: merged.name,
      description: merged.description ?? null,
      schedule: JSON.stringify(merged.schedule),
      sessionTarget: fields.sessionTarget,
      wakeMode: merged.wakeMode,
      payload: JSON.stringify(merged.payload),
      delivery: merged.delivery ? JSON.stringify(merged.delivery) : null,
      agentId: merged.agentId,
      enabled: merged.enabled,
      deleteAfterRun: merged.deleteAfterRun ?? false,
      missed: merged.missed ?? "skip",
      updatedAtMs: now,
      nextRunAtMs: next,
    })
    if (!updated) return undefined
    this.publish({ jobId: id, action: "updated", ...(next != null ? { nextRunAtMs: next } : {}) })
    this.arm()
    return toJob(updated)
  }

  /** Removes the job and its history; a run in flight is aborted and leaves nothing behind. */
  remove(id: string): boolean {
    const removed = this.deps.repo.remove(id)
    if (!removed) return false
    const inflight = this.running.get(id)
    if (inflight?.runId && inflight.sessionKey) this.deps.abort(inflight.sessionKey, inflight.runId)
    this.publish({ jobId: id, action: "removed" })
    this.arm()
    return true
  }

  runs(id: string, limit = 50) {
    return this.deps.repo.runs(id, limit).map(toRunEntry)
  }

  status() {
    const rows = this.deps.repo.list()
    const next = rows.filter((r) => r.enabled && r.nextRunAtMs != null).map((r) => r.nextRunAtMs!)
    return {
      enabled: this.enabled,
      storePath: this.deps.storePath,
      jobs: rows.length,
      nextWakeAtMs: next.length ? Math.min(...next) : null,
      running: [...this.running.keys()],
    }
  }

  /** Starts a run now (force, the default) or only when it is due; never a second run of a job in flight. */
  runNow(id: string, mode: "due" | "force" = "force"): { ran: boolean; reason?: string; runAtMs?: number } {
    const row = this.deps.repo.get(id)
    if (!row) return { ran: false, reason: "not-found" }
    if (this.running.has(id)) return { ran: false, reason: "already-running" }
    const now = this.deps.clock.now()
    if (mode === "due") {
      if (!row.enabled) return { ran: false, reason: "disabled" }
      if (row.nextRunAtMs == null || row.nextRunAtMs > now) return { ran: false, reason: "not-due" }
      const runAt = row.nextRunAtMs
      this.deps.repo.update(id, { nextRunAtMs: nextRunAfter(parse<Schedule>(row.schedule)!, now, row.createdAtMs) ?? null })
      this.fire(row, runAt)
      return { ran: true, runAtMs: runAt }
    }
    this.fire(row, now, true)
    return { ran: true, runAtMs: now }
  }

  /** Waits for every run in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running.values()].map((r) => r.done))
  }

  // ---- scheduling -------------------------------------------------------------------------------------------------

  /**
   * At start-up: runs cut off by the last stop are picked up (same run id), runs missed while the gateway was down
   * follow each job's policy, then the timer is armed.
   */
  start(): void {
    this.started = true
    if (!this.enabled) {
      this.deps.log.info("cron disabled (cron.enabled is false)")
      return
    }
    this.catchUp("the gateway was not running")
    this.arm()
  }

  /** cron.* config changed (cron.enabled switched on or off). */
  reconfigure(): void {
    if (!this.started || this.stopped) return
    // Switched on after booting (or running) disabled: the start-up handling runs now, so a run cut off by a crash
    // is still resumed (exactly-once announce) and runs missed meanwhile follow their policy instead of all firing.
    if (!this.enabled) this.caughtUp = false
    else if (!this.caughtUp) this.catchUp("cron was disabled (cron.enabled false)")
    this.arm()
  }

  /** Resumes runs left marked in flight and applies each job's missed-run policy; `why` says why runs were missed. */
  private catchUp(why: string): void {
    this.caughtUp = true
    const now = this.deps.clock.now()
    for (const row of this.deps.repo.list()) {
      const schedule = parse<Schedule>(row.schedule)
      if (!schedule) continue
      // A run still in flight in this process (cron was switched off and on meanwhile) keeps going; not a second one.
      if (this.running.has(row.id)) continue
      if (row.runningAtMs != null) {
        this.deps.log.info(`cron job ${row.name} (${row.id}) was running when the gateway stopped; picking its run up again`)
        this.fire(row, row.runningAtMs, false, true)
        continue
      }
      if (!row.enabled) continue
      if (row.nextRunAtMs == null) {
        this.deps.repo.update(row.id, { nextRunAtMs: firstRun(schedule, now, row.createdAtMs) ?? null })
        continue
      }
      if (row.nextRunAtMs > now) continue
      const missedAt = row.nextRunAtMs
      const next = nextRunAfter(schedule, now, row.createdAtMs) ?? null
      this.deps.repo.update(row.id, { nextRunAtMs: next })
      if (row.missed === "run-once") {
        this.deps.log.info(`cron job ${row.name} (${row.id}) was due at ${new Date(missedAt).toISOString()} while ${why}; running it once now`)
        this.fire({ ...row, nextRunAtMs: next }, missedAt)
      } else {
        const error = `missed: ${why} at ${new Date(missedAt).toISOString()} (policy: skip)`
        this.deps.log.info(`cron job ${row.name} (${row.id}) ${error}`)
        this.record(row.id, { runAt: missedAt, status: "skipped", error, durationMs: 0, next })
        if (schedule.kind === "at") this.deps.repo.update(row.id, { enabled: false })
      }
    }
  }

  stop(): void {
    this.stopped = true
    this.timer?.cancel()
    this.timer = undefined
  }

  /** One timer, for the earliest due job. */
  private arm(): void {
    this.timer?.cancel()
    this.timer = undefined
    if (this.stopped || !this.started || !this.enabled) return
    let earliest: number | undefined
    for (const r of this.deps.repo.list()) {
      if (r.enabled && r.nextRunAtMs != null && (earliest === undefined || r.nextRunAtMs < earliest)) earliest = r.nextRunAtMs
    }
    if (earliest === undefined) return
    this.timer = this.deps.clock.after(earliest - this.deps.clock.now(), () => this.tick())
  }

  private tick(): void {
    this.timer = undefined
    if (this.stopped) return
    const now = this.deps.clock.now()
    for (const row of this.deps.repo.list()) {
      if (!row.enabled || row.nextRunAtMs == null || row.nextRunAtMs > now) continue
      const schedule = parse<Schedule>(row.schedule)
      if (!schedule) continue
      const runAt = row.nextRunAtMs
      const next = nextRunAfter(schedule, now, row.createdAtMs) ?? null
      this.deps.repo.update(row.id, { nextRunAtMs: next })
      if (this.running.has(row.id)) {
        // Never stacked: this occurrence is dropped and said so in the history. The job's state is the run in flight's:
        // its running marker must stay, or a crash now would leave that run unresumed (and its announce unsent).
        this.record(row.id, { runAt, status: "skipped", error: "the previous run was still running", durationMs: 0, next }, false)
        continue
      }
      this.fire({ ...row, nextRunAtMs: next }, runAt)
    }
    this.arm()
  }

  /** Runs a job for its scheduled time `runAt` in the background. */
  private fire(row: CronJobRow, runAt: number, manual = false, resumed = false): void {
    const entry: { runId?: string; sessionKey?: string; done: Promise<void> } = { done: Promise.resolve() }
    this.running.set(row.id, entry)
    entry.done = this.execute(row, runAt, manual, resumed, entry)
      .catch((err) => this.deps.log.error(`cron job ${row.id} failed unexpectedly`, { error: String(err) }))
      .finally(() => {
        if (this.running.get(row.id) === entry) this.running.delete(row.id)
      })
  }

  private inbound(row: CronJobRow, runId: string): Inbound {
    const payload = parse<Payload>(row.payload)!
    const delivery = parse<Delivery>(row.delivery)
    const target: DeliveryTarget =
      delivery?.mode === "announce" && delivery.channel && delivery.to ? { kind: "channel", channel: delivery.channel, to: delivery.to } : { kind: "none" }
    const origin = { door: "cron" as const }
    if (payload.kind === "systemEvent") {
      return {
        origin,
        session: { kind: "main", agentId: row.agentId },
        message: `[cron:${row.id} ${row.name}] ${payload.text}`,
        idempotencyKey: runId,
        delivery: target,
        when: row.wakeMode === "next-heartbeat" ? "next-heartbeat" : "now",
      }
    }
    return {
      origin,
      session: { kind: "key", key: `cron:${row.id}`, agentId: row.agentId },
      message: `[cron:${row.id} ${row.name}] ${payload.message}`,
      idempotencyKey: runId,
      delivery: target,
      run: {
        ...(payload.model ? { model: payload.model } : {}),
        ...(payload.timeoutSeconds ? { timeoutMs: payload.timeoutSeconds * 1000 } : {}),
        // Each run starts clean (OpenClaw gives isolated runs a fresh session): a job's cost stays flat over time.
        ...(payload.lightContext !== false ? { light: true } : {}),
        label: `cron: ${row.name}`,
      },
    }
  }

  private async execute(row: CronJobRow, runAt: number, manual: boolean, resumed: boolean, entry: { runId?: string; sessionKey?: string }): Promise<void> {
    const started = this.deps.clock.now()
    this.deps.repo.update(row.id, { runningAtMs: runAt })
    this.publish({ jobId: row.id, action: "started", runAtMs: runAt })
    // Derived from the job and the time it runs for (a manual run's is now), so the next start finds the same run.
    let runId = `cron:${row.id}:${runAt}`
    let status: RunStatus = "ok"
    let error: string | undefined
    let summary: string | undefined
    try {
      let accepted = this.deps.accept(this.inbound(row, runId))
      if (resumed && accepted.state === "duplicate" && accepted.existing?.status === "aborted") {
        // Cut off by a graceful stop (runs are aborted then, not resumed): one fresh attempt for the same time.
        runId = `${runId}:retry`
        accepted = this.deps.accept(this.inbound(row, runId))
      }
      entry.runId = accepted.runId
      entry.sessionKey = accepted.sessionKey
      if (accepted.state === "deferred" || accepted.existing?.status === "deferred") {
        summary = "queued for the next heartbeat"
      } else {
        const payload = parse<Payload>(row.payload)
        const timeoutMs =
          ((payload?.kind === "agentTurn" ? payload.timeoutSeconds : undefined) ?? this.deps.config().agents.defaults.timeoutSeconds) * 1000 + 60_000
        const res = await this.deps.wait(accepted.carriedBy ?? accepted.runId, timeoutMs)
        if (!res) {
          status = "error"
          error = "the run did not finish in time"
        } else if (res.status !== "ok") {
          status = "error"
          error = res.error ?? `the run ended ${res.status}`
        } else summary = res.text ? res.text.slice(0, SUMMARY_MAX) : undefined
      }
    } catch (err) {
      status = "error"
      error = (err as Error)?.message ?? String(err)
    }
    // Stopping: the run is left marked in flight, and the next start picks it up (same run id).
    if (this.stopped) return
    const current = this.deps.repo.get(row.id)
    if (!current) return // removed meanwhile: nothing to record
    const durationMs = Math.max(0, this.deps.clock.now() - started)
    const schedule = parse<Schedule>(current.schedule)
    if (status === "error") this.deps.log.warn(`cron job ${current.name} (${current.id}) failed: ${error}`)
    const next = current.nextRunAtMs
    this.record(current.id, { runAt, status, error, summary, durationMs, next, runId })
    if (schedule?.kind === "at" && !manual) {
      if (status === "ok" && current.deleteAfterRun) {
        this.deps.repo.remove(current.id)
        this.publish({ jobId: current.id, action: "removed" })
      } else this.deps.repo.update(current.id, { enabled: false, nextRunAtMs: null })
    }
    this.arm()
  }

  private record(
    jobId: string,
    r: { runAt: number; status: RunStatus; error?: string; summary?: string; durationMs: number; next: number | null; runId?: string },
    /** false: history and event only, the job's state (running marker, last run) untouched. */
    updateState = true,
  ): void {
    const now = this.deps.clock.now()
    this.deps.repo.addRun({
      jobId,
      runId: r.runId ?? null,
      ts: now,
      runAtMs: r.runAt,
      durationMs: r.durationMs,
      status: r.status,
      error: r.error ?? null,
      summary: r.summary ?? null,
      nextRunAtMs: r.next,
    })
    if (updateState)
      this.deps.repo.update(jobId, {
        runningAtMs: null,
        lastRunAtMs: r.runAt,
        lastStatus: r.status,
        lastError: r.error ?? null,
        lastDurationMs: r.durationMs,
      })
    this.publish({
      jobId,
      action: "finished",
      runAtMs: r.runAt,
      durationMs: r.durationMs,
      status: r.status,
      ...(r.error ? { error: r.error } : {}),
      ...(r.summary ? { summary: r.summary } : {}),
      ...(r.next != null ? { nextRunAtMs: r.next } : {}),
    })
  }

  private publish(e: Parameters<typeof this.deps.bus.publish<typeof CronChanged>>[1]): void {
    this.deps.bus.publish(CronChanged, e)
  }

  /** Checks a definition and settles its session target; throws CronInputError naming the field. */
  private validate(p: { schedule: Schedule; payload: Payload; sessionTarget?: "main" | "isolated"; delivery?: Delivery }): {
    sessionTarget: "main" | "isolated"
  } {
    const problem = scheduleProblem(p.schedule)
    if (problem) throw new CronInputError(problem)
    const sessionTarget = p.sessionTarget ?? (p.payload.kind === "systemEvent" ? "main" : "isolated")
    if (sessionTarget === "main" && p.payload.kind !== "systemEvent")
      throw new CronInputError("sessionTarget main takes a systemEvent payload; an agentTurn runs isolated in cron:<jobId>")
    if (sessionTarget === "isolated" && p.payload.kind !== "agentTurn")
      throw new CronInputError("sessionTarget isolated takes an agentTurn payload; a systemEvent goes to the main session")
    if (p.delivery?.mode === "announce") {
      if (!p.delivery.channel || !p.delivery.to) throw new CronInputError("delivery.announce needs channel and to (e.g. telegram and a chat id)")
      if (!["telegram", "discord"].includes(p.delivery.channel))
        throw new CronInputError(`delivery.channel: '${p.delivery.channel}' is not a channel of this gateway (telegram, discord)`)
    }
    return { sessionTarget }
  }
}
