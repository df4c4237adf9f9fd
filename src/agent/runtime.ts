/**
 * The agent runtime inside the gateway: one run at a time per session (a lane) under a global concurrency cap, the
 * session's queue mode for messages that arrive mid-run, aborts, waits, daily budgets, and recovery after a restart.
 * Runs execute in-process and need no connected client. Doors never call it directly: the router admits messages.
 *
 * Every admitted message is a row in `runs` before admit() returns (its own run, or carried by another one), and a
 * run writes the user rows of every message it carries into the transcript before its first model call, each
 * exactly once (messages.input_id). So after a crash nothing acknowledged is lost and nothing is recorded twice.
 */
import type { Bus } from "../bus/index.ts"
import type { Config } from "../config/schema.ts"
import type { RunRow, SessionRepo } from "../store/sessions.ts"
import type { Logger } from "../util/log.ts"
import { sleep, timerDelay } from "../util/timers.ts"
import { RunRejected } from "./errors.ts"
import { Semaphore } from "./lanes.ts"
import type { ModelHandle } from "./model-types.ts"
import { RunEmitter } from "./run-events.ts"
import { type AbortReason, executeRun, type InputMessage, type RunDeps, type RunInput, type RunOutcome } from "./run.ts"
import { agentIdOf, kindOf } from "./session-key.ts"

/** What a run needs besides its messages; stored with the run (runs.input) so it survives a restart. */
export interface RunSpec {
  message: string
  model?: string
  extraSystemPrompt?: string
  timeoutMs?: number
  /** Which door it came through (for logs and prompts). */
  source: string
  /** Session metadata used when the session does not exist yet. */
  parentKey?: string
  depth?: number
  label?: string
  /** Light context: the model sees only this run's own messages (heartbeats, light cron turns). */
  light?: boolean
}

export interface AdmitRequest extends RunSpec {
  runId: string
  sessionKey: string
  origin?: unknown
  delivery?: unknown
  /** Store only; the next heartbeat carries it. */
  deferred?: boolean
  /** Wait this long for more messages of the same burst before running (channels' per-chat debounce). */
  debounceMs?: number
}

export interface Admitted {
  runId: string
  sessionKey: string
  acceptedAt: number
  state: "queued" | "merged" | "deferred"
  carriedBy?: string
}

/** What agent.wait answers: a full outcome while the gateway remembers it, else what the database holds. */
export type WaitResult = RunOutcome | { runId: string; status: string; error?: string; endedAt?: number; startedAt?: number; text?: string }

interface Tracked {
  runId: string
  sessionKey: string
  spec: RunSpec
  /** Inputs merged into this run (collect) while it waited. */
  carried: InputMessage[]
  /** Picked up after a crash: its own input may already be in the transcript. */
  resumed: boolean
  controller: AbortController
  done: Promise<RunOutcome>
  resolve(o: RunOutcome): void
  startedAt?: number
  /** ending: its outcome is being recorded; a message arriving now (from a run-end listener, say) is not steered in. */
  state: "queued" | "holding" | "running" | "ending"
  /** Debounce: the run waits until then for more messages from the same burst (they are carried by it). */
  holdUntil?: number
}

interface Lane {
  active?: Tracked
  queue: Tracked[]
  /** Inputs steered into the active run, taken at its next step boundary. */
  steer: InputMessage[]
}

const RECENT_OUTCOMES = 500
/** A burst may hold its run at most this many debounce windows from its first message. */
const MAX_DEBOUNCE_WINDOWS = 4
const TERMINAL = new Set(["ok", "error", "aborted", "timeout"])

export class AgentRuntime {
  private lanes = new Map<string, Lane>()
  private tracked = new Map<string, Tracked>()
  private outcomes = new Map<string, RunOutcome>()
  private global: Semaphore
  private stopping = false
  private listeners = new Set<(o: RunOutcome) => void>()

  constructor(private deps: Omit<RunDeps<ModelHandle>, "takeSteered"> & { repo: SessionRepo; bus: Bus; log: Logger; config(): Config }) {
    this.global = new Semaphore(() => deps.config().agents.defaults.maxConcurrent)
  }

