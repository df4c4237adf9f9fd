/**
 * The heartbeat: every `agents.defaults.heartbeat.every`, a turn in the main session driven by the workspace's
 * HEARTBEAT.md. Idle beats cost nothing: with nothing actionable in HEARTBEAT.md and no wake waiting for the beat,
 * no model call is made. A beat that does call the model gets a light context: its run sees only its own message
 * (the heartbeat file, the waiting wakes, what changed since the last beat), never the session's history. Beats are
 * tagged (run ids `heartbeat:<ms>`), so their spend is counted apart and a daily token budget can stop them.
 * A reply of HEARTBEAT_OK is not delivered; anything else goes to the configured target through the outbox.
 */
import { existsSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { agentIds, agentRuntimeConfig } from "../agent/agents.ts"
import type { Bus } from "../bus/index.ts"
import type { Config } from "../config/schema.ts"
import type { HeartbeatEvent } from "../protocol/methods/cron.ts"
import { ReplyReady } from "../router/events.ts"
import type { Accepted, Inbound } from "../router/inbound.ts"
import { resolveSessionKey } from "../router/session-keys.ts"
import { HEARTBEAT_RUN_PREFIX, type CronRepo, type HeartbeatRow } from "../store/cron.ts"
import type { Logger } from "../util/log.ts"
import type { Clock, ClockTimer } from "./clock.ts"
import { HeartbeatBeat } from "./events.ts"
import { actionableLines, inActiveHours, isAck } from "./heartbeat-file.ts"
import type { RunResult } from "./service.ts"
import { parseDuration } from "./schedule.ts"

export const DEFAULT_HEARTBEAT_PROMPT =
  "This is a heartbeat. Follow HEARTBEAT.md below strictly; do not infer or repeat old tasks from earlier chats. " +
  "Handle the waiting wake-ups, if any. If nothing needs attention, reply exactly HEARTBEAT_OK."

const PREVIEW_MAX = 200
const FILE_MAX = 8000

export interface HeartbeatDeps {
  clock: Clock
  bus: Bus
  log: Logger
  config(): Config
  repo: CronRepo
  /** The state home's workspace (Paths.workspace); the default agent's own one is resolved from it and agents.list. */
  workspace: string
  accept(inbound: Inbound): Accepted
  wait(runId: string, timeoutMs: number): Promise<RunResult | undefined>
  /** Whether a session has a run in flight or queued (a beat then waits for the next one). */
  busy(sessionKey: string): boolean
}

function dayStartUtc(now: number): number {
  const d = new Date(now)
  d.setUTCHours(0, 0, 0, 0)
  return d.getTime()
}

export class HeartbeatService {
  private timer: ClockTimer | undefined
  private nextAt: number | undefined
  /** set-heartbeats: switched off at runtime (the config's `every` still says how often when on). */
  private switchedOn = true
  private beating: Promise<void> | undefined
  private stopped = true

  constructor(private deps: HeartbeatDeps) {}

  private get cfg() {
    return this.deps.config().agents.defaults.heartbeat
  }

  get everyMs(): number {
    return parseDuration(this.cfg.every) ?? 0
  }

  get enabled(): boolean {
    return this.switchedOn && this.everyMs > 0
  }

  /**
   * The agent the beat runs as: the configured default one (the router sends a session-less message there too), so
   * the beat reads its HEARTBEAT.md and its main session's waiting wakes, wherever agents.list puts them.
   */
  private get agent(): { id: string; workspace: string } {
    const config = this.deps.config()
    return agentRuntimeConfig(config, { workspace: this.deps.workspace }, agentIds(config).defaultId)
  }

  get mainKey(): string {
    return resolveSessionKey({ kind: "main", agentId: this.agent.id })
  }

  start(): void {
    this.stopped = false
    this.schedule()
  }

  stop(): void {
    this.stopped = true
    this.timer?.cancel()
    this.timer = undefined
    this.nextAt = undefined
  }

  /** set-heartbeats. */
  setEnabled(on: boolean): boolean {
    this.switchedOn = on
    this.schedule()
    return this.enabled
  }

  /** The config changed (every may differ). */
  reconfigure(): void {
    this.schedule()
  }

  private schedule(): void {
    this.timer?.cancel()
    this.timer = undefined
    this.nextAt = undefined
    if (this.stopped || !this.enabled) return
    const every = this.everyMs
    const now = this.deps.clock.now()
    // Keep the beat's rhythm across restarts: the next beat is one interval after the last one (at least now).
    const last = this.deps.repo.lastBeat()?.ts
    this.nextAt = last !== undefined && last <= now ? Math.max(now, last + every) : now + every
    this.timer = this.deps.clock.after(this.nextAt - now, () => {
      this.timer = undefined
      void this.beat("interval").finally(() => this.schedule())
    })
  }

  status() {
    const used = this.deps.repo.heartbeatUsageSince(dayStartUtc(this.deps.clock.now()))
    return {
      enabled: this.enabled,
      everyMs: this.everyMs,
      ...(this.nextAt !== undefined ? { nextBeatAtMs: this.nextAt } : {}),
      tokensToday: used.tokens,
      costUsdToday: used.cost,
      ...(this.cfg.dailyTokenBudget ? { dailyTokenBudget: this.cfg.dailyTokenBudget } : {}),
    }
  }

  /** Today's (UTC) heartbeat spend, for usage.status. */
  spendToday(): { runs: number; totalTokens: number; totalCost: number; dailyTokenBudget?: number } {
    const used = this.deps.repo.heartbeatUsageSince(dayStartUtc(this.deps.clock.now()))
    return {
      runs: used.beats,
      totalTokens: used.tokens,
      totalCost: used.cost,
      ...(this.cfg.dailyTokenBudget ? { dailyTokenBudget: this.cfg.dailyTokenBudget } : {}),
    }
  }

  last(): HeartbeatEvent | null {
    const row = this.deps.repo.lastBeat()
    return row ? toEvent(row) : null
  }

  /** Runs one beat now (the timer, or tests); one at a time. */
  beat(reason = "manual"): Promise<void> {
    this.beating ??= this.beatOnce(reason).finally(() => (this.beating = undefined))
    return this.beating
  }

  private async beatOnce(_reason: string): Promise<void> {
    const now = this.deps.clock.now()
    const cfg = this.cfg
    const skip = (why: string) => this.record({ ts: now, status: "skipped", reason: why })
    if (!this.enabled) return skip("disabled")
    if (cfg.activeHours && !inActiveHours(now, cfg.activeHours)) return skip("quiet-hours")
    if (cfg.dailyTokenBudget) {
      const used = this.deps.repo.heartbeatUsageSince(dayStartUtc(now))
      if (used.tokens >= cfg.dailyTokenBudget) return skip("budget")
    }
    const agent = this.agent
    const file = join(agent.workspace, "HEARTBEAT.md")
    const text = existsSync(file) ? readFileSync(file, "utf8") : ""
    const lines = actionableLines(text)
    const key = resolveSessionKey({ kind: "main", agentId: agent.id })
    const deferred = this.deps.repo.deferred(key)
    // The point of it all: an idle beat makes no model call.
    if (!lines.length && !deferred.length) return skip(existsSync(file) ? "empty-heartbeat-file" : "no-heartbeat-file")
    if (this.deps.busy(key)) return skip("requests-in-flight")

    const wakes = deferred.map((d) => {
      try {
        return (JSON.parse(d.input ?? "{}") as { message?: string }).message ?? ""
      } catch {
        return ""
      }
    })
    const message = [
      cfg.prompt ?? DEFAULT_HEARTBEAT_PROMPT,
      "",
      ...this.changes(now, file),
      ...(lines.length ? ["", "HEARTBEAT.md:", text.trim().slice(0, FILE_MAX)] : []),
      ...(wakes.length ? ["", "Waiting wake-ups (since the last beat):", ...wakes.map((w) => `- ${w}`)] : []),
    ].join("\n")
    const runId = `${HEARTBEAT_RUN_PREFIX}${now}`
    const started = this.deps.clock.now()
    let res: RunResult | undefined
    try {
      const accepted = this.deps.accept({
        origin: { door: "heartbeat" },
        session: { kind: "main", agentId: agent.id },
        message,
        idempotencyKey: runId,
        // The beat decides what is delivered (never an acknowledgement), so the router delivers nothing itself.
        delivery: { kind: "none" },
        run: { light: true, label: "heartbeat" },
      })
      res = await this.deps.wait(accepted.runId, this.deps.config().agents.defaults.timeoutSeconds * 1000 + 60_000)
    } catch (err) {
      res = { status: "error", error: (err as Error)?.message ?? String(err) }
    }
    // Shutting down: the turn was cut off; its wakes stay waiting for the next start's beat.
    if (this.stopped) return
    const durationMs = Math.max(0, this.deps.clock.now() - started)
    const outcome = res ?? { status: "error", error: "the heartbeat turn did not finish in time" }
    this.deps.repo.endDeferred(
      deferred.map((d) => d.runId),
      runId,
      { status: outcome.status === "ok" ? "ok" : "error", text: outcome.text, error: outcome.error },
    )
    if (outcome.status !== "ok") return this.record({ ts: now, status: "failed", reason: outcome.error ?? outcome.status, runId, durationMs })
    const reply = (outcome.text ?? "").trim()
    // An acknowledgement leaves no trace in the main session: its context stays the conversation, not a log of beats.
    // A beat that carried wakes is kept (their text is in it).
    const quiet = !reply || isAck(reply, cfg.ackMaxChars)
    if (quiet && !deferred.length) this.deps.repo.pruneTranscript(runId)
    if (!reply) return this.record({ ts: now, status: "ok-empty", runId, durationMs })
    if (quiet) return this.record({ ts: now, status: "ok-token", runId, durationMs, silent: true })
    const preview = reply.slice(0, PREVIEW_MAX)
    if (cfg.target === "none" || !cfg.to) return this.record({ ts: now, status: "sent", reason: "no-target", runId, durationMs, preview, silent: true })
    this.deps.bus.publish(ReplyReady, { runId, sessionKey: key, text: reply, target: { kind: "channel", channel: cfg.target, to: cfg.to } })
    return this.record({ ts: now, status: "sent", runId, durationMs, preview, channel: cfg.target, to: cfg.to })
  }

  /** What changed since the last beat that made a model call: the time, HEARTBEAT.md edits, cron runs. */
  private changes(now: number, file: string): string[] {
    const last = this.deps.repo.lastCalledBeat()
    const out = [`Time: ${new Date(now).toISOString()}${last ? ` (last heartbeat turn: ${new Date(last.ts).toISOString()})` : " (first heartbeat turn)"}`]
    if (last) {
      const edited = existsSync(file) && statSync(file).mtimeMs > last.ts
      out.push(`HEARTBEAT.md ${edited ? "changed" : "unchanged"} since then.`)
      const ran = this.deps.repo.runsSince(last.ts)
      if (ran.length) out.push("Cron jobs that ran since then:", ...ran.map((r) => `- ${r.name}: ${r.status}${r.error ? ` (${r.error})` : ""}`))
    }
    return out
  }

  private record(e: HeartbeatEvent): void {
    const row = this.deps.repo.addBeat({
      ts: e.ts,
      status: e.status,
      reason: e.reason ?? null,
      runId: e.runId ?? null,
      durationMs: e.durationMs ?? null,
      preview: e.preview ?? null,
      to: e.to ?? null,
      channel: e.channel ?? null,
    })
    if (e.status === "skipped") this.deps.log.debug(`heartbeat skipped: ${e.reason}`)
    else this.deps.log.info(`heartbeat ${e.status}`, { runId: e.runId, durationMs: e.durationMs })
    this.deps.bus.publish(HeartbeatBeat, { ...toEvent(row), ...(e.silent ? { silent: true } : {}) })
  }
}

function toEvent(r: HeartbeatRow): HeartbeatEvent {
  return {
    ts: r.ts,
    status: r.status as HeartbeatEvent["status"],
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.runId ? { runId: r.runId } : {}),
    ...(r.durationMs != null ? { durationMs: r.durationMs } : {}),
    ...(r.preview ? { preview: r.preview } : {}),
    ...(r.to ? { to: r.to } : {}),
    ...(r.channel ? { channel: r.channel } : {}),
  }
}
