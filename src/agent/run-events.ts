/**
 * Publishes one run's progress on the bus in OpenClaw's shapes: RunProgress events with a per-run seq (lifecycle,
 * assistant, tool, usage, run_status) and the matching ChatUpdate view (delta / final / aborted / error).
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

export class RunEmitter {
  private seq = 0
  private text = ""
  private replaceNext = false

  constructor(
    private bus: Bus,
    readonly id: RunIdentity,
  ) {}

  get snapshot(): string {
    return this.text
  }

  agent<S extends Stream>(stream: S, data: StreamData<S>): number {
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
    if (this.text) this.replaceNext = true
    this.text = ""
  }

  delta(delta: string): void {
    if (!delta) return
    this.text += delta
    const replace = this.replaceNext
    this.replaceNext = false
    const seq = this.agent("assistant", { text: this.text, delta, ...(replace ? { replace: true } : {}) })
    this.chat("delta", { deltaText: delta, message: this.message(this.text), ...(replace ? { replace: true } : {}) }, seq)
  }

  /** Text of one step is done; the next step's text starts fresh for the snapshot. */
  endStep(): void {
    this.text = ""
  }

  final(text: string, stopReason: string, usage: Record<string, unknown>): void {
    this.chat("final", { stopReason, message: this.message(text), usage })
  }

  aborted(text: string): void {
    this.chat("aborted", { stopReason: "aborted", ...(text ? { message: this.message(text) } : {}) })
  }

  error(message: string, kind: string): void {
    this.chat("error", { errorMessage: message, errorKind: kind })
  }
}
