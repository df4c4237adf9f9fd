/**
 * A fake OpenAI Chat Completions server speaking the real wire format, so the AI SDK (openai / openai-compatible
 * providers) talks to it unchanged through baseURL. POST /v1/chat/completions answers `stream: true` requests with
 * SSE `data: {chat.completion.chunk}` frames (role chunk, content deltas, tool_calls deltas split across chunks,
 * finish_reason, a usage chunk when stream_options.include_usage is set, then `data: [DONE]`), and other requests
 * with a chat.completion JSON object. GET /v1/models lists "fake-model".
 *
 *   const fake = startFakeOpenAI([{ text: ["Hel", "lo"] }, { toolCalls: [{ name: "read", args: { path: "a" } }] }])
 *   // baseURL: fake.url  (http://127.0.0.1:<port>/v1)   fake.requests[0].messages …   await fake.stop()
 *
 * Standalone: `bun test/fakes/openai.ts --script steps.json [--port n]` prints {"url","port"} as one JSON line.
 */
import { argsText, runStandalone, startFake, textChunks, type FakeScript, type FakeServer, type FakeStep, type StartOptions, type Wire } from "./common.ts"

export type { FakeScript, FakeServer, FakeStep, FakeToolCall } from "./common.ts"

const CREATED = 1_700_000_000

function errorType(status: number): { type: string; code: string | null } {
  if (status === 401) return { type: "invalid_request_error", code: "invalid_api_key" }
  if (status === 403) return { type: "invalid_request_error", code: "unsupported_country_region_territory" }
  if (status === 404) return { type: "invalid_request_error", code: "model_not_found" }
  if (status === 429) return { type: "requests", code: "rate_limit_exceeded" }
  if (status >= 500) return { type: "server_error", code: null }
  return { type: "invalid_request_error", code: null }
}

/** Splits a string into up to three pieces so arguments arrive across several chunks. */
function pieces(s: string): string[] {
  if (s.length < 3) return [s]
  const a = Math.floor(s.length / 3)
  const b = Math.floor((2 * s.length) / 3)
  return [s.slice(0, a), s.slice(a, b), s.slice(b)]
}

function usageOf(step: FakeStep) {
  const input = step.usage?.input ?? 10
  const cacheRead = step.usage?.cacheRead ?? 0
  const output = step.usage?.output ?? Math.max(1, textChunks(step).length + (step.toolCalls?.length ?? 0))
  const prompt = input + cacheRead
  return {
    prompt_tokens: prompt,
    completion_tokens: output,
    total_tokens: prompt + output,
    prompt_tokens_details: { cached_tokens: cacheRead, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  }
}

const finishOf = (step: FakeStep) => step.finishReason ?? (step.toolCalls?.length ? "tool_calls" : "stop")
const callId = (seq: number, i: number, id?: string) => id ?? `call_fake${seq}_${i}`

export const openAIWire: Wire = {
  path: "/v1/chat/completions",
  errorBody(status, message) {
    return { error: { message, ...errorType(status), param: null } }
  },
  errorFrame(err) {
    return `data: ${JSON.stringify({ error: { message: err.message, type: err.type ?? "server_error", param: null, code: null } })}\n\n`
  },
  frames(step, body, seq) {
    const includeUsage = body?.stream_options?.include_usage === true
    const base = {
      id: `chatcmpl-fake${seq}`,
      object: "chat.completion.chunk",
      created: CREATED,
      model: step.model ?? body?.model ?? "fake-model",
      system_fingerprint: "fp_fake",
    }
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(includeUsage ? { usage: null } : {}) })}\n\n`
    const content = [chunk({ role: "assistant", content: "", refusal: null })]
    for (const t of textChunks(step)) content.push(chunk({ content: t }))
    step.toolCalls?.forEach((call, i) => {
      content.push(chunk({ tool_calls: [{ index: i, id: callId(seq, i, call.id), type: "function", function: { name: call.name, arguments: "" } }] }))
      for (const p of pieces(argsText(call.args))) content.push(chunk({ tool_calls: [{ index: i, function: { arguments: p } }] }))
    })
    const terminal = [chunk({}, finishOf(step))]
    if (includeUsage) terminal.push(`data: ${JSON.stringify({ ...base, choices: [], usage: usageOf(step) })}\n\n`)
    terminal.push("data: [DONE]\n\n")
    return { content, terminal }
  },
  json(step, body, seq) {
    const text = textChunks(step).join("")
    const toolCalls = step.toolCalls?.map((c, i) => ({ id: callId(seq, i, c.id), type: "function", function: { name: c.name, arguments: argsText(c.args) } }))
    return {
      id: `chatcmpl-fake${seq}`,
      object: "chat.completion",
      created: CREATED,
      model: step.model ?? body?.model ?? "fake-model",
      system_fingerprint: "fp_fake",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: text || null, refusal: null, ...(toolCalls?.length ? { tool_calls: toolCalls } : {}) },
          logprobs: null,
          finish_reason: finishOf(step),
        },
      ],
      usage: usageOf(step),
    }
  },
  extra(req, url) {
    if (req.method === "GET" && url.pathname === "/v1/models") {
      return Response.json({ object: "list", data: [{ id: "fake-model", object: "model", created: CREATED, owned_by: "fake" }] })
    }
    return undefined
  },
}

/** Starts a fake OpenAI Chat Completions server on 127.0.0.1 (port 0 unless given). */
export function startFakeOpenAI(script: FakeScript = [], opts: StartOptions = {}): FakeServer {
  return startFake(openAIWire, script, opts)
}

if (import.meta.main) runStandalone("fake-openai", startFakeOpenAI)
