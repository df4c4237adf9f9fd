/**
 * The agent runtime inside the gateway: accepts runs, keeps one run at a time per session (a lane) under a global
 * concurrency cap, applies the session's queue mode to messages that arrive mid-run, aborts, waits, enforces daily
 * budgets, and recovers queued runs after a restart. Runs execute in-process and need no connected client.
 */
import type { Bus } from "../bus/index.ts"
import type { Config } from "../config/schema.ts"
import type { SessionRepo } from "../store/sessions.ts"
import type { Logger } from "../util/log.ts"
import { Semaphore } from "./lanes.ts"
import { RunEmitter } from "./run-events.ts"
import type { ModelHandle } from "./model-types.ts"
import { executeRun, type RunDeps, type RunInput, type RunOutcome } from "./run.ts"
import { agentIdOf, kindOf } from "./session-key.ts"

export class RunRejected extends Error {
  constructor(
    message: string,
    readonly kind: "budget" | "limit" | "invalid",
  ) {
    super(message)
    this.name = "RunRejected"
  }
}

interface Tracked {
  input: RunInput
  controller: AbortController
  done: Promise<RunOutcome>
  resolve(o: RunOutcome): void
  startedAt?: number
  state: "queued" | "running"
}

interface Lane {
  active?: Tracked
  queue: Tracked[]
  steer: string[]
}

export interface SubmitRequest extends RunInput {
  /** Session metadata used when the session does not exist yet. */
  parentKey?: string
  depth?: number
  label?: string
  timeoutMs?: number
}

export interface SubmitResult {
  runId: string
  sessionKey: string
  acceptedAt: number
  /** The run this message was merged into (collect / steer), when not its own run. */
  mergedInto?: string
  duplicate: boolean
}

const RECENT_OUTCOMES = 500

export class AgentRuntime {
  private lanes = new Map<string, Lane>()
  private tracked = new Map<string, Tracked>()
  private aliases = new Map<string, string>()
  private outcomes = new Map<string, RunOutcome>()
  private global: Semaphore
  private stopping = false
  private listeners = new Set<(o: RunOutcome) => void>()

