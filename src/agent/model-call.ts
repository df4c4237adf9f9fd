/**
 * One model call (one step) through the AI SDK: our transcript → AI SDK ModelMessages, tools as schemas only (the
 * runtime executes tools itself), the SDK's retries off (the runtime retries and fails over), and the provider's
 * stream → a small ModelEvent stream. Errors are never thrown: they become one classified `error` event, after which
 * the stream ends.
 */
import type { LanguageModelUsage, ModelMessage, ToolSet } from "ai"
import { NamedError } from "../util/named-error.ts"
import { ProviderError, type ResolvedModel } from "./providers.ts"
// Type-only: this module is the separately bundled AI SDK side and must not pull zod schemas in.
import type { FinishReason, ModelEvent, StreamModelOptions as BaseStreamModelOptions } from "./model-types.ts"
import type { ModelTool } from "./tools/tool.ts"
import type { TranscriptMessage, Usage } from "./types.ts"

const KINDS = ["auth", "rate_limit", "overloaded", "server", "network", "context_length", "timeout", "aborted", "invalid_request", "unknown"] as const
export type ModelErrorKind = (typeof KINDS)[number]

/** A failed model call, classified for the runtime: retry (retryable), compact (context_length), or give up. */
export class ModelCallError extends NamedError.create("ModelCallError", (z) =>
  z.object({
    kind: z.enum(KINDS),
    message: z.string(),
    /** Whether trying again may help; by kind when not given. */
    retryable: z.boolean().optional(),
    /** HTTP status, when the provider answered with one. */
    status: z.number().optional(),
    /** From Retry-After / retry-after-ms, when the provider sent it. */
    retryAfterMs: z.number().optional(),
  }),
) {
  // The run loop reads a failure through the ModelFailure seam (model-types.ts): these fields at the top level.
  get kind(): ModelErrorKind {
    return this.data.kind
  }
  get retryable(): boolean {
    return this.data.retryable ?? RETRYABLE[this.data.kind]
  }
  get status(): number | undefined {
    return this.data.status
  }
  get retryAfterMs(): number | undefined {
    return this.data.retryAfterMs
  }
}

const RETRYABLE: Record<ModelErrorKind, boolean> = {
  auth: false,
  rate_limit: true,
  overloaded: true,
  server: true,
  network: true,
  context_length: false,
  timeout: true,
  aborted: false,
  invalid_request: false,
  unknown: false,
}

/** A model call's options with the AI SDK's resolved model. */
export type StreamModelOptions = BaseStreamModelOptions<ResolvedModel>

export const SUMMARY_PREFIX = "Summary of the earlier conversation: "
const SYSTEM_NOTE_PREFIX = "[system] "
const INCOMPLETE = "network error: the model stream ended before the response was complete"
const MISSING_RESULT = "No result was recorded for this tool call (it was interrupted)."

/**
 * Maps our transcript to AI SDK messages: the (latest) summary first as a user message, system notes as "[system] "
 * user messages, tool messages as tool-result parts right after the assistant message that made the calls. Tool
 * calls and results stay paired: a call without a result gets a synthetic error result, a result without a call is
 * dropped (providers reject both).
 */
export function toModelMessages(transcript: TranscriptMessage[]): ModelMessage[] {
  const out: ModelMessage[] = []
  const summaries = transcript.filter((m) => m.role === "summary")
  const summary = summaries[summaries.length - 1]
  if (summary) out.push({ role: "user", content: SUMMARY_PREFIX + summary.content })

  let pending: { ids: string[]; names: Map<string, string>; results: Map<string, Extract<TranscriptMessage, { role: "tool" }>> } | undefined
  const flush = () => {
    if (!pending) return
    const p = pending
    pending = undefined
    out.push({
      role: "tool",
      content: p.ids.map((id) => {
        const r = p.results.get(id)
        const text = r ? r.content : MISSING_RESULT
        return {
          type: "tool-result" as const,
          toolCallId: id,
          toolName: r?.toolName ?? p.names.get(id) ?? "unknown",
          output: !r || r.isError ? { type: "error-text" as const, value: text } : { type: "text" as const, value: text },
        }
      }),
    })
  }

  for (const m of transcript) {
    if (m.role === "tool") {
      if (pending?.names.has(m.toolCallId) && !pending.results.has(m.toolCallId)) pending.results.set(m.toolCallId, m)
      continue
    }
    flush()
    if (m.role === "summary") continue
    if (m.role === "user") out.push({ role: "user", content: m.content })
    else if (m.role === "system") out.push({ role: "user", content: SYSTEM_NOTE_PREFIX + m.content })
    else {
      const content: Exclude<Extract<ModelMessage, { role: "assistant" }>["content"], string> = []
      const ids: string[] = []
      const names = new Map<string, string>()
      for (const p of m.content) {
        if (p.type === "text") {
          if (p.text) content.push({ type: "text", text: p.text })
        } else if (!names.has(p.toolCallId)) {
          content.push({ type: "tool-call", toolCallId: p.toolCallId, toolName: p.toolName, input: p.input ?? {} })
          ids.push(p.toolCallId)
          names.set(p.toolCallId, p.toolName)
        }
      }
      if (content.length === 0) continue
      out.push({ role: "assistant", content })
      if (ids.length) pending = { ids, names, results: new Map() }
    }
  }
  flush()
  return out
}

