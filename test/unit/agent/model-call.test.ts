import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { z } from "zod"
import { ConfigSchema } from "../../../src/config/schema.ts"
import { classifyModelError, ModelCallError, streamModel, SUMMARY_PREFIX, toModelMessages } from "../../../src/agent/model-call.ts"
import type { ModelEvent } from "../../../src/agent/model-types.ts"
import { resolveModel, type ResolvedModel } from "../../../src/agent/providers.ts"
import { defineTool, toModelTool, type ToolDef } from "../../../src/agent/tools/tool.ts"
import type { TranscriptMessage } from "../../../src/agent/types.ts"
import { startFakeAnthropic } from "../../fakes/anthropic.ts"
import type { FakeRequestBody, FakeScript, FakeServer } from "../../fakes/common.ts"
import { startFakeOpenAI } from "../../fakes/openai.ts"

const readTool = defineTool({
  name: "read",
  description: "Read a file",
  parameters: z.object({ path: z.string(), lines: z.number().optional() }),
  execute: async () => ({ output: "" }),
})
const tools = [toModelTool(readTool as unknown as ToolDef)]
const hi: TranscriptMessage[] = [{ role: "user", content: "hi" }]

async function collect(model: ResolvedModel, o: { messages?: TranscriptMessage[]; signal?: AbortSignal; idleTimeoutMs?: number } = {}): Promise<ModelEvent[]> {
  const out: ModelEvent[] = []
  const signal = o.signal ?? new AbortController().signal
  for await (const ev of streamModel({ model, system: "You are a test.", messages: o.messages ?? hi, tools, signal, idleTimeoutMs: o.idleTimeoutMs }))
    out.push(ev)
  return out
}

const texts = (evs: ModelEvent[]) => evs.flatMap((e) => (e.type === "text-delta" ? [e.delta] : []))
const lastError = (evs: ModelEvent[]) => {
  const last = evs.at(-1)
  if (last?.type !== "error") throw new Error(`expected an error event last, got ${JSON.stringify(evs)}`)
  return last.error
}

interface WireCase {
  name: string
  start: (script?: FakeScript) => FakeServer
  api: "openai-completions" | "anthropic-messages"
  overflowBody: unknown
  toolIdPrefix: string
}

const WIRES: WireCase[] = [
  {
    name: "openai",
    start: startFakeOpenAI,
    api: "openai-completions",
    toolIdPrefix: "call_",
    overflowBody: {
      error: {
        message:
          "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens. Please reduce the length of the messages.",
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded",
      },
    },
  },
  {
    name: "anthropic",
    start: startFakeAnthropic,
    api: "anthropic-messages",
    toolIdPrefix: "toolu_",
    overflowBody: { type: "error", error: { type: "invalid_request_error", message: "prompt is too long: 212345 tokens > 200000 maximum" } },
  },
]

