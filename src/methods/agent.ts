/** agent (two-stage reply), agent.wait, wake. runId = idempotencyKey: a retried key never starts a second run. */
import type { RunOutcome } from "../agent/run.ts"
import { RunRejected } from "../agent/runtime.ts"
import { DEFAULT_AGENT, normalizeSessionKey } from "../agent/session-key.ts"
import { GatewayError } from "../protocol/index.ts"
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
          usage: { input: o.usage.input, output: o.usage.output, cacheRead: o.usage.cacheRead, cacheWrite: o.usage.cacheWrite, total: o.usage.total, cost: { total: o.usage.cost } },
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

export function rejectionError(err: unknown): never {
  if (err instanceof RunRejected) throw new GatewayError("UNAVAILABLE", err.message, { code: err.kind === "budget" ? "BUDGET_EXCEEDED" : "RUN_REJECTED" })
  throw err
}

function finalOrError(o: RunOutcome) {
  if (o.status === "error") {
    throw new GatewayError("UNAVAILABLE", `agent run failed: ${o.error}`, { runId: o.runId, status: o.status, errorKind: o.errorKind ?? "unknown" })
  }
  return finalPayload(o)
}

export const agentHandlers = {
  agent: async (p, { gw, interim }) => {
    const agentId = p.agentId ?? DEFAULT_AGENT
    // OpenClaw: an explicit session wins; an agent id alone means its main session; neither: a session of its own.
    const sessionKey = p.sessionKey ? normalizeSessionKey(p.sessionKey, agentId) : p.agentId ? `agent:${agentId}:main` : `agent:${agentId}:explicit:${p.idempotencyKey}`
    const runtime = gw.agent.runtime
    const runId = p.idempotencyKey
    const finished = runtime.outcome(runId)
    if (finished) return finalOrError(finished)
    let accepted
    try {
      accepted = runtime.submit({
        runId,
        sessionKey,
        message: p.message,
        model: p.model,
        extraSystemPrompt: p.extraSystemPrompt,
        label: p.label,
        timeoutMs: p.timeout ? p.timeout * 1000 : undefined,
        source: "agent",
      })
    } catch (err) {
      rejectionError(err)
    }
    interim?.({ runId, agentId, sessionKey: accepted.sessionKey, status: "accepted", acceptedAt: accepted.acceptedAt })
    const outcome = await runtime.wait(runId, 24 * 3600_000)
    if (!outcome || !("usage" in outcome)) {
      // Known only from the database (the run ended before a restart): answer from what was stored.
      const row = gw.agent.sessions.getRun(runId)
      if (row?.status === "error") throw new GatewayError("UNAVAILABLE", `agent run failed: ${row.error}`, { runId, status: row.status })
      return { runId, status: row?.status ?? "unknown", summary: row?.error ?? "completed", result: { payloads: row?.text ? [{ text: row.text, mediaUrl: null }] : [], meta: {} } }
    }
    return finalOrError(outcome)
  },

  "agent.wait": async (p, { gw }) => {
    const res = await gw.agent.runtime.wait(p.runId, p.timeoutMs ?? 30_000)
    if (!res) {
      if (!gw.agent.runtime.isKnown(p.runId)) throw new GatewayError("AGENT_RESULT_NOT_FOUND", `no run ${p.runId}`)
      return { runId: p.runId, status: "timeout" }
    }
    if ("usage" in res) {
      return {
        runId: res.runId,
        status: res.status,
        startedAt: res.startedAt,
        endedAt: res.endedAt,
        ...(res.error ? { error: res.error } : {}),
        terminalReply: { disposition: res.text ? "visible" : "empty", text: res.text },
      }
    }
    if (res.status === "queued" || res.status === "running") return { runId: p.runId, status: "timeout" }
    return { runId: p.runId, status: res.status, startedAt: res.startedAt, endedAt: res.endedAt, ...(res.error ? { error: res.error } : {}), terminalReply: { disposition: res.text ? "visible" : "empty", text: res.text ?? "" } }
  },

  wake: (p, { gw }) => {
    const sessionKey = normalizeSessionKey(p.sessionKey ?? "main", p.agentId ?? DEFAULT_AGENT)
    const runId = crypto.randomUUID()
    try {
      gw.agent.runtime.submit({ runId, sessionKey, message: `[wake] ${p.text}`, source: "wake" })
    } catch (err) {
      rejectionError(err)
    }
    return { ok: true, runId, sessionKey, mode: p.mode }
  },
} satisfies PartialHandlers
