/** Tool methods: tools.catalog / tools.invoke, exec.bash (for agents in other processes), and exec approvals. */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { method, NoParams } from "./define.ts"

export const ToolInfo = lazy(() =>
  z.object({ name: z.string(), description: z.string(), parameters: z.record(z.string(), z.unknown()).describe("JSON Schema of the tool's arguments") }),
)

export const PendingApproval = lazy(() =>
  z.object({
    id: z.string(),
    command: z.string(),
    cwd: z.string().optional(),
    sessionKey: z.string().optional(),
    createdAtMs: z.number(),
    expiresAtMs: z.number(),
  }),
)

export const ApprovalDecision = lazy(() => z.enum(["allow-once", "allow-always", "deny"]))

export const toolsCatalog = method(
  "tools.catalog",
  "operator.read",
  () => z.object({ agentId: z.string().optional() }).loose().optional().default({}),
  () => z.object({ tools: z.array(ToolInfo()) }),
)

export const toolsInvoke = method(
  "tools.invoke",
  "operator.write",
  () =>
    z.strictObject({
      name: z.string().min(1),
      args: z.record(z.string(), z.unknown()).optional(),
      sessionKey: z.string().optional(),
      idempotencyKey: z.string().optional().describe("A retry with the same key returns the first call's result"),
    }),
  () =>
    z.object({
      ok: z.boolean(),
      result: z.string().describe("The text the model would see"),
      isError: z.boolean(),
      meta: z.record(z.string(), z.unknown()).optional().describe("Structured extras of the tool (not sent to the model)"),
    }),
)

export const execBash = method(
  "exec.bash",
  "operator.write",
  () => z.strictObject({ command: z.string().min(1).max(100_000), workdir: z.string().optional(), timeoutMs: z.number().int().positive().optional() }),
  () => z.object({ stdout: z.string(), stderr: z.string(), exitCode: z.number().nullable().describe("null: killed (timeout or abort)") }),
)

export const execApprovalList = method("exec.approval.list", "operator.approvals", NoParams, () => z.object({ approvals: z.array(PendingApproval()) }))

export const execApprovalResolve = method(
  "exec.approval.resolve",
  "operator.approvals",
  () => z.strictObject({ id: z.string().min(1), decision: ApprovalDecision() }),
  () => z.object({ ok: z.literal(true), id: z.string(), decision: ApprovalDecision() }),
)