for (const w of WIRES) {
  describe(`streamModel over the ${w.name} wire`, () => {
    let fake: FakeServer
    let model: ResolvedModel
    beforeAll(async () => {
      fake = w.start()
      const cfg = ConfigSchema.parse({
        models: { providers: { fake: { api: w.api, baseUrl: fake.url, apiKey: "sk-test", models: [{ id: "fake-model", maxTokens: 512 }] } } },
      }).models
      model = await resolveModel("fake/fake-model", cfg, {})
    })
    afterAll(() => fake.stop())
    afterEach(() => expect(fake.pending()).toBe(0))

    test("plain text: deltas in order, then finish with usage", async () => {
      fake.push({ text: ["Hel", "lo", " wor", "ld"], usage: { input: 12, output: 4 } })
      const evs = await collect(model)
      expect(texts(evs)).toEqual(["Hel", "lo", " wor", "ld"])
      expect(evs.at(-1)).toEqual({ type: "finish", finishReason: "stop", usage: { input: 12, output: 4, cacheRead: 0, cacheWrite: 0, total: 16, cost: 0 } })
      expect(evs.filter((e) => e.type === "finish")).toHaveLength(1)
      const req = fake.requests.at(-1)
      expect(req.stream).toBe(true)
      expect(JSON.stringify(req)).toContain("You are a test.")
      if (w.name === "openai") {
        expect(req.stream_options).toEqual({ include_usage: true })
        expect(req.messages[0]).toEqual({ role: "system", content: "You are a test." })
      } else {
        expect(req.system[0].text).toBe("You are a test.")
        expect(req.max_tokens).toBe(512)
      }
    })

    test("tool call: id, name and parsed input; tools sent as schemas", async () => {
      fake.push({ toolCalls: [{ name: "read", args: { path: "notes/a.md", lines: 20 } }] })
      const evs = await collect(model)
      const calls = evs.filter((e) => e.type === "tool-call")
      expect(calls).toHaveLength(1)
      expect(calls[0]).toMatchObject({ type: "tool-call", toolName: "read", input: { path: "notes/a.md", lines: 20 } })
      expect((calls[0] as { toolCallId: string }).toolCallId.startsWith(w.toolIdPrefix)).toBe(true)
      expect(evs.at(-1)).toMatchObject({ type: "finish", finishReason: "tool-calls" })
      const req = fake.requests.at(-1)
      const sent = w.name === "openai" ? req.tools[0].function : req.tools[0]
      expect(sent.name).toBe("read")
      expect(sent.description).toBe("Read a file")
      const schema = w.name === "openai" ? sent.parameters : sent.input_schema
      expect(schema.properties.path).toEqual({ type: "string" })
      expect(schema.required).toEqual(["path"])
      expect(schema.$schema).toBeUndefined()
    })

    test("text and two tool calls in one response", async () => {
      fake.push({
        text: ["Let me ", "look."],
        toolCalls: [
          { name: "read", args: { path: "a" } },
          { name: "read", args: { path: "b" } },
        ],
      })
      const evs = await collect(model)
      expect(evs.map((e) => e.type)).toEqual(["text-delta", "text-delta", "tool-call", "tool-call", "finish"])
      const calls = evs.filter((e): e is Extract<ModelEvent, { type: "tool-call" }> => e.type === "tool-call")
      expect(calls.map((c) => c.input)).toEqual([{ path: "a" }, { path: "b" }])
      expect(new Set(calls.map((c) => c.toolCallId)).size).toBe(2)
    })

    test("an unparsable tool input is passed on raw (the runtime answers it with an error)", async () => {
      fake.push({ toolCalls: [{ name: "read", args: '{"path": "a' }] })
      const evs = await collect(model)
      const call = evs.find((e) => e.type === "tool-call")
      expect(call).toMatchObject({ toolName: "read", input: '{"path": "a' })
      expect(evs.at(-1)).toMatchObject({ type: "finish", finishReason: "tool-calls" })
    })

    test("history replay: summary, tool calls paired with results, system notes", async () => {
      fake.push({ text: "done" })
      const history: TranscriptMessage[] = [
        { role: "user", content: "read two files" },
        { role: "summary", content: "The user likes tea.", tokensBefore: 5000 },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Reading." },
            { type: "tool-call", toolCallId: "c1", toolName: "read", input: { path: "a.txt" } },
            { type: "tool-call", toolCallId: "c2", toolName: "read", input: { path: "b.txt" } },
          ],
        },
        { role: "tool", toolCallId: "c1", toolName: "read", content: "contents of a", isError: false },
        { role: "tool", toolCallId: "c2", toolName: "read", content: "ENOENT: b.txt", isError: true },
        { role: "system", content: "a cron job fired" },
        { role: "user", content: "thanks" },
      ]
      const evs = await collect(model, { messages: history })
      expect(evs.at(-1)?.type).toBe("finish")
      const req = fake.requests.at(-1)
      if (w.name === "openai") {
        const msgs = req.messages as { role: string; content: unknown; tool_calls?: unknown[]; tool_call_id?: string }[]
        expect(msgs.map((m) => m.role)).toEqual(["system", "user", "user", "assistant", "tool", "tool", "user", "user"])
        expect(msgs[1]!.content).toBe(`${SUMMARY_PREFIX}The user likes tea.`)
        expect(msgs[3]!.content).toBe("Reading.")
        expect(msgs[3]!.tool_calls).toEqual([
          { id: "c1", type: "function", function: { name: "read", arguments: JSON.stringify({ path: "a.txt" }) } },
          { id: "c2", type: "function", function: { name: "read", arguments: JSON.stringify({ path: "b.txt" }) } },
        ])
        expect(msgs[4]).toMatchObject({ role: "tool", tool_call_id: "c1", content: "contents of a" })
        expect(msgs[5]).toMatchObject({ role: "tool", tool_call_id: "c2" })
        expect(String(msgs[5]!.content)).toContain("ENOENT: b.txt")
        expect(msgs[6]!.content).toBe("[system] a cron job fired")
      } else {
        const msgs = req.messages as { role: string; content: { type: string; [k: string]: unknown }[] }[]
        expect(msgs[0]!.role).toBe("user")
        expect(msgs[0]!.content[0]).toMatchObject({ type: "text", text: `${SUMMARY_PREFIX}The user likes tea.` })
        const assistant = msgs.find((m) => m.role === "assistant")!
        expect(assistant.content.filter((p) => p.type === "tool_use")).toEqual([
          expect.objectContaining({ type: "tool_use", id: "c1", name: "read", input: { path: "a.txt" } }),
          expect.objectContaining({ type: "tool_use", id: "c2", name: "read", input: { path: "b.txt" } }),
        ])
        const after = msgs[msgs.indexOf(assistant) + 1]!
        expect(after.role).toBe("user")
        const results = after.content.filter((p) => p.type === "tool_result")
        expect(results.map((r) => r.tool_use_id)).toEqual(["c1", "c2"])
        expect(JSON.stringify(results[0]!.content)).toContain("contents of a")
        expect(results[0]!.is_error).toBeFalsy()
        expect(results[1]!.is_error).toBe(true)
        expect(JSON.stringify(msgs)).toContain("[system] a cron job fired")
      }
    })

    test("401 → auth, not retryable", async () => {
      fake.push({ error: { status: 401 } })
      const err = lastError(await collect(model))
      expect(err).toBeInstanceOf(ModelCallError)
      expect(err).toMatchObject({ kind: "auth", retryable: false, status: 401 })
    })

    test("429 → rate_limit, retryable, with Retry-After", async () => {
      fake.push({ error: { status: 429, headers: { "retry-after": "2" } } })
      const err = lastError(await collect(model))
      expect(err).toMatchObject({ kind: "rate_limit", retryable: true, status: 429, retryAfterMs: 2000 })
    })

    test("500 → server, retryable", async () => {
      fake.push({ error: { status: 500 } })
      expect(lastError(await collect(model))).toMatchObject({ kind: "server", retryable: true, status: 500 })
    })

    test("529 → overloaded, retryable", async () => {
      fake.push({ error: { status: 529 } })
      expect(lastError(await collect(model))).toMatchObject({ kind: "overloaded", retryable: true, status: 529 })
    })

    test("context overflow → context_length, not retryable", async () => {
      fake.push({ error: { status: 400, body: w.overflowBody } })
      const err = lastError(await collect(model))
      expect(err).toMatchObject({ kind: "context_length", retryable: false, status: 400 })
    })

    test("other 400 → invalid_request, not retryable", async () => {
      fake.push({ error: { status: 400 } })
      expect(lastError(await collect(model))).toMatchObject({ kind: "invalid_request", retryable: false })
    })

    test("an error event inside the stream is classified and ends the stream", async () => {
      fake.push(
        w.name === "openai"
          ? { text: "par", streamError: { message: "The server had an error", type: "server_error" } }
          : { text: "par", streamError: { message: "Overloaded", type: "overloaded_error" } },
      )
      const evs = await collect(model)
      expect(texts(evs)).toEqual(["par"])
      expect(evs.some((e) => e.type === "finish")).toBe(false)
      expect(lastError(evs)).toMatchObject({ kind: w.name === "openai" ? "server" : "overloaded", retryable: true })
    })

    test("mid-stream disconnect → network, retryable, no finish", async () => {
      fake.push({ text: ["a", "b", "c", "d", "e"], disconnectAfterChunks: 4 })
      const evs = await collect(model)
      expect(evs.some((e) => e.type === "finish")).toBe(false)
      expect(lastError(evs)).toMatchObject({ kind: "network", retryable: true })
      expect(texts(evs).join("").length).toBeLessThan(5)
    })

    test("a stream that ends cleanly without finishing → network, retryable", async () => {
      fake.push({ text: ["a", "b"], endWithoutFinish: true })
      const evs = await collect(model)
      expect(evs.some((e) => e.type === "finish")).toBe(false)
      expect(lastError(evs)).toMatchObject({ kind: "network", retryable: true })
    })

    test("abort mid-stream → aborted, promptly", async () => {
      fake.push({ text: ["partial"], hangUntilAborted: true })
      const ac = new AbortController()
      const evs: ModelEvent[] = []
      let abortedAt = 0
      for await (const ev of streamModel({ model, system: "s", messages: hi, tools, signal: ac.signal })) {
        evs.push(ev)
        if (ev.type === "text-delta") {
          abortedAt = performance.now()
          ac.abort()
        }
      }
      const took = performance.now() - abortedAt
      expect(abortedAt).toBeGreaterThan(0)
      expect(took).toBeLessThan(500)
      expect(texts(evs)).toEqual(["partial"])
      expect(lastError(evs)).toMatchObject({ kind: "aborted", retryable: false })
    })

    test("no data for idleTimeoutMs → timeout, retryable", async () => {
      fake.push({ text: ["x"], hangUntilAborted: true })
      const started = performance.now()
      const evs = await collect(model, { idleTimeoutMs: 150 })
      expect(performance.now() - started).toBeLessThan(1500)
      expect(lastError(evs)).toMatchObject({ kind: "timeout", retryable: true })
    })

    test("usage: cache reads and writes are mapped; input counts every prompt token", async () => {
      fake.push({ text: "ok", usage: { input: 100, output: 7, cacheRead: 40, cacheWrite: w.name === "anthropic" ? 20 : 0 } })
      const fin = (await collect(model)).at(-1)
      if (w.name === "openai")
        expect(fin).toEqual({ type: "finish", finishReason: "stop", usage: { input: 140, output: 7, cacheRead: 40, cacheWrite: 0, total: 147, cost: 0 } })
      else expect(fin).toEqual({ type: "finish", finishReason: "stop", usage: { input: 160, output: 7, cacheRead: 40, cacheWrite: 20, total: 167, cost: 0 } })
    })

    test("max-tokens stop → finishReason length", async () => {
      fake.push({ text: "trunc", finishReason: w.name === "openai" ? "length" : "max_tokens" })
      expect((await collect(model)).at(-1)).toMatchObject({ type: "finish", finishReason: "length" })
    })
  })
}

