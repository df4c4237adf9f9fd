/**
 * What the agent publishes on the bus: the progress of runs (OpenClaw's `agent` stream and `chat` view shapes, which
 * the broadcaster forwards as they are) and exec approvals. Who may see them on the wire is the broadcaster's call.
 */
import { z } from "zod"
import { defineEvent } from "../bus/index.ts"

/** One event of a run: `seq` counts per run; `stream` is lifecycle | assistant | tool | usage | run_status | compaction. */
export const RunProgress = defineEvent("agent.run.progress", () =>
  z.object({
    runId: z.string(),
    seq: z.number().int(),
    stream: z.string(),
    ts: z.number(),
    data: z.record(z.string(), z.unknown()),
    sessionKey: z.string(),
    sessionId: z.string(),
    agentId: z.string(),
    isHeartbeat: z.boolean(),
    /** Tool activity (start/update/result): the wire only gives it to clients that asked for tool events. */
    tool: z.boolean(),
  }),
)

const ChatText = z.object({ role: z.string(), content: z.array(z.object({ type: z.literal("text"), text: z.string() })), timestamp: z.number() })

/** The chat view of a run: status phases, deltas (cumulative message + delta), and one terminal state. */
export const ChatUpdate = defineEvent("agent.chat.update", () =>
  z.object({
    runId: z.string(),
    sessionKey: z.string(),
    agentId: z.string(),
    seq: z.number().int(),
    state: z.enum(["status", "delta", "final", "aborted", "error"]),
    phase: z.string().optional(),
    deltaText: z.string().optional(),
    replace: z.boolean().optional(),
    message: ChatText.optional(),
    stopReason: z.string().optional(),
    usage: z.record(z.string(), z.unknown()).optional(),
    errorMessage: z.string().optional(),
    errorKind: z.string().optional(),
  }),
)

export const ApprovalRequested = defineEvent("agent.approval.requested", () =>
  z.object({
    id: z.string(),
    request: z.object({ command: z.string(), cwd: z.string().optional(), sessionKey: z.string().optional(), runId: z.string().optional() }),
    createdAtMs: z.number(),
    expiresAtMs: z.number(),
  }),
)

export const ApprovalResolved = defineEvent("agent.approval.resolved", () => z.object({ id: z.string(), decision: z.string(), ts: z.number() }))
