/**
 * The provider-independent model seam: what the run loop and compaction ask of a model (a handle and a stream of
 * events). model-call.ts implements it with the AI SDK; tests inject their own stream.
 */
import type { ModelTool } from "./tools/tool.ts"
import type { TranscriptMessage, Usage } from "./types.ts"

export type FinishReason = "stop" | "tool-calls" | "length" | "content-filter" | "other"

/** A classified model failure (model-call.ts's ModelCallError is one). */
export interface ModelFailure {
  kind: string
  retryable: boolean
  message: string
  /** HTTP status, when the provider answered with one. */
  status?: number
  /** From Retry-After / retry-after-ms, when the provider sent it. */
  retryAfterMs?: number
}

export type ModelEvent =
  | { type: "text-delta"; delta: string }
  | { type: "tool-call"; toolCallId: string; toolName: string; input: unknown }
  /**
   * The call completed. usage.input counts every prompt token (cached ones included; cacheRead/cacheWrite say how
   * many of them were read from / written to the provider's cache), so input + output is the context size.
   */
  | { type: "finish"; finishReason: FinishReason | string; usage: Usage }
  | { type: "error"; error: ModelFailure }

export interface ModelHandle {
  ref: string
  provider: string
  modelId: string
  contextWindow: number
  maxTokens: number
}

export interface StreamModelOptions<M extends ModelHandle = ModelHandle> {
  model: M
  system: string
  messages: TranscriptMessage[]
  tools: ModelTool[]
  signal: AbortSignal
  /** Output token cap for this call (default: the model's maxTokens). */
  maxOutputTokens?: number
  /** Fail with kind "timeout" when no stream part arrives for this long (default: no limit). */
  idleTimeoutMs?: number
}

export type StreamModel<M extends ModelHandle = ModelHandle> = (o: StreamModelOptions<M>) => AsyncIterable<ModelEvent>

/** What the agent needs from a model layer; the gateway loads the AI SDK one lazily, tests inject a fake. */
export interface ModelLayer<M extends ModelHandle = ModelHandle> {
  resolveModel(ref: string): Promise<M>
  streamModel: StreamModel<M>
}