  private lane(key: string): Lane {
    let l = this.lanes.get(key)
    if (!l) {
      l = { queue: [], steer: [] }
      this.lanes.set(key, l)
    }
    return l
  }

  /** Called when any run ends (the router's delivery, sub-agent announcements, HTTP waiters). */
  onRunEnd(fn: (o: RunOutcome) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private checkBudget(agentId: string): void {
    const b = this.deps.config().agents.defaults.budget
    if (!b.dailyTokens && !b.dailyCostUsd) return
    const day = new Date()
    day.setUTCHours(0, 0, 0, 0)
    const used = this.deps.repo.usageSince(day.getTime(), agentId)
    if (b.dailyTokens && used.tokens >= b.dailyTokens) {
      throw new RunRejected({
        message: `daily token budget exceeded for agent ${agentId}: ${used.tokens} of ${b.dailyTokens} tokens used today (agents.defaults.budget.dailyTokens)`,
        kind: "budget",
      })
    }
    if (b.dailyCostUsd && used.cost >= b.dailyCostUsd) {
      throw new RunRejected({
        message: `daily cost budget exceeded for agent ${agentId}: $${used.cost.toFixed(4)} of $${b.dailyCostUsd} spent today (agents.defaults.budget.dailyCostUsd)`,
        kind: "budget",
      })
    }
  }

  /**
   * Admits a message the router accepted (its id is new). The row is written before this returns, so the caller's
   * acknowledgement is never ahead of the database.
   */
  admit(req: AdmitRequest): Admitted {
    if (this.stopping) throw new RunRejected({ message: "the gateway is shutting down; send it again after the restart", kind: "limit" })
    const acceptedAt = Date.now()
    const agentId = agentIdOf(req.sessionKey)
    this.checkBudget(agentId)
    const session = this.deps.repo.ensure({
      key: req.sessionKey,
      agentId,
      kind: kindOf(req.sessionKey),
      parentKey: req.parentKey,
      depth: req.depth,
      label: req.label,
    })
    const { runId, sessionKey, origin, delivery, deferred, debounceMs: _debounce, ...spec } = req
    const row = { runId, sessionKey, agentId, input: spec, origin, delivery }
    const base = { runId, sessionKey, acceptedAt }

    if (deferred) {
      this.deps.repo.insertInput({ ...row, status: "deferred" })
      return { ...base, state: "deferred" }
    }
    const lane = this.lane(sessionKey)
    const mode = (session.queueMode as "followup" | "collect" | "steer" | null) ?? this.deps.config().agents.defaults.queueMode
    const active = lane.active
    if (active && active.state === "holding" && req.debounceMs) {
      // Part of the burst the held run waits for: carried by it, and the wait starts again (capped).
      this.deps.repo.insertInput({ ...row, status: "merged", carriedBy: active.runId })
      active.carried.push({ inputId: runId, message: req.message })
      active.holdUntil = Math.min(acceptedAt + req.debounceMs, (active.startedAt ?? acceptedAt) + req.debounceMs * MAX_DEBOUNCE_WINDOWS)
      return { ...base, state: "merged", carriedBy: active.runId }
    }
    if (active && mode === "steer" && active.state === "running") {
      this.deps.repo.insertInput({ ...row, status: "merged", carriedBy: active.runId })
      lane.steer.push({ inputId: runId, message: req.message })
      return { ...base, state: "merged", carriedBy: active.runId }
    }
    const pending = lane.queue[lane.queue.length - 1]
    if (active && mode === "collect" && pending) {
      this.deps.repo.insertInput({ ...row, status: "merged", carriedBy: pending.runId })
      pending.carried.push({ inputId: runId, message: req.message })
      return { ...base, state: "merged", carriedBy: pending.runId }
    }
    this.deps.repo.insertInput({ ...row, status: "queued" })
    this.enqueue(runId, sessionKey, spec, [], false, false, req.debounceMs ? acceptedAt + req.debounceMs : undefined)
    return { ...base, state: "queued" }
  }

  private track(runId: string, sessionKey: string, spec: RunSpec, carried: InputMessage[], resumed: boolean): Tracked {
    let resolve!: (o: RunOutcome) => void
    const done = new Promise<RunOutcome>((r) => (resolve = r))
    const t: Tracked = { runId, sessionKey, spec, carried, resumed, controller: new AbortController(), done, resolve, state: "queued" }
    this.tracked.set(runId, t)
    return t
  }

  private enqueue(runId: string, sessionKey: string, spec: RunSpec, carried: InputMessage[], resumed: boolean, front = false, holdUntil?: number): Tracked {
    const t = this.track(runId, sessionKey, spec, carried, resumed)
    t.holdUntil = holdUntil
    const lane = this.lane(sessionKey)
    if (front) lane.queue.unshift(t)
    else lane.queue.push(t)
    if (!lane.active) void this.drain(sessionKey)
    return t
  }

  private async drain(key: string): Promise<void> {
    const lane = this.lane(key)
    // Once stopping, queued runs stay queued (in the database too): the next start runs them.
    while (!lane.active && lane.queue.length && !this.stopping) {
      const t = lane.queue.shift()!
      lane.active = t
      let release: (() => void) | undefined
      let outcome: RunOutcome
      if (t.holdUntil) {
        // A burst still arriving: wait for the rest of it before taking a run slot (the wait holds no slot).
        t.state = "holding"
        t.startedAt = Date.now()
        while (Date.now() < t.holdUntil && !t.controller.signal.aborted && !this.stopping) await sleep(t.holdUntil - Date.now(), t.controller.signal)
        t.state = "queued"
        t.startedAt = undefined
        // Shutting down: it stays queued (in the database too) and runs after the restart.
        if (this.stopping) {
          lane.active = undefined
          break
        }
      }
      try {
        release = await this.global.acquire(t.controller.signal)
        t.state = "running"
        t.startedAt = Date.now()
        this.deps.repo.markRunning(t.runId, key)
        const timeoutMs = t.spec.timeoutMs ?? this.deps.config().agents.defaults.timeoutSeconds * 1000
        const timer = setTimeout(() => t.controller.abort({ kind: "timeout", afterMs: timeoutMs } satisfies AbortReason), timerDelay(timeoutMs))
        try {
          outcome = await executeRun({ ...this.deps, takeSteered: (k) => this.lane(k).steer.splice(0) }, this.runInput(t), t.controller.signal)
        } finally {
          clearTimeout(timer)
        }
      } catch (err) {
        outcome = this.failedOutcome(t, t.controller.signal.aborted ? "aborted" : "error", (err as Error)?.message ?? String(err))
        this.announceEnd(outcome)
      } finally {
        release?.()
      }
      t.state = "ending"
      // Steered messages that never reached a model call get a run of their own, next in this lane, before the
      // carrier is recorded as ended: a crash in between leaves them carried by a run that recovery resumes.
      const leftover = lane.steer.splice(0)
      const next = this.deps.repo.rehome(leftover.map((i) => i.inputId))
      if (next) {
        const first = leftover[0]!
        const spec = this.specOf(this.deps.repo.getRun(next)) ?? { message: first.message, source: "steer" }
        this.enqueue(next, key, spec, leftover.slice(1), false, true)
      }
      this.complete(t, outcome)
      lane.active = undefined
    }
    if (!lane.active && lane.queue.length === 0 && lane.steer.length === 0) this.lanes.delete(key)
  }

  private runInput(t: Tracked): RunInput {
    return {
      runId: t.runId,
      sessionKey: t.sessionKey,
      inputs: [{ inputId: t.runId, message: t.spec.message }, ...t.carried],
      model: t.spec.model,
      extraSystemPrompt: t.spec.extraSystemPrompt,
      source: t.spec.source,
      resumed: t.resumed,
      ...(t.spec.light ? { light: true } : {}),
    }
  }

  private specOf(row: RunRow | undefined): RunSpec | undefined {
    if (!row?.input) return undefined
    try {
      const spec = JSON.parse(row.input) as RunSpec
      return typeof spec.message === "string" ? spec : undefined
    } catch {
      return undefined
    }
  }

  private failedOutcome(t: Tracked, status: "aborted" | "error", error: string): RunOutcome {
    const now = Date.now()
    const s = this.deps.repo.get(t.sessionKey)
    return {
      runId: t.runId,
      sessionKey: t.sessionKey,
      sessionId: s?.sessionId ?? "",
      agentId: agentIdOf(t.sessionKey),
      status,
      text: "",
      stopReason: status,
      usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0, cost: 0 },
      startedAt: t.startedAt ?? now,
      endedAt: now,
      error,
      toolNames: [],
      steps: 0,
    }
  }