describe("streamModel without a reachable server", () => {
  test("connection refused → network, retryable", async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") })
    const url = `http://127.0.0.1:${probe.port}/v1`
    await probe.stop(true)
    const cfg = ConfigSchema.parse({ models: { providers: { dead: { baseUrl: url } } } }).models
    const evs = await collect(await resolveModel("dead/m", cfg, {}))
    expect(evs).toHaveLength(1)
    expect(lastError(evs)).toMatchObject({ kind: "network", retryable: true })
  })

  test("a network error names the URL it tried (Ollama: and whether it runs)", async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") })
    const url = `http://127.0.0.1:${probe.port}/v1`
    await probe.stop(true)
    const cfg = ConfigSchema.parse({ models: { providers: { ollama: { baseUrl: url } } } }).models
    const err = lastError(await collect(await resolveModel("ollama/llama3", cfg, {})))
    expect(err.kind).toBe("network")
    expect(err.message).toStartWith("network error: ")
    expect(err.message).toEndWith(` (ollama at ${url}; is Ollama running? (ollama serve))`)
  })

  test("an already-aborted signal yields aborted without a request", async () => {
    const fake = startFakeOpenAI([{ text: "never" }])
    try {
      const cfg = ConfigSchema.parse({ models: { providers: { f: { baseUrl: fake.url } } } }).models
      const ac = new AbortController()
      ac.abort()
      const evs = await collect(await resolveModel("f/m", cfg, {}), { signal: ac.signal })
      expect(evs).toHaveLength(1)
      expect(lastError(evs).kind).toBe("aborted")
      expect(fake.requests).toHaveLength(0)
    } finally {
      await fake.stop()
    }
  })
})

