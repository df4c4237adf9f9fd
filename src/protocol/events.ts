/** Server-sent events: names and payload schemas. The broadcaster and the client both use this table. */
import { z } from "zod"
import { ConnectChallenge, PresenceEntry } from "./connect.ts"
import { HealthSummary } from "./methods.ts"

export const TickEvent = z.object({ ts: z.number() })
export const ShutdownEvent = z.object({ reason: z.string(), restartExpectedMs: z.number().optional() })
export const PresenceEvent = z.object({ presence: z.array(PresenceEntry) })
export const ConfigChangedEvent = z.object({ path: z.string(), hash: z.string(), ts: z.number(), changedPaths: z.array(z.string()) })

/** One event of an agent run: `seq` counts per run; `stream` is lifecycle | assistant | tool | usage | run_status | compaction. */
export const AgentEvent = z.object({
  runId: z.string(),
  seq: z.number().int(),
  stream: z.string(),
  ts: z.number(),
  data: z.record(z.string(), z.unknown()),
  sessionKey: z.string().optional(),
  sessionId: z.string().optional(),
  agentId: z.string().optional(),
  isHeartbeat: z.boolean().optional(),
})
export type AgentEvent = z.infer<typeof AgentEvent>

export const ChatMessage = z.object({
  role: z.string(),
  content: z.array(z.object({ type: z.literal("text"), text: z.string() })),
  timestamp: z.number(),
})

/** Chat view of a run: delta / final / aborted / error (plus status phases). */
export const ChatEvent = z
  .object({
    runId: z.string(),
    sessionKey: z.string(),
    agentId: z.string().optional(),
    seq: z.number().int(),
    state: z.enum(["status", "delta", "final", "aborted", "error"]),
    phase: z.string().optional(),
    deltaText: z.string().optional(),
    replace: z.boolean().optional(),
    message: ChatMessage.optional(),
    stopReason: z.string().optional(),
    usage: z.record(z.string(), z.unknown()).optional(),
    errorMessage: z.string().optional(),
    errorKind: z.string().optional(),
  })
  .loose()
export type ChatEvent = z.infer<typeof ChatEvent>

export const ExecApprovalRequested = z.object({
  id: z.string(),
  request: z.object({ command: z.string(), cwd: z.string().optional(), sessionKey: z.string().optional(), runId: z.string().optional() }),
  createdAtMs: z.number(),
  expiresAtMs: z.number(),
})
export const ExecApprovalResolved = z.object({ id: z.string(), decision: z.string(), ts: z.number() })

export const EVENTS = {
  "connect.challenge": ConnectChallenge,
  tick: TickEvent,
  health: HealthSummary,
  presence: PresenceEvent,
  shutdown: ShutdownEvent,
  "config.changed": ConfigChangedEvent,
  agent: AgentEvent,
  chat: ChatEvent,
  "exec.approval.requested": ExecApprovalRequested,
  "exec.approval.resolved": ExecApprovalResolved,
} as const

export type EventName = keyof typeof EVENTS
export type EventPayload<E extends EventName> = z.infer<(typeof EVENTS)[E]>