/** Tool definitions as the SDK wants them: JSON schema only, no execute and no validation (the runtime validates). */
async function toToolSet(tools: ModelTool[]): Promise<ToolSet> {
  if (tools.length === 0) return {}
  const { jsonSchema } = await import("ai")
  const set: ToolSet = {}
  for (const t of tools) set[t.name] = { description: t.description, inputSchema: jsonSchema(t.inputSchema as Parameters<typeof jsonSchema>[0]) }
  return set
}

function toUsage(u: LanguageModelUsage | undefined): Usage {
  const input = u?.inputTokens ?? 0
  const output = u?.outputTokens ?? 0
  return {
    input,
    output,
    cacheRead: u?.inputTokenDetails?.cacheReadTokens ?? 0,
    cacheWrite: u?.inputTokenDetails?.cacheWriteTokens ?? 0,
    total: u?.totalTokens ?? input + output,
    cost: 0,
  }
}

function toFinishReason(r: string | undefined): FinishReason {
  return r === "stop" || r === "tool-calls" || r === "length" || r === "content-filter" ? r : "other"
}

/** Runs one model call. The iterator never throws; a failure is a single `error` event, then the end. */
export async function* streamModel(o: StreamModelOptions): AsyncGenerator<ModelEvent, void, undefined> {
  // Our own controller: aborting it tears the HTTP request down when the caller aborts, stops iterating early,
  // or the idle timer fires.
  const ac = new AbortController()
  const onAbort = () => ac.abort(o.signal.reason)
  if (o.signal.aborted) {
    yield { type: "error", error: classifyModelError(o.signal.reason, o.signal) }
    return
  }
  o.signal.addEventListener("abort", onAbort, { once: true })
  let idleTimer: ReturnType<typeof setTimeout> | undefined
  let idleFired = false
  const touch = () => {
    if (!o.idleTimeoutMs) return
    clearTimeout(idleTimer)
    idleTimer = setTimeout(() => {
      idleFired = true
      ac.abort(new DOMException(`no data from the model for ${o.idleTimeoutMs} ms`, "TimeoutError"))
    }, o.idleTimeoutMs)
  }
  const fail = (err: unknown): ModelEvent => {
    if (idleFired)
      return { type: "error", error: new ModelCallError({ kind: "timeout", message: `the model sent nothing for ${o.idleTimeoutMs} ms` }, { cause: err }) }
    return { type: "error", error: naming(classifyModelError(err, o.signal), o.model) }
  }

  try {
    const { streamText } = await import("ai")
    // The SDK prints call warnings (unknown model limits, unsupported settings) to the console unless told not to.
    globalThis.AI_SDK_LOG_WARNINGS ??= false
    const tools = await toToolSet(o.tools)
    touch()
    const result = streamText({
      model: o.model.languageModel,
      instructions: o.system,
      messages: toModelMessages(o.messages),
      tools,
      maxRetries: 0,
      abortSignal: ac.signal,
      maxOutputTokens: o.maxOutputTokens ?? o.model.maxTokens,
      // Errors arrive as stream parts; the default handler would also log them to the console.
      onError: () => {},
    })
    let finishReason: FinishReason | undefined
    let usage: Usage | undefined
    for await (const part of result.fullStream) {
      // The idle clock runs only while we wait on the provider, not while the consumer handles an event.
      clearTimeout(idleTimer)
      switch (part.type) {
        case "text-delta":
          if (part.text) yield { type: "text-delta", delta: part.text }
          break
        case "tool-call":
          // Invalid calls (unparsable input, unknown tool) are passed on too: the runtime answers them with an error.
          yield { type: "tool-call", toolCallId: part.toolCallId, toolName: part.toolName, input: part.input }
          break
        case "finish-step":
          finishReason = toFinishReason(part.finishReason)
          usage = toUsage(part.usage)
          if (part.finishReason === "error") {
            yield fail(new Error("the model stream ended with an error"))
            return
          }
          // The SDKs report a stream cut short (no stop/finish frame from the provider) as "interrupted".
          if (part.finishReason === "interrupted") {
            yield { type: "error", error: new ModelCallError({ kind: "network", message: INCOMPLETE }) }
            return
          }
          break
        case "finish":
          finishReason ??= toFinishReason(part.finishReason)
          usage ??= toUsage(part.totalUsage)
          yield { type: "finish", finishReason, usage }
          return
        case "error":
          yield fail(part.error)
          return
        case "abort":
          yield fail(o.signal.aborted ? o.signal.reason : new DOMException(part.reason ?? "aborted", "AbortError"))
          return
        default:
          break
      }
      touch()
    }
    if (o.signal.aborted || idleFired) yield fail(o.signal.reason)
    else yield { type: "error", error: naming(new ModelCallError({ kind: "network", message: INCOMPLETE }), o.model) }
  } catch (err) {
    yield fail(err)
  } finally {
    clearTimeout(idleTimer)
    o.signal.removeEventListener("abort", onAbort)
    if (!ac.signal.aborted) ac.abort()
  }
}

