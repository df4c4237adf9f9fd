/**
 * What the agent publishes on the bus: the progress of runs and exec approvals. A run's progress is OpenClaw's `agent`
 * stream and `chat` view by design, so these events reuse the protocol's payload schemas (one definition); who may
 * see them on the wire, and which a slow client may lose, is the broadcaster's call.
 */
import { z } from "zod"
import { defineEvent } from "../bus/index.ts"
import { AgentEvent, ChatEvent, ExecApprovalRequested, ExecApprovalResolved } from "../protocol/index.ts"

/** One event of a run; `tool` marks tool activity, which the wire gives only to clients that asked for tool events. */
export const RunProgress = defineEvent("agent.run.progress", () => z.intersection(AgentEvent(), z.object({ tool: z.boolean() })))

/** The chat view of a run: status phases, deltas (cumulative message + delta), and one terminal state. */
export const ChatUpdate = defineEvent("agent.chat.update", ChatEvent)

export const ApprovalRequested = defineEvent("agent.approval.requested", ExecApprovalRequested)

export const ApprovalResolved = defineEvent("agent.approval.resolved", ExecApprovalResolved)
