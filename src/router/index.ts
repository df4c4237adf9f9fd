/**
 * The one way in. Every door (WebSocket methods, the OpenAI-compatible endpoint, agent tools, sub-agent
 * announcements, and later channels and cron) hands the router an Inbound; accept() resolves the session key, applies
 * idempotency, stores origin and delivery target with the message and admits it to the runtime, all before the door
 * acknowledges anything. When a run ends the router publishes where its reply should go.
 */
import { agentIds } from "../agent/agents.ts"
import type { RunOutcome } from "../agent/run.ts"
import type { AgentRuntime } from "../agent/runtime.ts"
import type { Bus } from "../bus/index.ts"
import type { Config } from "../config/schema.ts"
import type { RunRow, SessionRepo } from "../store/sessions.ts"
import type { Logger } from "../util/log.ts"
import { boundAgent } from "./bindings.ts"
import { IdempotencyConflict, UnknownAgent } from "./errors.ts"
import { InboundAccepted, ReplyReady, RunFinished } from "./events.ts"
import { deliveryTargetSchema, originSchema, type Accepted, type DeliveryTarget, type Inbound, type Origin, type SessionSpec } from "./inbound.ts"
import { resolveSessionKey } from "./session-keys.ts"

export { IdempotencyConflict, UnknownAgent } from "./errors.ts"
export type { Accepted, DeliveryTarget, Inbound, Origin, SessionSpec } from "./inbound.ts"
export { resolveSessionKey } from "./session-keys.ts"

export interface RouterDeps {
  runtime: AgentRuntime
  repo: SessionRepo
  bus: Bus
  log: Logger
  /** agents.list and bindings: which agent a message goes to. Without it every message goes to "main". */
  config?: () => Config
}

/** Specs whose key is chosen afresh per message: a retry cannot be checked against the key. */
function keyIsRandom(spec: SessionSpec): boolean {
  return spec.kind === "subagent" || (spec.kind === "openai" && !spec.user)
}

function parseJson<T>(text: string | null, parse: (v: unknown) => T | undefined): T | undefined {
  if (!text) return undefined
  try {
    return parse(JSON.parse(text))
  } catch {
    return undefined
  }
}

export class Router {
  constructor(private deps: RouterDeps) {
    deps.runtime.onRunEnd((o) => this.finished(o))
  }

  accept(inbound: Inbound): Accepted {
    const runId = inbound.idempotencyKey ?? crypto.randomUUID()
    const stored = this.deps.repo.getRun(runId)
    if (stored) return this.duplicate(stored, inbound)
    const sessionKey = this.sessionKeyOf(inbound)
    const delivery: DeliveryTarget = inbound.delivery ?? (inbound.origin.connId ? { kind: "connection", connId: inbound.origin.connId } : { kind: "none" })
    const admitted = this.deps.runtime.admit({
      runId,
      sessionKey,
      message: inbound.message,
      source: inbound.origin.door,
      ...inbound.run,
      origin: inbound.origin,
      delivery,
      deferred: inbound.when === "next-heartbeat",
    })
    this.deps.bus.publish(InboundAccepted, {
      runId,
      sessionKey,
      state: admitted.state,
      ...(admitted.carriedBy ? { carriedBy: admitted.carriedBy } : {}),
      origin: inbound.origin,
      delivery,
      acceptedAt: admitted.acceptedAt,
    })
    return admitted
  }

  /**
   * The agent picks the key's first segment: the door's explicit agent id (which must be configured), else a
   * binding matching the channel message's origin, else the default agent. A full `agent:<id>:…` key keeps its id.
   */
  private sessionKeyOf(inbound: Inbound): string {
    const cfg = this.deps.config?.()
    if (!cfg) return resolveSessionKey(inbound.session)
    const { ids, defaultId } = agentIds(cfg)
    const explicit = inbound.session.agentId
    if (explicit !== undefined && !ids.includes(explicit)) {
      throw new UnknownAgent({ message: `unknown agent id '${explicit}' (agents.list has ${ids.join(", ")})`, agentId: explicit, known: ids })
    }
    const agentId = explicit ?? boundAgent(cfg.bindings, inbound.origin) ?? defaultId
    return resolveSessionKey({ ...inbound.session, agentId })
  }