  constructor(
    private deps: Omit<RunDeps<ModelHandle>, "takeSteered"> & { repo: SessionRepo; bus: Bus; log: Logger; config(): Config },
  ) {
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

  /** Called when any run ends (sub-agent announcements, HTTP waiters). */
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
      throw new RunRejected(`daily token budget exceeded for agent ${agentId}: ${used.tokens} of ${b.dailyTokens} tokens used today (agents.defaults.budget.dailyTokens)`, "budget")
    }
    if (b.dailyCostUsd && used.cost >= b.dailyCostUsd) {
      throw new RunRejected(`daily cost budget exceeded for agent ${agentId}: $${used.cost.toFixed(4)} of $${b.dailyCostUsd} spent today (agents.defaults.budget.dailyCostUsd)`, "budget")
    }
  }

  /**
   * Accepts a message for a session. The run (or the merge into a running one) is recorded in SQLite before this
   * returns, so an acknowledged message survives a crash. A known runId returns the existing run (idempotency).
   */
  submit(req: SubmitRequest): SubmitResult {
    if (this.stopping) throw new RunRejected("gateway is shutting down", "limit")
    const acceptedAt = Date.now()
    const known = this.resolveAlias(req.runId)
    if (this.tracked.has(known) || this.outcomes.has(known) || this.deps.repo.getRun(req.runId)) {
      return { runId: req.runId, sessionKey: req.sessionKey, acceptedAt, duplicate: true, ...(known !== req.runId ? { mergedInto: known } : {}) }
    }
    const agentId = agentIdOf(req.sessionKey)
    this.checkBudget(agentId)
    const session = this.deps.repo.ensure({ key: req.sessionKey, agentId, kind: kindOf(req.sessionKey), parentKey: req.parentKey, depth: req.depth, label: req.label })
    const lane = this.lane(req.sessionKey)
    const mode = (session.queueMode as "followup" | "collect" | "steer" | null) ?? this.deps.config().agents.defaults.queueMode

    if (lane.active && mode === "steer" && lane.active.state === "running") {
      this.deps.repo.queueRun({ runId: req.runId, sessionKey: req.sessionKey, agentId, input: { ...req, mergedInto: lane.active.input.runId } })
      this.deps.repo.endRun(req.runId, { status: "merged", error: lane.active.input.runId })
      lane.steer.push(req.message)
      this.aliases.set(req.runId, lane.active.input.runId)
      return { runId: req.runId, sessionKey: req.sessionKey, acceptedAt, mergedInto: lane.active.input.runId, duplicate: false }
    }
    const pending = lane.queue[lane.queue.length - 1]
    if (lane.active && mode === "collect" && pending) {
      this.deps.repo.queueRun({ runId: req.runId, sessionKey: req.sessionKey, agentId, input: { ...req, mergedInto: pending.input.runId } })
      this.deps.repo.endRun(req.runId, { status: "merged", error: pending.input.runId })
      pending.input.message = `${pending.input.message}\n\n${req.message}`
      this.aliases.set(req.runId, pending.input.runId)
      return { runId: req.runId, sessionKey: req.sessionKey, acceptedAt, mergedInto: pending.input.runId, duplicate: false }
    }

    this.deps.repo.queueRun({ runId: req.runId, sessionKey: req.sessionKey, agentId, input: req })
    this.enqueue(req)
    return { runId: req.runId, sessionKey: req.sessionKey, acceptedAt, duplicate: false }
  }

  private enqueue(input: SubmitRequest): Tracked {
    let resolve!: (o: RunOutcome) => void
    const done = new Promise<RunOutcome>((r) => (resolve = r))
    const t: Tracked = { input, controller: new AbortController(), done, resolve, state: "queued" }
    this.tracked.set(input.runId, t)
    const lane = this.lane(input.sessionKey)
    lane.queue.push(t)
    if (!lane.active) void this.drain(input.sessionKey)
    return t
  }

  private async drain(key: string): Promise<void> {
    const lane = this.lane(key)
    while (!lane.active && lane.queue.length) {
      const t = lane.queue.shift()!
      lane.active = t
      let release: (() => void) | undefined
      let outcome: RunOutcome
      try {
        release = await this.global.acquire(t.controller.signal)
        t.state = "running"
        t.startedAt = Date.now()
        this.deps.repo.markRunning(t.input.runId, key)
        const timeoutMs = (t.input as SubmitRequest).timeoutMs ?? this.deps.config().agents.defaults.timeoutSeconds * 1000
        const timer = setTimeout(() => t.controller.abort({ kind: "timeout" }), timeoutMs)
        try {
          outcome = await executeRun({ ...this.deps, takeSteered: (k) => this.lane(k).steer.splice(0) }, t.input, t.controller.signal)
        } finally {
          clearTimeout(timer)
        }
      } catch (err) {
        outcome = this.failedOutcome(t, t.controller.signal.aborted ? "aborted" : "error", (err as Error)?.message ?? String(err))
        this.announceEnd(outcome)
      } finally {
        release?.()
      }
      // Steered messages that never reached a model call become the next turn.
      const leftover = lane.steer.splice(0)
      if (leftover.length) {
        const runId = crypto.randomUUID()
        this.deps.repo.queueRun({ runId, sessionKey: key, agentId: agentIdOf(key), input: { message: leftover.join("\n\n") } })
        lane.queue.unshift(this.enqueueDetached({ runId, sessionKey: key, message: leftover.join("\n\n"), source: "steer" }))
      }
      this.complete(t, outcome)
      lane.active = undefined
    }
    if (!lane.active && lane.queue.length === 0 && lane.steer.length === 0) this.lanes.delete(key)
  }

  private enqueueDetached(input: SubmitRequest): Tracked {
    let resolve!: (o: RunOutcome) => void
    const done = new Promise<RunOutcome>((r) => (resolve = r))
    const t: Tracked = { input, controller: new AbortController(), done, resolve, state: "queued" }
    this.tracked.set(input.runId, t)
    return t
  }

  private failedOutcome(t: Tracked, status: "aborted" | "error", error: string): RunOutcome {
    const now = Date.now()
    const s = this.deps.repo.get(t.input.sessionKey)
    return {
      runId: t.input.runId,
      sessionKey: t.input.sessionKey,
      sessionId: s?.sessionId ?? "",
      agentId: agentIdOf(t.input.sessionKey),
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

  private resolveAlias(runId: string): string {
    let id = runId
    for (let i = 0; i < 5 && this.aliases.has(id); i++) id = this.aliases.get(id)!
    return id
  }

  /** Aborts the session's running run (or only `runId`) and drops its queued runs. Returns the affected run ids. */
  abort(sessionKey: string, runId?: string): string[] {
    const lane = this.lanes.get(sessionKey)
    if (!lane) return []
    const target = runId ? this.resolveAlias(runId) : undefined
    const hit: string[] = []
    if (lane.active && (!target || lane.active.input.runId === target)) {
      lane.active.controller.abort({ kind: "aborted" })
      hit.push(lane.active.input.runId)
    }
    const keep: Tracked[] = []
    for (const q of lane.queue) {
      if (!target || q.input.runId === target) {
        hit.push(q.input.runId)
        q.controller.abort({ kind: "aborted" })
        const dropped = this.failedOutcome(q, "aborted", "aborted before it started")
        this.announceEnd(dropped)
        this.complete(q, dropped)
      } else keep.push(q)
    }
    lane.queue = keep
    if (!target) lane.steer.length = 0
    return hit
  }

  /** Waits for a run's end; undefined on timeout. Knows runs from before a restart through the database. */
  async wait(runId: string, timeoutMs: number): Promise<RunOutcome | { runId: string; status: string; error?: string; endedAt?: number; startedAt?: number; text?: string } | undefined> {
    const id = this.resolveAlias(runId)
    const done = this.outcomes.get(id)
    if (done) return done
    const t = this.tracked.get(id)
    if (t) {
      const timer = new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs))
      return Promise.race([t.done, timer])
    }
    const row = this.deps.repo.getRun(runId)
    if (!row) return undefined
    if (row.status === "merged" && row.error) return this.wait(row.error, timeoutMs)
    return { runId, status: row.status, error: row.error ?? undefined, endedAt: row.endedAt ?? undefined, startedAt: row.startedAt, text: row.text ?? undefined }
  }

  outcome(runId: string): RunOutcome | undefined {
    return this.outcomes.get(this.resolveAlias(runId))
  }

  isKnown(runId: string): boolean {
    const id = this.resolveAlias(runId)
    return this.tracked.has(id) || this.outcomes.has(id) || !!this.deps.repo.getRun(runId)
  }

  activeRunIds(sessionKey: string): string[] {
    const lane = this.lanes.get(sessionKey)
    return lane ? [...(lane.active ? [lane.active.input.runId] : []), ...lane.queue.map((q) => q.input.runId)] : []
  }

  get activeCount(): number {
    return this.global.inUse
  }

  /** At start-up: runs cut off by a crash end as errors; runs that were accepted but not started run now. */
  recover(): { interrupted: number; requeued: number } {
    const interrupted = this.deps.repo.failInterruptedRuns()
    let requeued = 0
    for (const row of this.deps.repo.queuedRuns()) {
      try {
        const input = JSON.parse(row.input ?? "{}") as SubmitRequest
        if (!input.message) continue
        this.enqueue({ ...input, runId: row.runId, sessionKey: row.sessionKey, source: input.source ?? "recovered" })
        requeued++
      } catch {
        this.deps.repo.endRun(row.runId, { status: "error", error: "could not recover the queued run" })
      }
    }
    return { interrupted, requeued }
  }

  /** Shutdown: abort everything and wait (bounded) for runs to persist their aborted state. */
  async stop(graceMs = 3000): Promise<void> {
    this.stopping = true
    const running = [...this.tracked.values()]
    for (const t of running) if (t.state === "running") t.controller.abort({ kind: "aborted" })
    await Promise.race([Promise.all(running.filter((t) => t.state === "running").map((t) => t.done)), Bun.sleep(graceMs)])
  }
}