/**
 * A network error names the endpoint it failed to reach ("Unable to connect" alone leaves the user guessing which
 * URL, and a local server such as Ollama is most often just not running).
 */
function naming(err: ModelCallError, model: ResolvedModel): ModelCallError {
  if (err.kind !== "network" || !model.baseUrl) return err
  const hint = model.provider === "ollama" ? "; is Ollama running? (ollama serve)" : ""
  return new ModelCallError({ ...err.data, message: `${err.data.message} (${model.provider} at ${model.baseUrl}${hint})` }, { cause: err.cause })
}

// ---------------------------------------------------------------------------------------------------------------
// Error classification

const CONTEXT_OVERFLOW = [
  /context_length_exceeded/i,
  /maximum context length/i,
  /prompt is too long/i,
  /context window/i,
  /exceeds? the (?:model'?s? )?(?:maximum )?(?:context|input|token)/i,
  /input (?:is )?too long/i,
  /too many (?:input )?tokens/i,
  /request_too_large/i,
  /input token count.*exceeds/i,
  /reduce the length of the messages/i,
]

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ConnectionRefused",
  "ConnectionClosed",
  "FailedToOpenSocket",
  "UND_ERR_SOCKET",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CONNECT_TIMEOUT",
])
const NETWORK_MESSAGE =
  /socket|connection (?:was )?(?:closed|reset|refused)|fetch failed|failed to fetch|network|terminated|other side closed|unable to connect|stream ended without|premature close|ECONN/i

/** Provider error `type`s sent in bodies and mid-stream error events (Anthropic, OpenAI). */
const ERROR_TYPES: Record<string, ModelErrorKind> = {
  overloaded_error: "overloaded",
  rate_limit_error: "rate_limit",
  rate_limit_exceeded: "rate_limit",
  insufficient_quota: "rate_limit",
  api_error: "server",
  server_error: "server",
  authentication_error: "auth",
  permission_error: "auth",
  invalid_api_key: "auth",
  invalid_request_error: "invalid_request",
  not_found_error: "invalid_request",
  request_too_large: "context_length",
  timeout_error: "timeout",
}

const LABEL: Record<ModelErrorKind, string> = {
  auth: "authentication failed",
  rate_limit: "rate limited",
  overloaded: "provider overloaded",
  server: "provider error",
  network: "network error",
  context_length: "context too long",
  timeout: "timed out",
  aborted: "aborted",
  invalid_request: "invalid request",
  unknown: "model call failed",
}

interface ErrorShape {
  name?: string
  message?: string
  code?: unknown
  type?: unknown
  cause?: unknown
  statusCode?: number
  responseBody?: string
  responseHeaders?: Record<string, string>
  isRetryable?: boolean
  data?: unknown
  lastError?: unknown
  error?: unknown
}

function kindForStatus(status: number): ModelErrorKind {
  if (status === 401 || status === 403) return "auth"
  // 402: billing/quota. Treated like a rate limit so the runtime moves on to a fallback model.
  if (status === 402 || status === 429) return "rate_limit"
  if (status === 408 || status === 504) return "timeout"
  if (status === 503 || status === 529) return "overloaded"
  if (status === 413) return "context_length"
  if (status >= 500) return "server"
  if (status >= 400) return "invalid_request"
  return "unknown"
}

function retryAfter(headers: Record<string, string> | undefined): number | undefined {
  if (!headers) return undefined
  const get = (k: string) => Object.entries(headers).find(([h]) => h.toLowerCase() === k)?.[1]
  const ms = Number(get("retry-after-ms"))
  if (Number.isFinite(ms) && ms > 0) return ms
  const raw = get("retry-after")
  if (!raw) return undefined
  const s = Number(raw)
  if (Number.isFinite(s)) return Math.max(0, s * 1000)
  const at = Date.parse(raw)
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined
}