describe("toModelMessages", () => {
  test("keeps tool calls paired: missing results are synthesised, orphans dropped, empty assistants skipped", () => {
    const out = toModelMessages([
      { role: "user", content: "go" },
      { role: "assistant", content: [] },
      {
        role: "assistant",
        content: [
          { type: "tool-call", toolCallId: "a", toolName: "read", input: {} },
          { type: "tool-call", toolCallId: "b", toolName: "exec", input: { cmd: "ls" } },
        ],
      },
      { role: "tool", toolCallId: "b", toolName: "exec", content: "x", isError: false },
      { role: "tool", toolCallId: "zzz", toolName: "read", content: "orphan", isError: false },
      { role: "user", content: "next" },
      { role: "tool", toolCallId: "a", toolName: "read", content: "too late", isError: false },
    ])
    expect(out.map((m) => m.role)).toEqual(["user", "assistant", "tool", "user"])
    const tool = out[2] as Extract<(typeof out)[number], { role: "tool" }>
    expect(tool.content.map((p) => (p.type === "tool-result" ? [p.toolCallId, p.toolName, p.output.type] : []))).toEqual([
      ["a", "read", "error-text"],
      ["b", "exec", "text"],
    ])
    expect(JSON.stringify(out)).not.toContain("orphan")
    expect(JSON.stringify(out)).not.toContain("too late")
  })

  test("only the latest summary is used, and it comes first", () => {
    const out = toModelMessages([
      { role: "summary", content: "old", tokensBefore: 1 },
      { role: "user", content: "q" },
      { role: "summary", content: "new", tokensBefore: 2 },
    ])
    expect(out).toEqual([
      { role: "user", content: `${SUMMARY_PREFIX}new` },
      { role: "user", content: "q" },
    ])
  })
})

