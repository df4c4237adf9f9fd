/**
 * exec.approvals.get|set: tools.exec (mode + allowlist) seen as OpenClaw's approvals file, with a hash of that view
 * for optimistic concurrency; a set is written through config.patch, so validation, hot reload and the config's own
 * baseHash apply. exec.approval.get and the exec.approvals.resolve alias read and decide pending requests.
 */
import { createHash } from "node:crypto"
import { defaultAgentId } from "../agent/agents.ts"
import type { Config } from "../config/schema.ts"
import { GatewayError, type MethodParams, type MethodResult } from "../protocol/index.ts"
import { guardWrite } from "./config.ts"
import type { MethodContext } from "./context.ts"
import type { PartialHandlers } from "./registry.ts"

type ExecMode = Config["tools"]["exec"]["mode"]
type ApprovalsFile = MethodParams<"exec.approvals.set">["file"]
type AgentPolicy = NonNullable<ApprovalsFile["agents"]>[string]

/** Our mode as OpenClaw's security + ask pair (ask = allowlisted programs run, others wait for an operator). */
const AS_OPENCLAW: Record<ExecMode, { security: string; ask: string }> = {
  deny: { security: "deny", ask: "off" },
  allowlist: { security: "allowlist", ask: "off" },
  ask: { security: "allowlist", ask: "on-miss" },
  full: { security: "full", ask: "off" },
}

export function approvalsFile(config: Config, workspace: string): ApprovalsFile {
  const exec = config.tools.exec
  const policy = { ...AS_OPENCLAW[exec.mode], askFallback: "deny" }
  const defaultId = defaultAgentId(config, { workspace })
  return {
    version: 1,
    defaults: policy,
    agents: { [defaultId]: { ...policy, allowlist: exec.allowlist.map((pattern) => ({ pattern })) } },
  }
}

function hashOf(file: ApprovalsFile): string {
  return createHash("sha256").update(JSON.stringify(file)).digest("hex")
}

function snapshot(ctx: MethodContext): MethodResult<"exec.approvals.get"> {
  const file = approvalsFile(ctx.gw.config.current, ctx.gw.paths.workspace)
  return { path: ctx.gw.paths.config, exists: ctx.gw.config.onDisk().exists, hash: hashOf(file), file }
}

/** OpenClaw's security + ask back to our mode ("always" has no exact match: ask, which still runs allowlisted programs). */
export function modeOf(policy: { security?: string; ask?: string }, current: ExecMode): ExecMode {
  const cur = AS_OPENCLAW[current]
  const security = policy.security ?? cur.security
  const ask = policy.ask ?? cur.ask
  if (!["deny", "allowlist", "full"].includes(security))
    throw new GatewayError("INVALID_REQUEST", `unknown security "${security}" (deny | allowlist | full)`, { code: "INVALID_EXEC_APPROVALS" })
  if (!["off", "on-miss", "always"].includes(ask))
    throw new GatewayError("INVALID_REQUEST", `unknown ask "${ask}" (off | on-miss | always)`, { code: "INVALID_EXEC_APPROVALS" })
  if (security === "deny") return "deny"
  if (security === "full") return ask === "always" ? "ask" : "full"
  return ask === "off" ? "allowlist" : "ask"
}

export const approvalsHandlers = {
  "exec.approvals.get": (_p, ctx) => snapshot(ctx),

  "exec.approvals.set": (p, ctx) => {
    const current = snapshot(ctx)
    if (p.baseHash !== undefined && p.baseHash !== current.hash)
      throw new GatewayError("INVALID_REQUEST", "exec approvals changed since they were read (baseHash does not match); call exec.approvals.get and retry", {
        code: "EXEC_APPROVALS_BASE_HASH_MISMATCH",
      })
    const cfg = ctx.gw.config.current
    const defaultId = defaultAgentId(cfg, { workspace: ctx.gw.paths.workspace })
    // This gateway has one exec policy: the default agent's entry wins over the defaults, "*" over both.
    const agent: AgentPolicy | undefined = p.file.agents?.[defaultId] ?? p.file.agents?.["*"]
    const mode = modeOf({ ...p.file.defaults, ...stripUndefined(agent ?? {}) }, cfg.tools.exec.mode)
    const allowlist = agent?.allowlist ? [...new Set(agent.allowlist.map((e) => e.pattern))] : cfg.tools.exec.allowlist
    const disk = ctx.gw.config.onDisk()
    guardWrite(ctx, () => ctx.gw.config.patch({ tools: { exec: { mode, allowlist } } }, disk.exists ? disk.hash : undefined))
    return snapshot(ctx)
  },

  "exec.approval.get": (p, { gw }) => {
    const a = gw.agent.approvals.list().find((x) => x.id === p.id)
    if (!a) throw new GatewayError("APPROVAL_NOT_FOUND", `no pending approval ${p.id}`)
    return {
      id: a.id,
      commandText: a.command,
      commandPreview: null,
      allowedDecisions: ["allow-once", "allow-always", "deny"],
      host: "gateway",
      nodeId: null,
      cwd: a.cwd ?? null,
      sessionKey: a.sessionKey ?? null,
      createdAtMs: a.createdAtMs,
      expiresAtMs: a.expiresAtMs,
    }
  },

  // Desktop agents' spelling of exec.approval.resolve: approve = allow once, reject = deny.
  "exec.approvals.resolve": (p, { gw }) => ({
    requestId: p.requestId,
    resolved: gw.agent.approvals.resolve(p.requestId, p.decision === "approve" ? "allow-once" : "deny"),
  }),
} satisfies PartialHandlers

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