function errorType(e: ErrorShape): string | undefined {
  if (typeof e.type === "string") return e.type
  const data = e.data as { error?: { type?: unknown; code?: unknown }; type?: unknown } | undefined
  const t = data?.error?.type ?? data?.error?.code
  if (typeof t === "string") return t
  if (typeof e.code === "string") return e.code
  return undefined
}

function errorMessage(err: unknown): string {
  if (typeof err === "string") return err
  if (err && typeof err === "object") {
    const m = (err as ErrorShape).message
    if (typeof m === "string" && m) return m
    try {
      return JSON.stringify(err)
    } catch {
      // fall through
    }
  }
  return String(err)
}

function hasNetworkCode(err: unknown): boolean {
  const seen = new Set<unknown>()
  let cur: unknown = err
  while (cur && typeof cur === "object" && !seen.has(cur)) {
    seen.add(cur)
    const code = (cur as ErrorShape).code
    if (typeof code === "string" && NETWORK_CODES.has(code)) return true
    cur = (cur as ErrorShape).cause
  }
  return false
}

/**
 * Classifies anything a model call can fail with (AI SDK errors, fetch errors, provider error events, aborts) into
 * a ModelCallError. When `signal` is given and aborted, the result is "aborted" (or "timeout" when the abort reason
 * is a TimeoutError), whatever the error itself says.
 */
export function classifyModelError(err: unknown, signal?: AbortSignal): ModelCallError {
  if (err instanceof ModelCallError) return err
  if (signal?.aborted) {
    const reason = signal.reason as ErrorShape | undefined
    if (reason?.name === "TimeoutError")
      return new ModelCallError({ kind: "timeout", message: `timed out: ${errorMessage(reason)}`, retryable: false }, { cause: err })
    return new ModelCallError({ kind: "aborted", message: "aborted" }, { cause: err })
  }
  const e = (err && typeof err === "object" ? err : {}) as ErrorShape
  if (e.name === "AI_RetryError" && e.lastError !== undefined) return classifyModelError(e.lastError)
  if (e.name === "AbortError" || e.name === "ResponseAborted") return new ModelCallError({ kind: "aborted", message: "aborted" }, { cause: err })
  if (e.name === "TimeoutError") return new ModelCallError({ kind: "timeout", message: `timed out: ${errorMessage(err)}` }, { cause: err })
  if (ProviderError.isInstance(err)) {
    const kind = err.data.kind === "auth" ? "auth" : "invalid_request"
    return new ModelCallError({ kind, message: errorMessage(err), retryable: false }, { cause: err })
  }
  if (e.name === "AI_LoadAPIKeyError") return new ModelCallError({ kind: "auth", message: errorMessage(err) }, { cause: err })

  // A provider error event inside the stream arrives as a plain object ({type, message} or {error: {...}}).
  const inner = e.error && typeof e.error === "object" && !(err instanceof Error) ? (e.error as ErrorShape) : undefined
  const msg = errorMessage(inner ?? err)
  const status = typeof e.statusCode === "number" ? e.statusCode : undefined
  const body = typeof e.responseBody === "string" ? e.responseBody : ""
  const text = `${msg}\n${body}`
  const type = errorType(inner ?? e)
  const retryAfterMs = retryAfter(e.responseHeaders)
  const make = (kind: ModelErrorKind, retryable?: boolean) =>
    new ModelCallError({ kind, message: `${LABEL[kind]}${status ? ` (HTTP ${status})` : ""}: ${msg}`, retryable, status, retryAfterMs }, { cause: err })

  if (CONTEXT_OVERFLOW.some((re) => re.test(text))) return make("context_length")
  if (status !== undefined) {
    // A body type can sharpen the status (e.g. Anthropic's overloaded_error on 500).
    const byType = type ? ERROR_TYPES[type] : undefined
    if (byType === "overloaded" || (byType === "rate_limit" && status !== 402)) return make(byType)
    return make(kindForStatus(status))
  }
  if (type && ERROR_TYPES[type]) return make(ERROR_TYPES[type]!)
  if (e.name === "AI_APICallError") return make(e.isRetryable ? "network" : "unknown")
  if (hasNetworkCode(err) || NETWORK_MESSAGE.test(msg)) return make("network")
  if (
    e.name === "AI_InvalidPromptError" ||
    e.name === "AI_NoSuchModelError" ||
    e.name === "AI_InvalidArgumentError" ||
    e.name === "AI_UnsupportedFunctionalityError"
  ) {
    return make("invalid_request")
  }
  // Garbage from the provider (unparsable chunk, unexpected shape): a server-side fault, worth another try.
  if (
    e.name === "AI_JSONParseError" ||
    e.name === "AI_TypeValidationError" ||
    e.name === "AI_InvalidResponseDataError" ||
    e.name === "AI_EmptyResponseBodyError"
  ) {
    return make("server")
  }
  return make("unknown")
}
