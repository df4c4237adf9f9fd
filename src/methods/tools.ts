/** tools.catalog / tools.invoke, exec.bash (for agents in other processes), and exec approvals. */
import { GatewayError } from "../protocol/index.ts"
import { fullSessionKey } from "../agent/agents.ts"
import { rejectionError } from "./agent.ts"
import type { PartialHandlers } from "./registry.ts"

export const toolsHandlers = {
  "tools.catalog": async (_p, { gw }) => ({ tools: await gw.agent.catalog() }),

  "tools.invoke": async (p, { gw, signal }) => {
    const sessionKey = fullSessionKey(gw.config.current, p.sessionKey ?? "main")
    const invoke = () => gw.agent.invoke(p.name, p.args ?? {}, sessionKey, signal)
    // With an idempotency key a retried call returns the first call's result instead of running the tool again.
    let res: Awaited<ReturnType<typeof invoke>>
    if (!p.idempotencyKey) res = await invoke()
    else {
      const fingerprint = JSON.stringify([p.name, p.args ?? {}, sessionKey])
      try {
        res = (await gw.idempotency.run(`tools:${p.idempotencyKey}`, fingerprint, invoke).promise) as typeof res
      } catch (err) {
        rejectionError(err)
      }
    }
    if (!res.found) throw new GatewayError("INVALID_REQUEST", `unknown or disallowed tool: ${p.name}`, { code: "TOOL_NOT_AVAILABLE" })
    return { ok: !res.isError, result: res.output, isError: !!res.isError, ...(res.meta ? { meta: res.meta } : {}) }
  },

  "exec.bash": async (p, { gw, signal }) => {
    const res = await gw.agent.bash(p.command, p.workdir, p.timeoutMs, signal)
    if (res.denied) throw new GatewayError("FORBIDDEN", res.denied, { code: "EXEC_DENIED" })
    return { stdout: res.stdout, stderr: res.stderr, exitCode: res.exitCode }
  },

  "exec.approval.list": (_p, { gw }) => ({ approvals: gw.agent.approvals.list() }),

  "exec.approval.resolve": (p, { gw }) => {
    if (!gw.agent.approvals.resolve(p.id, p.decision)) throw new GatewayError("APPROVAL_NOT_FOUND", `no pending approval ${p.id}`)
    return { ok: true, id: p.id, decision: p.decision }
  },
} satisfies PartialHandlers
