/** agent (two-stage reply), agent.wait, wake: doors into the router. runId = idempotencyKey: a retry never starts a second run. */
import { RunRejected } from "../agent/errors.ts"
import type { RunOutcome } from "../agent/run.ts"
import { reportedUsage } from "../agent/types.ts"
import { agentIdOf } from "../agent/session-key.ts"
import { GatewayError } from "../protocol/index.ts"
import { IdempotencyConflict, UnknownAgent, type Accepted, type DeliveryTarget, type Inbound, type Origin, type SessionSpec } from "../router/index.ts"
import type { MethodContext } from "./context.ts"
import type { PartialHandlers } from "./registry.ts"

/** The final `agent` payload in OpenClaw's shape. */
export function finalPayload(o: RunOutcome) {
  return {
    runId: o.runId,
    status: o.status === "ok" ? "ok" : o.status === "timeout" ? "timeout" : o.status,
    summary: o.status === "ok" ? "completed" : (o.error ?? o.status),
    stopReason: o.stopReason,
    result: {
      payloads: o.text ? [{ text: o.text, mediaUrl: null }] : [],
      meta: {
        durationMs: o.endedAt - o.startedAt,
        agentMeta: {
          sessionId: o.sessionId,
          sessionKey: o.sessionKey,
          provider: o.provider ?? null,
          model: o.model ?? null,
          usage: reportedUsage(o.usage),
          successfulToolNames: o.toolNames,
          steps: o.steps,
        },
        aborted: o.status === "aborted",
        stopReason: o.stopReason,
        finalAssistantVisibleText: o.text,
      },
    },
  }
}

/** Refusals from the router and the runtime, as protocol errors. */
export function rejectionError(err: unknown): never {
  if (RunRejected.isInstance(err)) throw new GatewayError("UNAVAILABLE", err.message, { code: err.data.kind === "budget" ? "BUDGET_EXCEEDED" : "RUN_REJECTED" })
  if (IdempotencyConflict.isInstance(err)) throw new GatewayError("INVALID_REQUEST", err.message, { code: "IDEMPOTENCY_CONFLICT", fields: err.data.fields })
  if (UnknownAgent.isInstance(err)) throw new GatewayError("INVALID_REQUEST", err.message, { code: "UNKNOWN_AGENT", known: err.data.known })
  throw err
}

/** The router's accept, with its refusals turned into protocol errors. */
export function accept(gw: MethodContext["gw"], inbound: Inbound): Accepted {
  try {
    return gw.router.accept(inbound)
  } catch (err) {
    rejectionError(err)
  }
}

/** The WebSocket door's origin: which connection and client sent the request. */
export function wsOrigin(ctx: MethodContext, door: Origin["door"]): Origin {
  return { door, connId: ctx.caller.connId, clientId: ctx.caller.client.id }
}

/** A delivery target named by the request (`deliver` with `channel` + `to`), else the requesting connection. */
export function requestedDelivery(
  p: { deliver?: boolean; channel?: string; to?: string; accountId?: string; threadId?: string | number },
  ctx: MethodContext,
): DeliveryTarget {
  if (p.deliver && p.channel && p.to) {
    return {
      kind: "channel",
      channel: p.channel,
      to: p.to,
      ...(p.accountId ? { accountId: p.accountId } : {}),
      ...(p.threadId !== undefined ? { threadId: String(p.threadId) } : {}),
    }
  }
  return { kind: "connection", connId: ctx.caller.connId }
}

function finalOrError(o: RunOutcome) {
  if (o.status === "error") {
    throw new GatewayError("UNAVAILABLE", `agent run failed: ${o.error}`, { runId: o.runId, status: o.status, errorKind: o.errorKind ?? "unknown" })
  }
  return finalPayload(o)
}

/** The final payload of a run known only from the database (it ended before a restart). */
function storedFinal(runId: string, row: { status: string; text?: string | null; error?: string | null } | undefined) {
  if (row?.status === "error") throw new GatewayError("UNAVAILABLE", `agent run failed: ${row.error}`, { runId, status: row.status })
  return {
    runId,
    status: row?.status ?? "unknown",
    summary: row?.error ?? "completed",
    result: { payloads: row?.text ? [{ text: row.text, mediaUrl: null }] : [], meta: {} },
  }
}

export const agentHandlers = {
  agent: async (p, ctx) => {
    const { gw, interim } = ctx
    // No agent id: the router picks the default agent (agents.list).
    const agentId = p.agentId
    // OpenClaw: an explicit session wins; an agent id alone means its main session; neither: a session of its own.
    const session: SessionSpec = p.sessionKey
      ? { kind: "key", key: p.sessionKey, agentId }
      : p.agentId
        ? { kind: "main", agentId }
        : { kind: "explicit", agentId, id: p.idempotencyKey }
    const accepted = accept(gw, {
      origin: wsOrigin(ctx, "ws.agent"),
      session,
      message: p.message,
      idempotencyKey: p.idempotencyKey,
      delivery: requestedDelivery(p, ctx),
      run: { model: p.model, extraSystemPrompt: p.extraSystemPrompt, label: p.label, timeoutMs: p.timeout ? p.timeout * 1000 : undefined },
    })
    const runId = accepted.runId
    if (accepted.state !== "duplicate" || !isTerminal(accepted.existing?.status)) {
      interim?.({ runId, agentId: agentIdOf(accepted.sessionKey), sessionKey: accepted.sessionKey, status: "accepted", acceptedAt: accepted.acceptedAt })
    }
    const outcome = await gw.agent.runtime.wait(runId, MAX_WAIT_MS)
    if (outcome && "usage" in outcome) return finalOrError(outcome)
    return storedFinal(runId, gw.agent.sessions.getRun(gw.agent.runtime.carrierOf(runId)))
  },

  "agent.wait": async (p, { gw }) => {
    const res = await gw.agent.runtime.wait(p.runId, p.timeoutMs ?? 30_000)
    if (!res) {
      if (!gw.agent.runtime.isKnown(p.runId)) throw new GatewayError("AGENT_RESULT_NOT_FOUND", `no run ${p.runId}`)
      return { runId: p.runId, status: "timeout" }
    }
    const text = res.text ?? ""
    return {
      runId: p.runId,
      status: res.status,
      ...(res.startedAt !== undefined ? { startedAt: res.startedAt } : {}),
      ...(res.endedAt !== undefined ? { endedAt: res.endedAt } : {}),
      ...(res.error ? { error: res.error } : {}),
      terminalReply: { disposition: text ? "visible" : "empty", text },
    }
  },

  wake: (p, ctx) => {
    const accepted = accept(ctx.gw, {
      origin: wsOrigin(ctx, "ws.wake"),
      session: { kind: "key", key: p.sessionKey ?? "main", agentId: p.agentId },
      message: `[wake] ${p.text}`,
      idempotencyKey: p.idempotencyKey,
      delivery: { kind: "none" },
      when: p.mode,
    })
    return {
      ok: true,
      runId: accepted.runId,
      sessionKey: accepted.sessionKey,
      mode: p.mode,
      // next-heartbeat: stored, and carried by the next heartbeat turn rather than run now.
      queued: accepted.state === "deferred" || accepted.existing?.status === "deferred",
      ...(accepted.state === "duplicate" ? { duplicate: true } : {}),
    }
  },
} satisfies PartialHandlers

const MAX_WAIT_MS = 24 * 3600_000

function isTerminal(status: string | undefined): boolean {
  return status === "ok" || status === "error" || status === "aborted" || status === "timeout"
}
