/**
 * exec.approvals.get|set: tools.exec (mode + allowlist, per agent) seen as OpenClaw's approvals file, with a hash of that view
 * for optimistic concurrency; a set is written through config.patch, so validation, hot reload and the config's own
 * baseHash apply. exec.approval.get and the exec.approvals.resolve alias read and decide pending requests.
 */
import { createHash } from "node:crypto"
import { agentToolsConfig, listAgents } from "../agent/agents.ts"
import type { Config } from "../config/schema.ts"
import { GatewayError, type MethodParams, type MethodResult } from "../protocol/index.ts"
import { guardWrite } from "./config.ts"
import type { MethodContext } from "./context.ts"
import type { PartialHandlers } from "./registry.ts"

type ExecMode = Config["tools"]["exec"]["mode"]
type ApprovalsFile = MethodParams<"exec.approvals.set">["file"]

/** Our mode as OpenClaw's security + ask pair (ask = allowlisted programs run, others wait for an operator). */
const AS_OPENCLAW: Record<ExecMode, { security: string; ask: string }> = {
  deny: { security: "deny", ask: "off" },
  allowlist: { security: "allowlist", ask: "off" },
  ask: { security: "allowlist", ask: "on-miss" },
  full: { security: "full", ask: "off" },
}

/**
 * The view: defaults = the top-level tools.exec; one entry per agent with the policy it runs with (agents.list[].tools.exec
 * narrows the top level, see agentToolsConfig).
 */
export function approvalsFile(config: Config, workspace: string): ApprovalsFile {
  const agents: NonNullable<ApprovalsFile["agents"]> = {}
  for (const a of listAgents(config, { workspace })) {
    const exec = agentToolsConfig(config, a).exec
    agents[a.id] = { ...AS_OPENCLAW[exec.mode], askFallback: "deny", allowlist: exec.allowlist.map((pattern) => ({ pattern })) }
  }
  return { version: 1, defaults: { ...AS_OPENCLAW[config.tools.exec.mode], askFallback: "deny" }, agents }
}

/**
 * The config patch a set amounts to. Without agents.list the one agent's policy is the top-level tools.exec; with
 * it, defaults set the top-level mode and each named agent gets its own agents.list[].tools.exec (the list is
 * rewritten whole from the file on disk, as a merge patch replaces arrays).
 */
export function approvalsPatch(file: ApprovalsFile, config: Config, workspace: string, diskParsed: unknown): Record<string, unknown> {
  const agents = listAgents(config, { workspace })
  const entries = Object.entries(file.agents ?? {})
  for (const [id] of entries) {
    if (id !== "*" && !agents.some((a) => a.id === id))
      throw new GatewayError("INVALID_REQUEST", `unknown agent "${id}" in exec approvals (agents: ${agents.map((a) => a.id).join(", ")})`, {
        code: "INVALID_EXEC_APPROVALS",
      })
  }
  const star = file.agents?.["*"]
  if (config.agents.list.length === 0) {
    const agent = file.agents?.[agents[0]!.id] ?? star
    const mode = modeOf({ ...stripUndefined(file.defaults ?? {}), ...stripUndefined(agent ?? {}) }, config.tools.exec.mode)
    const allowlist = agent?.allowlist ? patterns(agent.allowlist) : config.tools.exec.allowlist
    return { tools: { exec: { mode, allowlist } } }
  }
  const globalMode = modeOf(stripUndefined(file.defaults ?? {}), config.tools.exec.mode)
  const onDisk = (diskParsed as { agents?: { list?: Record<string, unknown>[] } } | null)?.agents?.list ?? []
  const list = onDisk.map((raw) => {
    const id = raw.id as string
    const policy = file.agents?.[id] ?? star
    if (!policy) return raw
    const a = agents.find((x) => x.id === id)!
    const current = agentToolsConfig(config, a).exec
    const tools = (raw.tools ?? {}) as Record<string, unknown>
    const exec = {
      ...((tools.exec ?? {}) as Record<string, unknown>),
      mode: modeOf(stripUndefined(policy), current.mode),
      ...(policy.allowlist ? { allowlist: patterns(policy.allowlist) } : {}),
    }
    return { ...raw, tools: { ...tools, exec } }
  })
  return { tools: { exec: { mode: globalMode } }, agents: { list } }
}

function patterns(list: { pattern: string }[]): string[] {
  return [...new Set(list.map((e) => e.pattern))]
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
    const disk = ctx.gw.config.onDisk()
    const patch = approvalsPatch(p.file, ctx.gw.config.current, ctx.gw.paths.workspace, disk.parsed)
    guardWrite(ctx, () => ctx.gw.config.patch(patch, disk.exists ? disk.hash : undefined))
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
