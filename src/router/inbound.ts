/**
 * The one shape every door hands to the router: who sent what, through which door, for which session, where the
 * reply goes, and the idempotency key that makes a retry safe. Origin and delivery target are stored with the run,
 * so a reply can still be routed after a restart. Schemas are thunks: they are parsed only when a stored record is
 * read back, and building them at import would cost start-up time.
 */
import { z } from "zod"

/** The doors into the agent. */
export const DOORS = [
  "ws.agent",
  "ws.chat.send",
  "ws.wake",
  "ws.sessions.spawn",
  "http.openai",
  "tool.sessions_spawn",
  "tool.sessions_send",
  "subagent.announce",
  "channel",
  "cron",
  "heartbeat",
] as const
export type Door = (typeof DOORS)[number]

/** Built once, on first use (a fresh zod schema per call would also be compiled afresh by zod's JIT each time). */
function once<T>(build: () => T): () => T {
  let built: T | undefined
  return () => (built ??= build())
}

export const originSchema = once(() =>
  z.object({
    door: z.enum(DOORS),
    /** WebSocket doors: the requesting connection and its client. */
    connId: z.string().optional(),
    clientId: z.string().optional(),
    /** Channel doors: which bot account, chat, sender, thread and message. */
    channel: z.string().optional(),
    accountId: z.string().optional(),
    chatId: z.string().optional(),
    /** direct, group or channel: which conversation a binding's peer names. */
    chatType: z.enum(["direct", "group", "channel"]).optional(),
    senderId: z.string().optional(),
    threadId: z.string().optional(),
    messageId: z.string().optional(),
    /** Agent-internal doors: the session (and run) that sent it. */
    fromSessionKey: z.string().optional(),
    fromRunId: z.string().optional(),
  }),
)
export type Origin = z.infer<ReturnType<typeof originSchema>>

export const deliveryTargetSchema = once(() =>
  z.discriminatedUnion("kind", [
    /** Nobody waits for a reply beyond the session's own history (sub-agent turns, wake, cron without announce). */
    z.object({ kind: z.literal("none") }),
    /** The requesting WebSocket connection, through the run's agent/chat events. */
    z.object({ kind: z.literal("connection"), connId: z.string() }),
    /** A chat platform peer. */
    z.object({
      kind: z.literal("channel"),
      channel: z.string(),
      to: z.string(),
      accountId: z.string().optional(),
      threadId: z.string().optional(),
      replyTo: z.string().optional(),
    }),
  ]),
)
export type DeliveryTarget = z.infer<ReturnType<typeof deliveryTargetSchema>>

/** How a door names its session; the router turns it into a key in one place (router/session-keys.ts). */
export type SessionSpec =
  /** A key (or short form like "main") the client chose. */
  | { kind: "key"; key: string; agentId?: string }
  /** The agent's main session. */
  | { kind: "main"; agentId?: string }
  /** A session of its own for this one message (OpenClaw's `agent` with neither session nor agent). */
  | { kind: "explicit"; agentId?: string; id: string }
  /** A fresh sub-agent session. */
  | { kind: "subagent"; agentId?: string }
  /** An OpenAI-compatible client: stable per `user` field, else one per request. */
  | { kind: "openai"; agentId?: string; user?: string }
  /** A chat platform conversation. */
  | { kind: "channel"; agentId?: string; channel: string; accountId?: string; chatType: "direct" | "group" | "channel"; peerId: string; threadId?: string }

/** Per-run options a door may set. */
export interface RunOptions {
  model?: string
  extraSystemPrompt?: string
  label?: string
  timeoutMs?: number
  parentKey?: string
  depth?: number
  /** Wait this long for more messages to the same session before running; they join this run (chat bursts). */
  debounceMs?: number
  /** Light context: the model sees only this run's own messages, not the session's history (heartbeats). */
  light?: boolean
}

export interface Inbound {
  origin: Origin
  session: SessionSpec
  message: string
  /** The run id; a retry with the same key returns the same run. A random one when the door has none. */
  idempotencyKey?: string
  /** Default: the requesting connection for WebSocket doors, nobody otherwise. */
  delivery?: DeliveryTarget
  run?: RunOptions
  /** `next-heartbeat`: stored now, carried by the next heartbeat turn instead of starting a run. */
  when?: "now" | "next-heartbeat"
}

export interface Accepted {
  runId: string
  sessionKey: string
  acceptedAt: number
  /**
   * queued: its own run (waiting or already running); merged: carried by `carriedBy`; deferred: waits for the next
   * heartbeat; duplicate: the key was seen before with the same parameters (`existing` says what became of it).
   */
  state: "queued" | "merged" | "deferred" | "duplicate"
  carriedBy?: string
  /** For duplicates: the stored status of the run that carries the message (queued, running, ok, error, …). */
  existing?: { status: string; carriedBy?: string; text?: string; error?: string }
}
