/**
 * Server-sent events: names and payload schemas. The broadcaster, the client and the schema export use this table;
 * its schemas are built on first access like the methods'.
 */
import { z } from "zod"
import { ConnectChallenge, PresenceEntry } from "./connect.ts"
import { lazy, lazyTable, type Built } from "./lazy.ts"
import { RunUsage } from "./methods/agent.ts"
import { TextPart } from "./methods/chat.ts"
import { CronEvent, HeartbeatEvent } from "./methods/cron.ts"
import { HealthSummary } from "./methods/system.ts"
import { ApprovalDecision } from "./methods/tools.ts"
import { DevicePairRequestedEvent, DevicePairResolvedEvent } from "./methods/devices.ts"
import { NodeInvokeRequestEvent, NodePairRequestedEvent, NodePairResolvedEvent } from "./methods/nodes.ts"

export const TickEvent = lazy(() => z.object({ ts: z.number() }))
export const ShutdownEvent = lazy(() => z.object({ reason: z.string(), restartExpectedMs: z.number().optional() }))
export const PresenceEvent = lazy(() => z.object({ presence: z.array(PresenceEntry) }))
export const ConfigChangedEvent = lazy(() => z.object({ path: z.string(), hash: z.string(), ts: z.number(), changedPaths: z.array(z.string()) }))

/** `data` of each agent stream, as the run loop fills it. */
export const AgentStreamData = {
  /** start → model (each model chosen) → end | error. */
  lifecycle: lazy(() =>
    z.object({
      phase: z.enum(["start", "model", "end", "error"]),
      startedAt: z.number().optional(),
      resumed: z.boolean().optional().describe("start: the run picked up after a gateway restart"),
      provider: z.string().optional(),
      model: z.string().optional(),
      endedAt: z.number().optional(),
      aborted: z.boolean().optional(),
      stopReason: z.string().optional(),
      terminalReply: z.object({ disposition: z.string().describe("visible"), text: z.string() }).optional(),
      error: z.string().optional(),
      errorKind: z.string().optional(),
    }),
  ),
  /** Cumulative `text` of the current step plus the new `delta`; `replace` after a model retry restarted the text. */
  assistant: lazy(() => z.object({ text: z.string(), delta: z.string(), replace: z.boolean().optional() })),
  /** Only for clients that declared the `tool-events` capability. */
  tool: lazy(() =>
    z.object({
      phase: z.enum(["start", "update", "result"]),
      name: z.string(),
      toolCallId: z.string(),
      args: z.unknown().optional().describe("start: the call's arguments"),
      partialResult: z.unknown().optional().describe("update: progress the tool reported"),
      isError: z.boolean().optional(),
      result: z.string().optional().describe("result: the text the model sees"),
      meta: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
  usage: lazy(() => z.object({ inputTokens: z.number(), outputTokens: z.number(), totalTokens: z.number() })),
  run_status: lazy(() => z.object({ phase: z.string().describe("preparing_context | starting_model | …") })),
  compaction: lazy(() => z.object({ phase: z.enum(["start", "end"]), tokensBefore: z.number(), tokensAfter: z.number().optional() })),
} as const

/** One event of an agent run: `seq` counts per run; `data` depends on `stream`. */
export const AgentEvent = lazy(() => {
  const base = {
    runId: z.string(),
    seq: z.number().int(),
    ts: z.number(),
    sessionKey: z.string().optional(),
    sessionId: z.string().optional(),
    agentId: z.string().optional(),
    isHeartbeat: z.boolean().optional(),
  }
  const d = AgentStreamData
  return z.discriminatedUnion("stream", [
    z.object({ ...base, stream: z.literal("lifecycle"), data: d.lifecycle() }),
    z.object({ ...base, stream: z.literal("assistant"), data: d.assistant() }),
    z.object({ ...base, stream: z.literal("tool"), data: d.tool() }),
    z.object({ ...base, stream: z.literal("usage"), data: d.usage() }),
    z.object({ ...base, stream: z.literal("run_status"), data: d.run_status() }),
    z.object({ ...base, stream: z.literal("compaction"), data: d.compaction() }),
  ])
})
export type AgentEvent = z.infer<Built<typeof AgentEvent>>

/** The assistant's message so far (delta) or in full (final). */
export const ChatMessage = lazy(() => z.object({ role: z.string().describe("assistant"), content: z.array(TextPart()), timestamp: z.number() }))

/** Chat view of a run: status phases, deltas, then one of final / aborted / error. OpenClaw may add fields. */
export const ChatEvent = lazy(() =>
  z
    .object({
      runId: z.string(),
      sessionKey: z.string(),
      agentId: z.string().optional(),
      seq: z.number().int().describe("The run's agent-event seq this view matches"),
      state: z.enum(["status", "delta", "final", "aborted", "error"]),
      phase: z.string().optional().describe("status: as the run_status agent stream"),
      deltaText: z.string().optional(),
      replace: z.boolean().optional(),
      message: ChatMessage().optional(),
      stopReason: z.string().optional(),
      usage: RunUsage().optional().describe("final: the run's token usage and cost"),
      errorMessage: z.string().optional(),
      errorKind: z.string().optional().describe("refusal | timeout | rate_limit | context_length | unknown"),
    })
    .loose(),
)
export type ChatEvent = z.infer<Built<typeof ChatEvent>>

export const ExecApprovalRequested = lazy(() =>
  z.object({
    id: z.string(),
    request: z.object({ command: z.string(), cwd: z.string().optional(), sessionKey: z.string().optional(), runId: z.string().optional() }),
    createdAtMs: z.number(),
    expiresAtMs: z.number(),
  }),
)
export const ExecApprovalResolved = lazy(() =>
  z.object({ id: z.string(), decision: z.string().describe(ApprovalDecision().options.join(" | ")), ts: z.number() }),
)

/** Every event this build sends, in the order hello-ok advertises it. */
export const EVENTS = lazyTable({
  "connect.challenge": () => ConnectChallenge,
  tick: TickEvent,
  health: HealthSummary,
  presence: PresenceEvent,
  shutdown: ShutdownEvent,
  "config.changed": ConfigChangedEvent,
  agent: AgentEvent,
  chat: ChatEvent,
  "exec.approval.requested": ExecApprovalRequested,
  "exec.approval.resolved": ExecApprovalResolved,
  cron: CronEvent,
  heartbeat: HeartbeatEvent,
  "node.invoke.request": NodeInvokeRequestEvent,
  "node.pair.requested": NodePairRequestedEvent,
  "node.pair.resolved": NodePairResolvedEvent,
  "device.pair.requested": DevicePairRequestedEvent,
  "device.pair.resolved": DevicePairResolvedEvent,
})

export type EventName = keyof typeof EVENTS
export type EventPayload<E extends EventName> = z.infer<(typeof EVENTS)[E]>