  /**
   * A run that ends without executeRun finishing it (dropped from the queue by an abort, failed before it started)
   * still gets its terminal agent and chat events: its sender was told "started" and waits for them.
   */
  private announceEnd(o: RunOutcome): void {
    const em = new RunEmitter(this.deps.bus, { runId: o.runId, sessionKey: o.sessionKey, sessionId: o.sessionId, agentId: o.agentId })
    if (o.status === "aborted") {
      em.agent("lifecycle", { phase: "end", startedAt: o.startedAt, endedAt: o.endedAt, aborted: true, stopReason: "aborted" })
      em.aborted("")
    } else {
      em.agent("lifecycle", { phase: "error", startedAt: o.startedAt, endedAt: o.endedAt, error: o.error })
      em.error(o.error ?? "run failed", "unknown")
    }
  }

  private complete(t: Tracked, o: RunOutcome): void {
    this.deps.repo.endRun(o.runId, {
      status: o.status,
      error: o.error,
      text: o.text,
      usage: o.usage,
      costUsd: o.usage.cost,
      totalTokens: o.usage.total,
      model: o.model ? `${o.provider}/${o.model}` : undefined,
    })
    this.tracked.delete(o.runId)
    this.outcomes.set(o.runId, o)
    if (this.outcomes.size > RECENT_OUTCOMES) this.outcomes.delete(this.outcomes.keys().next().value!)
    t.resolve(o)
    for (const l of this.listeners) {
      try {
        l(o)
      } catch (err) {
        this.deps.log.error("run-end listener failed", { error: String(err) })
      }
    }
  }

