/**
 * Publishes one run's progress on the bus in OpenClaw's shapes: RunProgress events with a per-run seq (lifecycle,
 * assistant, tool, usage, run_status) and the matching ChatUpdate view (delta / final / aborted / error).
 *
 * Text deltas are coalesced. OpenClaw's wire carries the whole reply so far in every delta (its clients render
 * cumulative text), so one event per model chunk costs O(n²) bytes. Time alone does not bound it either (a slow
 * long stream still sends the whole text every interval), so a delta goes out at most once per `intervalMs`, and once
 * the text is `growthAfterChars` long only after it grew by `growthRatio` of itself: bytes sent stay a small constant
 * multiple of the reply, whatever its length and speed. Pending text is always sent before any other event and at
 * the end of a step, and the final text is always sent.
 */
import type { Bus, BusPayload } from "../bus/index.ts"
import type { AgentEvent } from "../protocol/index.ts"
import { ChatUpdate, RunProgress } from "./events.ts"

type ChatState = BusPayload<typeof ChatUpdate>["state"]
type Stream = AgentEvent["stream"]
/** The `data` of one agent stream. */
export type StreamData<S extends Stream> = Extract<AgentEvent, { stream: S }>["data"]

export interface RunIdentity {
  runId: string
  sessionKey: string
  sessionId: string
  agentId: string
}

export interface CoalesceOptions {
  intervalMs: number
  growthRatio: number
  growthAfterChars: number
  now?: () => number
}

const DEFAULT_COALESCE: CoalesceOptions = { intervalMs: 100, growthRatio: 0.25, growthAfterChars: 1000 }

export class RunEmitter {
  private seq = 0
  private text = ""
  private replaceNext = false
  /** Delta text not yet published, and whether its first event must carry replace (a retry restarted the text). */
  private pending = ""
  private pendingReplace = false
  private lastSentAt = Number.NEGATIVE_INFINITY
  private lastSentLength = 0
  private timer: Timer | undefined
  private readonly coalesce: CoalesceOptions
  private readonly now: () => number

  constructor(
    private bus: Bus,
    readonly id: RunIdentity,
    coalesce: Partial<CoalesceOptions> = {},
  ) {
    this.coalesce = { ...DEFAULT_COALESCE, ...coalesce }
    this.now = coalesce.now ?? Date.now
  }

  get snapshot(): string {
    return this.text
  }

  agent<S extends Stream>(stream: S, data: StreamData<S>): number {
    // Text streamed so far goes out before anything that follows it (a tool call, the end of the run).
    if (stream !== "assistant") this.flush()
    this.seq += 1
    this.bus.publish(RunProgress, {
      runId: this.id.runId,
      seq: this.seq,
      stream,
      ts: Date.now(),
      data,
      sessionKey: this.id.sessionKey,
      sessionId: this.id.sessionId,
      agentId: this.id.agentId,
      isHeartbeat: false,
      tool: stream === "tool",
    } as BusPayload<typeof RunProgress>)
    return this.seq
  }

  private chat(state: ChatState, extra: Omit<BusPayload<typeof ChatUpdate>, "runId" | "sessionKey" | "agentId" | "seq" | "state">, seq = this.seq): void {
    this.bus.publish(ChatUpdate, { runId: this.id.runId, sessionKey: this.id.sessionKey, agentId: this.id.agentId, seq, state, ...extra })
  }

  status(phase: string): void {
    this.agent("run_status", { phase })
    this.chat("status", { phase })
  }

  private message(text: string) {
    return { role: "assistant", content: [{ type: "text" as const, text }], timestamp: Date.now() }
  }

  /** A model retry restarts the text: the next delta carries replace:true and a fresh snapshot. */
  restartText(): void {
    this.flush()
    if (this.text) this.replaceNext = true
    this.text = ""
    this.lastSentLength = 0
  }

  delta(delta: string): void {
    if (!delta) return
    this.text += delta
    this.pending += delta
    if (this.replaceNext) {
      this.pendingReplace = true
      this.replaceNext = false
    }
    if (this.due()) this.flush()
    else this.schedule()
  }

  /** Whether pending text may go out now (see the module comment). */
  private due(): boolean {
    const { intervalMs, growthRatio, growthAfterChars } = this.coalesce
    if (this.now() - this.lastSentAt < intervalMs) return false
    return this.text.length < growthAfterChars || this.text.length >= this.lastSentLength * (1 + growthRatio)
  }

  /** A quiet model still gets its last words out after the interval (when the growth rule allows). */
  private schedule(): void {
    if (this.timer) return
    const wait = Math.max(1, this.coalesce.intervalMs - (this.now() - this.lastSentAt))
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (!this.pending) return
      if (this.due()) this.flush()
    }, wait)
  }

  /** Publishes pending text as one assistant event and its chat delta. */
  private flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (!this.pending) return
    const delta = this.pending
    const replace = this.pendingReplace
    this.pending = ""
    this.pendingReplace = false
    this.lastSentAt = this.now()
    this.lastSentLength = this.text.length
    const seq = this.agent("assistant", { text: this.text, delta, ...(replace ? { replace: true } : {}) })
    this.chat("delta", { deltaText: delta, message: this.message(this.text), ...(replace ? { replace: true } : {}) }, seq)
  }

  /** Text of one step is done; the next step's text starts fresh for the snapshot. */
  endStep(): void {
    this.flush()
    this.text = ""
    this.lastSentLength = 0
  }

  final(text: string, stopReason: string, usage: Record<string, unknown>): void {
    this.flush()
    this.chat("final", { stopReason, message: this.message(text), usage })
  }

  aborted(text: string): void {
    this.flush()
    this.chat("aborted", { stopReason: "aborted", ...(text ? { message: this.message(text) } : {}) })
  }

  error(message: string, kind: string): void {
    this.flush()
    this.chat("error", { errorMessage: message, errorKind: kind })
  }
}
