/**
 * A fake Anthropic Messages server speaking the real wire format, so @ai-sdk/anthropic talks to it unchanged through
 * baseURL. POST /v1/messages answers `stream: true` requests with SSE (`event: message_start`, `ping`,
 * content_block_start / content_block_delta (text_delta, input_json_delta for tool_use) / content_block_stop,
 * message_delta with stop_reason and usage, message_stop) and other requests with a message JSON object.
 *
 *   const fake = startFakeAnthropic([{ text: "hi" }, { error: { status: 529 } }])
 *   // baseURL: fake.url  (http://127.0.0.1:<port>/v1)   fake.requests[0].messages …   await fake.stop()
 *
 * Standalone: `bun test/fakes/anthropic.ts --script steps.json [--port n]` prints {"url","port"} as one JSON line.
 */
import { argsText, runStandalone, startFake, textChunks, type FakeScript, type FakeServer, type FakeStep, type StartOptions, type Wire } from "./common.ts"

export type { FakeScript, FakeServer, FakeStep, FakeToolCall } from "./common.ts"

function errorType(status: number): string {
  if (status === 401) return "authentication_error"
  if (status === 403) return "permission_error"
  if (status === 404) return "not_found_error"
  if (status === 413) return "request_too_large"
  if (status === 429) return "rate_limit_error"
  if (status === 529) return "overloaded_error"
  if (status >= 500) return "api_error"
  return "invalid_request_error"
}

function pieces(s: string): string[] {
  if (s.length < 3) return [s]
  const a = Math.floor(s.length / 3)
  const b = Math.floor((2 * s.length) / 3)
  return [s.slice(0, a), s.slice(a, b), s.slice(b)]
}

function counts(step: FakeStep) {
  return {
    input: step.usage?.input ?? 10,
    output: step.usage?.output ?? Math.max(1, textChunks(step).length + (step.toolCalls?.length ?? 0)),
    cacheRead: step.usage?.cacheRead ?? 0,
    cacheWrite: step.usage?.cacheWrite ?? 0,
  }
}

const stopOf = (step: FakeStep) => step.finishReason ?? (step.toolCalls?.length ? "tool_use" : "end_turn")
const toolId = (seq: number, i: number, id?: string) => id ?? `toolu_fake${seq}_${i}`
const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`

export const anthropicWire: Wire = {
  path: "/v1/messages",
  errorBody(status, message) {
    return { type: "error", error: { type: errorType(status), message } }
  },
  errorFrame(err) {
    return event("error", { error: { type: err.type ?? "overloaded_error", message: err.message } })
  },
  frames(step, body, seq) {
    const u = counts(step)
    const content = [
      event("message_start", {
        message: {
          id: `msg_fake${seq}`,
          type: "message",
          role: "assistant",
          model: step.model ?? body?.model ?? "fake-model",
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: u.input, cache_creation_input_tokens: u.cacheWrite, cache_read_input_tokens: u.cacheRead, output_tokens: 1 },
        },
      }),
      event("ping", {}),
    ]
    let index = 0
    const text = textChunks(step)
    if (text.length) {
      content.push(event("content_block_start", { index, content_block: { type: "text", text: "" } }))
      for (const t of text) content.push(event("content_block_delta", { index, delta: { type: "text_delta", text: t } }))
      content.push(event("content_block_stop", { index }))
      index++
    }
    step.toolCalls?.forEach((call, i) => {
      content.push(event("content_block_start", { index, content_block: { type: "tool_use", id: toolId(seq, i, call.id), name: call.name, input: {} } }))
      content.push(event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: "" } }))
      for (const p of pieces(argsText(call.args))) content.push(event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: p } }))
      content.push(event("content_block_stop", { index }))
      index++
    })
    const terminal = [
      event("message_delta", { delta: { stop_reason: stopOf(step), stop_sequence: null }, usage: { output_tokens: u.output } }),
      event("message_stop", {}),
    ]
    return { content, terminal }
  },
  json(step, body, seq) {
    const u = counts(step)
    const text = textChunks(step).join("")
    return {
      id: `msg_fake${seq}`,
      type: "message",
      role: "assistant",
      model: step.model ?? body?.model ?? "fake-model",
      content: [
        ...(text ? [{ type: "text", text }] : []),
        ...(step.toolCalls ?? []).map((c, i) => ({
          type: "tool_use",
          id: toolId(seq, i, c.id),
          name: c.name,
          input: typeof c.args === "string" ? JSON.parse(c.args) : (c.args ?? {}),
        })),
      ],
      stop_reason: stopOf(step),
      stop_sequence: null,
      usage: { input_tokens: u.input, cache_creation_input_tokens: u.cacheWrite, cache_read_input_tokens: u.cacheRead, output_tokens: u.output },
    }
  },
}

/** Starts a fake Anthropic Messages server on 127.0.0.1 (port 0 unless given). */
export function startFakeAnthropic(script: FakeScript = [], opts: StartOptions = {}): FakeServer {
  return startFake(anthropicWire, script, opts)
}

if (import.meta.main) runStandalone("fake-anthropic", startFakeAnthropic)