  /** The run that carries an input: itself, or the run it was merged or steered into. */
  carrierOf(runId: string): string {
    let id = runId
    for (let i = 0; i < 8; i++) {
      if (this.tracked.has(id) || this.outcomes.has(id)) return id
      const row = this.deps.repo.getRun(id)
      if (row?.status !== "merged" || !row.carriedBy) return id
      id = row.carriedBy
    }
    return id
  }

  /** Aborts the session's running run (or only the one carrying `runId`) and drops its queued runs. */
  abort(sessionKey: string, runId?: string): string[] {
    const lane = this.lanes.get(sessionKey)
    if (!lane) return []
    const target = runId ? this.carrierOf(runId) : undefined
    const hit: string[] = []
    if (lane.active && (!target || lane.active.runId === target)) {
      lane.active.controller.abort({ kind: "aborted" })
      hit.push(lane.active.runId)
      if (!target) {
        // Steered messages die with the run they were steered into.
        lane.steer.length = 0
        this.deps.repo.endCarried(lane.active.runId, "aborted", "aborted before it reached the model")
      }
    }
    const keep: Tracked[] = []
    for (const q of lane.queue) {
      if (!target || q.runId === target) {
        hit.push(q.runId)
        q.controller.abort({ kind: "aborted" })
        this.deps.repo.endCarried(q.runId, "aborted", "aborted before it started")
        const dropped = this.failedOutcome(q, "aborted", "aborted before it started")
        this.announceEnd(dropped)
        this.complete(q, dropped)
      } else keep.push(q)
    }
    lane.queue = keep
    return hit
  }

