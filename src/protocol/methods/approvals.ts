/**
 * Exec approval policy and pending requests in OpenClaw's shapes: exec.approvals.get|set expose tools.exec (mode and
 * allowlist) as OpenClaw's approvals file with a hash for optimistic concurrency; exec.approval.get reads one pending
 * request; exec.approvals.resolve is the alias desktop agents send instead of exec.approval.resolve.
 */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { method, NoParams } from "./define.ts"

export const ExecApprovalsAllowlistEntry = lazy(() =>
  z.object({
    id: z.string().min(1).optional(),
    pattern: z.string().min(1).describe("A program name or absolute path (tools.exec.allowlist)"),
    argPattern: z.string().optional(),
    source: z.literal("allow-always").optional(),
    lastUsedAt: z.number().int().min(0).optional(),
    lastUsedCommand: z.string().optional(),
    lastResolvedPath: z.string().optional(),
  }),
)

function policyFields() {
  return {
    security: z.string().optional().describe("deny | allowlist | full"),
    ask: z.string().optional().describe("off | on-miss | always"),
    askFallback: z.string().optional().describe("What an unanswered request becomes: deny"),
    autoAllowSkills: z.boolean().optional(),
  }
}

/** OpenClaw's exec-approvals.json: defaults plus per-agent policy and allowlist. */
export const ExecApprovalsFile = lazy(() =>
  z.object({
    version: z.literal(1),
    socket: z.object({ path: z.string().optional(), token: z.string().optional() }).optional(),
    defaults: z.object(policyFields()).optional(),
    agents: z.record(z.string(), z.object({ ...policyFields(), allowlist: z.array(ExecApprovalsAllowlistEntry()).optional() })).optional(),
  }),
)

export const ExecApprovalsSnapshot = lazy(() =>
  z.object({
    path: z.string().describe("The file the policy lives in (gateway.json: tools.exec)"),
    exists: z.boolean(),
    hash: z.string().describe("Send as baseHash with exec.approvals.set"),
    file: ExecApprovalsFile(),
  }),
)

export const execApprovalsGet = method("exec.approvals.get", "operator.admin", NoParams, ExecApprovalsSnapshot)

export const execApprovalsSet = method(
  "exec.approvals.set",
  "operator.admin",
  () => z.strictObject({ file: ExecApprovalsFile(), baseHash: z.string().min(1).optional() }),
  ExecApprovalsSnapshot,
)

export const execApprovalGet = method(
  "exec.approval.get",
  "operator.approvals",
  () => z.strictObject({ id: z.string().min(1) }),
  () =>
    z
      .object({
        id: z.string(),
        commandText: z.string(),
        commandPreview: z.string().nullable(),
        allowedDecisions: z.array(z.string()),
        host: z.string().nullable(),
        nodeId: z.string().nullable(),
        cwd: z.string().nullable(),
        sessionKey: z.string().nullable(),
        createdAtMs: z.number(),
        expiresAtMs: z.number(),
      })
      .loose(),
)

export const execApprovalsResolve = method(
  "exec.approvals.resolve",
  "operator.approvals",
  () => z.strictObject({ requestId: z.string().min(1), decision: z.enum(["approve", "reject"]) }),
  () => z.object({ requestId: z.string(), resolved: z.boolean().describe("false: no such pending request (already decided or expired)") }),
)