  /**
   * A known key: the same message again is answered with what became of it; a different message or session under
   * the same key is refused and changes nothing.
   */
  private duplicate(stored: RunRow, inbound: Inbound): Accepted {
    const before = parseJson(stored.input, (v) => v as { message?: string; model?: string; extraSystemPrompt?: string }) ?? {}
    const conflicts: string[] = []
    if (before.message !== inbound.message) conflicts.push("message")
    if (!keyIsRandom(inbound.session) && this.sessionKeyOf(inbound) !== stored.sessionKey) conflicts.push("session")
    if ((before.model ?? undefined) !== (inbound.run?.model ?? undefined)) conflicts.push("model")
    if (conflicts.length) {
      throw new IdempotencyConflict({
        message: `idempotency key ${stored.runId} was already used for a different ${conflicts.join(" and ")} (session ${stored.sessionKey}); use a new key for a new message`,
        key: stored.runId,
        fields: conflicts,
      })
    }
    const carrierId = this.deps.runtime.carrierOf(stored.runId)
    const carrier = carrierId === stored.runId ? stored : (this.deps.repo.getRun(carrierId) ?? stored)
    return {
      runId: stored.runId,
      sessionKey: stored.sessionKey,
      acceptedAt: stored.acceptedAt ?? stored.startedAt,
      state: "duplicate",
      ...(carrierId !== stored.runId ? { carriedBy: carrierId } : {}),
      existing: {
        status: carrier.status,
        ...(carrierId !== stored.runId ? { carriedBy: carrierId } : {}),
        ...(carrier.text ? { text: carrier.text } : {}),
        ...(carrier.error ? { error: carrier.error } : {}),
      },
    }
  }

  /** Where a run's reply goes: its own target and those of the messages it carried, without repeats. */
  replyTargets(runId: string): DeliveryTarget[] {
    return this.targetsOf([this.deps.repo.getRun(runId), ...this.deps.repo.carriedBy(runId)])
  }

  private targetsOf(rows: (RunRow | undefined)[]): DeliveryTarget[] {
    const deliveries: DeliveryTarget[] = []
    const seen = new Set<string>()
    for (const r of rows) {
      const target = parseJson(r?.delivery ?? null, (v) => deliveryTargetSchema().safeParse(v).data)
      if (!target) continue
      // One reply per chat: messages merged from the same chat (a burst, collect mode) differ only in replyTo.
      const { replyTo: _replyTo, ...where } = target as DeliveryTarget & { replyTo?: string }
      const k = JSON.stringify(where)
      if (seen.has(k)) continue
      seen.add(k)
      deliveries.push(target)
    }
    return deliveries
  }

  private finished(o: RunOutcome): void {
    const row = this.deps.repo.getRun(o.runId)
    const carried = this.deps.repo.carriedBy(o.runId)
    const deliveries = this.targetsOf([row, ...carried])
    const origin: Origin | undefined = parseJson(row?.origin ?? null, (v) => originSchema().safeParse(v).data)
    this.deps.bus.publish(RunFinished, {
      runId: o.runId,
      sessionKey: o.sessionKey,
      status: o.status,
      text: o.text,
      ...(o.error ? { error: o.error } : {}),
      ...(origin ? { origin } : {}),
      deliveries,
      inputIds: [o.runId, ...carried.map((c) => c.runId)],
      endedAt: o.endedAt,
    })
    if (o.status !== "ok" || !o.text) return
    for (const target of deliveries) {
      if (target.kind !== "none") this.deps.bus.publish(ReplyReady, { runId: o.runId, sessionKey: o.sessionKey, text: o.text, target })
    }
  }
}