describe("classifyModelError", () => {
  test("plain errors and provider error objects", () => {
    expect(classifyModelError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toMatchObject({ kind: "network", retryable: true })
    expect(classifyModelError({ type: "rate_limit_error", message: "slow down" })).toMatchObject({ kind: "rate_limit", retryable: true })
    expect(classifyModelError({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })).toMatchObject({
      kind: "overloaded",
      retryable: true,
    })
    expect(classifyModelError(new DOMException("x", "AbortError"))).toMatchObject({ kind: "aborted", retryable: false })
    expect(classifyModelError(new Error("something odd"))).toMatchObject({ kind: "unknown", retryable: false })
    expect(classifyModelError(new Error("Input is too long for requested model."))).toMatchObject({ kind: "context_length", retryable: false })
  })

  test("an aborted signal wins; a TimeoutError reason means timeout", () => {
    const ac = new AbortController()
    ac.abort()
    expect(classifyModelError(new Error("fetch failed"), ac.signal).kind).toBe("aborted")
    const t = new AbortController()
    t.abort(new DOMException("run timed out", "TimeoutError"))
    expect(classifyModelError(new Error("whatever"), t.signal).kind).toBe("timeout")
  })
})

describe("fake servers", () => {
  let oai: FakeServer
  let ant: FakeServer
  beforeAll(() => {
    oai = startFakeOpenAI((body) => ({ text: `echo ${body.model}`, toolCalls: [{ name: "t", args: { a: 1 } }] }))
    ant = startFakeAnthropic((body) => ({ text: `echo ${body.model}`, toolCalls: [{ name: "t", args: { a: 1 } }] }))
  })
  afterAll(async () => {
    await oai.stop()
    await ant.stop()
  })

  test("non-streaming JSON answers in the real shapes", async () => {
    const o = (await (
      await fetch(`${oai.url}/chat/completions`, { method: "POST", body: JSON.stringify({ model: "m1", messages: [] }) })
    ).json()) as FakeRequestBody
    expect(o.object).toBe("chat.completion")
    expect(o.choices[0].message).toMatchObject({
      role: "assistant",
      content: "echo m1",
      tool_calls: [{ type: "function", function: { name: "t", arguments: '{"a":1}' } }],
    })
    expect(o.choices[0].finish_reason).toBe("tool_calls")
    const a = (await (await fetch(`${ant.url}/messages`, { method: "POST", body: JSON.stringify({ model: "m2", messages: [] }) })).json()) as FakeRequestBody
    expect(a.type).toBe("message")
    expect(a.content).toEqual([{ type: "text", text: "echo m2" }, expect.objectContaining({ type: "tool_use", name: "t", input: { a: 1 } })])
    expect(a.stop_reason).toBe("tool_use")
  })

  test("OpenAI SSE: role chunk first, usage only when asked, [DONE] last", async () => {
    const sse = async (includeUsage: boolean) =>
      (
        await fetch(`${oai.url}/chat/completions`, {
          method: "POST",
          body: JSON.stringify({ model: "m", stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) }),
        })
      ).text()
    const withUsage = await sse(true)
    const frames = withUsage.trim().split("\n\n")
    expect(JSON.parse(frames[0]!.slice(6)).choices[0].delta.role).toBe("assistant")
    expect(frames.at(-1)).toBe("data: [DONE]")
    expect(JSON.parse(frames.at(-2)!.slice(6))).toMatchObject({ choices: [], usage: { prompt_tokens: 10 } })
    expect(await sse(false)).not.toContain('"prompt_tokens"')
  })

  test("Anthropic SSE: named events from message_start to message_stop", async () => {
    const text = await (await fetch(`${ant.url}/messages`, { method: "POST", body: JSON.stringify({ model: "m", stream: true }) })).text()
    const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])
    expect(events[0]).toBe("message_start")
    expect(events.slice(-2)).toEqual(["message_delta", "message_stop"])
    expect(text).toContain('"type":"input_json_delta"')
  })

  test("standalone process prints its URL and serves the script", async () => {
    const dir = await import("node:fs").then((fs) => fs.mkdtempSync(`${process.env.HOME}/fake-`))
    const file = `${dir}/script.json`
    await Bun.write(file, JSON.stringify([{ text: "from file" }]))
    const proc = Bun.spawn(["bun", `${import.meta.dir}/../../fakes/openai.ts`, "--script", file], { stdout: "pipe", stderr: "ignore" })
    try {
      const reader = proc.stdout.getReader()
      let out = ""
      while (!out.includes("\n")) {
        const { value, done } = await reader.read()
        if (done) break
        out += new TextDecoder().decode(value)
      }
      const { url } = JSON.parse(out.split("\n")[0]!) as { url: string }
      const res = (await (
        await fetch(`${url}/chat/completions`, { method: "POST", body: JSON.stringify({ model: "m", messages: [] }) })
      ).json()) as FakeRequestBody
      expect(res.choices[0].message.content).toBe("from file")
    } finally {
      proc.kill()
      await proc.exited
    }
  })
})