  /** Waits for the end of the run carrying `runId`; undefined on timeout or when the id is unknown. */
  async wait(runId: string, timeoutMs: number): Promise<WaitResult | undefined> {
    const id = this.carrierOf(runId)
    const done = this.outcomes.get(id)
    if (done) return done
    const t = this.tracked.get(id)
    if (t) {
      let timer: Timer | undefined
      const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timerDelay(timeoutMs))))
      try {
        return await Promise.race([t.done, timeout])
      } finally {
        clearTimeout(timer)
      }
    }
    const row = this.deps.repo.getRun(id)
    if (!row || !TERMINAL.has(row.status)) return undefined
    return {
      runId,
      status: row.status,
      error: row.error ?? undefined,
      endedAt: row.endedAt ?? undefined,
      startedAt: row.startedAt,
      text: row.text ?? undefined,
    }
  }

  outcome(runId: string): RunOutcome | undefined {
    return this.outcomes.get(this.carrierOf(runId))
  }

  isKnown(runId: string): boolean {
    return this.tracked.has(runId) || this.outcomes.has(runId) || !!this.deps.repo.getRun(runId)
  }

  activeRunIds(sessionKey: string): string[] {
    const lane = this.lanes.get(sessionKey)
    return lane ? [...(lane.active ? [lane.active.runId] : []), ...lane.queue.map((q) => q.runId)] : []
  }

  get activeCount(): number {
    return this.global.inUse
  }

  /** Every session lane with work in it (diagnostics.lanes): the active run and what waits behind it. */
  laneSnapshot(): { sessionKey: string; active?: { runId: string; state: string; startedAt?: number }; queuedRunIds: string[]; steerPending: number }[] {
    const out = []
    for (const [sessionKey, lane] of this.lanes) {
      if (!lane.active && !lane.queue.length && !lane.steer.length) continue
      out.push({
        sessionKey,
        ...(lane.active ? { active: { runId: lane.active.runId, state: lane.active.state, startedAt: lane.active.startedAt } } : {}),
        queuedRunIds: lane.queue.map((q) => q.runId),
        steerPending: lane.steer.length,
      })
    }
    return out
  }

  /**
   * At start-up: runs cut off by a crash resume (their transcript is intact step by step; what they carried is
   * written before the next model call), queued runs run, and inputs whose carrier ended without them get a run.
   */
  recover(): { resumed: number; requeued: number; rehomed: number } {
    const counts = { resumed: 0, requeued: 0, rehomed: 0 }
    const restore = (row: RunRow, resumed: boolean) => {
      const spec = this.specOf(row)
      if (!spec) {
        this.deps.repo.endRun(row.runId, { status: "error", error: "could not recover the run: its stored input is unreadable" })
        return
      }
      const carried = this.deps.repo.carriedBy(row.runId).flatMap((c) => {
        const s = this.specOf(c)
        return s ? [{ inputId: c.runId, message: s.message }] : []
      })
      this.enqueue(row.runId, row.sessionKey, { ...spec, source: spec.source ?? "recovered" }, carried, resumed)
    }
    for (const row of this.deps.repo.unfinishedRuns()) {
      const resumed = row.status === "running"
      restore(row, resumed)
      counts[resumed ? "resumed" : "requeued"]++
    }
    const stranded = this.deps.repo.strandedInputs()
    for (const row of stranded) {
      this.deps.repo.rehome([row.runId])
      restore({ ...row, status: "queued", carriedBy: null }, false)
      counts.rehomed++
    }
    return counts
  }

  /** Shutdown: abort everything and wait (bounded) for runs to persist their aborted state. */
  async stop(graceMs = 3000): Promise<void> {
    this.stopping = true
    const running = [...this.tracked.values()]
    for (const t of running) if (t.state === "running") t.controller.abort({ kind: "shutdown" } satisfies AbortReason)
    await Promise.race([Promise.all(running.filter((t) => t.state === "running").map((t) => t.done)), Bun.sleep(graceMs)])
  }
}
