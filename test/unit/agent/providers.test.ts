import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { ConfigSchema, type ConfigInput } from "../../../src/config/schema.ts"
import { streamModel } from "../../../src/agent/model-call.ts"
import type { ModelEvent } from "../../../src/agent/model-types.ts"
import { DEFAULT_CONTEXT_WINDOW, DEFAULT_MAX_TOKENS, ProviderError, resolveModel, splitModelRef, type ResolvedModel } from "../../../src/agent/providers.ts"
import { startFakeAnthropic } from "../../fakes/anthropic.ts"
import { startFakeOpenAI } from "../../fakes/openai.ts"
import type { FakeServer } from "../../fakes/common.ts"

const models = (m: ConfigInput["models"] = {}) => ConfigSchema.parse({ models: m }).models

async function providerError(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError)
    return err as ProviderError
  }
  throw new Error("expected resolveModel to throw")
}

async function run(model: ResolvedModel): Promise<ModelEvent[]> {
  const out: ModelEvent[] = []
  for await (const ev of streamModel({ model, system: "sys", messages: [{ role: "user", content: "hi" }], tools: [], signal: new AbortController().signal }))
    out.push(ev)
  return out
}

describe("splitModelRef", () => {
  test("splits at the first slash only", () => {
    expect(splitModelRef("openrouter/moonshotai/kimi-k2")).toEqual({ provider: "openrouter", modelId: "moonshotai/kimi-k2" })
    expect(splitModelRef("anthropic/claude-sonnet-4-5")).toEqual({ provider: "anthropic", modelId: "claude-sonnet-4-5" })
    expect(splitModelRef("gpt-4o")).toBeUndefined()
    expect(splitModelRef("/x")).toBeUndefined()
    expect(splitModelRef("x/")).toBeUndefined()
  })
})

describe("resolveModel: built-in providers", () => {
  test("anthropic from ANTHROPIC_API_KEY with default limits", async () => {
    const m = await resolveModel("anthropic/claude-sonnet-4-5", models(), { ANTHROPIC_API_KEY: "sk-ant" })
    expect(m).toMatchObject({ ref: "anthropic/claude-sonnet-4-5", provider: "anthropic", modelId: "claude-sonnet-4-5", api: "anthropic-messages" })
    expect(m.contextWindow).toBe(DEFAULT_CONTEXT_WINDOW)
    expect(m.maxTokens).toBe(DEFAULT_MAX_TOKENS)
    expect(DEFAULT_CONTEXT_WINDOW).toBe(200_000)
    expect(DEFAULT_MAX_TOKENS).toBe(8192)
    expect((m.languageModel as { provider: string }).provider).toContain("anthropic")
  })

  test("each built-in reaches its own endpoint with its own key", async () => {
    // Capture what the SDK would send instead of reaching the internet: a stub fetch answers 401.
    const cases: { ref: string; env: Record<string, string>; url: string; header: [string, string] | undefined }[] = [
      { ref: "anthropic/claude-x", env: { ANTHROPIC_API_KEY: "k-ant" }, url: "https://api.anthropic.com/v1/messages", header: ["x-api-key", "k-ant"] },
      { ref: "openai/gpt-4o", env: { OPENAI_API_KEY: "k-oai" }, url: "https://api.openai.com/v1/chat/completions", header: ["authorization", "Bearer k-oai"] },
      {
        ref: "google/gemini-2.5-pro",
        env: { GEMINI_API_KEY: "k-gem" },
        url: "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent",
        header: ["x-goog-api-key", "k-gem"],
      },
      {
        ref: "google/gemini-2.5-pro",
        env: { GOOGLE_GENERATIVE_AI_API_KEY: "k-gai" },
        url: "https://generativelanguage.googleapis.com/v1beta/",
        header: ["x-goog-api-key", "k-gai"],
      },
      {
        ref: "openrouter/moonshotai/kimi-k2",
        env: { OPENROUTER_API_KEY: "k-or" },
        url: "https://openrouter.ai/api/v1/chat/completions",
        header: ["authorization", "Bearer k-or"],
      },
      { ref: "ollama/llama3.2", env: {}, url: "http://127.0.0.1:11434/v1/chat/completions", header: undefined },
    ]
    const seen: { url: string; headers: Headers; body: string }[] = []
    const realFetch = globalThis.fetch
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      seen.push({ url: String(input instanceof Request ? input.url : input), headers: new Headers(init?.headers), body: String(init?.body ?? "") })
      return new Response(JSON.stringify({ error: { message: "stub says no", type: "authentication_error" } }), {
        status: 401,
        headers: { "content-type": "application/json" },
      })
    }) as typeof fetch
    try {
      for (const c of cases) {
        const m = await resolveModel(c.ref, models(), c.env)
        const events = await run(m)
        const last = seen.at(-1)!
        expect(last.url.startsWith(c.url)).toBe(true)
        if (c.header) expect(last.headers.get(c.header[0])).toBe(c.header[1])
        else expect(last.headers.get("authorization")).toBeNull()
        // the model id after the first slash is sent whole
        if (c.ref.startsWith("openrouter/")) expect(JSON.parse(last.body).model).toBe("moonshotai/kimi-k2")
        expect(events).toHaveLength(1)
        expect(events[0]).toMatchObject({ type: "error", error: { kind: "auth", retryable: false, status: 401 } })
      }
      expect(seen).toHaveLength(cases.length)
    } finally {
      globalThis.fetch = realFetch
    }
  })

  test("a missing key is an auth error that says how to fix it", async () => {
    const e = await providerError(resolveModel("anthropic/claude-sonnet-4-5", models(), {}))
    expect(e.kind).toBe("auth")
    expect(e.retryable).toBe(false)
    expect(e.message).toBe("no API key for provider anthropic: set ANTHROPIC_API_KEY or models.providers.anthropic.apiKeyEnv")
    const g = await providerError(resolveModel("google/gemini-2.5-pro", models(), {}))
    expect(g.message).toContain("GEMINI_API_KEY")
    expect(g.message).toContain("GOOGLE_GENERATIVE_AI_API_KEY")
    // process.env is not consulted when an env is passed
    process.env.OPENAI_API_KEY = "from-process-env"
    try {
      await providerError(resolveModel("openai/gpt-4o", models(), {}))
    } finally {
      delete process.env.OPENAI_API_KEY
    }
  })
})

describe("resolveModel: refs", () => {
  test("malformed refs and unknown providers are config errors", async () => {
    for (const ref of ["gpt-4o", "/gpt-4o", "openai/", ""]) {
      const e = await providerError(resolveModel(ref, models(), {}))
      expect(e.kind).toBe("config")
      expect(e.message).toContain("expected provider/model")
    }
    const e = await providerError(resolveModel("acme/model-1", models(), {}))
    expect(e.kind).toBe("config")
    expect(e.message).toContain('unknown provider "acme"')
    expect(e.message).toContain("models.providers.acme")
  })

  test("a bare name resolves when exactly one configured provider lists it", async () => {
    const cfg = models({ providers: { local: { baseUrl: "http://127.0.0.1:9/v1", models: [{ id: "qwen3:8b", name: "Qwen" }] } } })
    const m = await resolveModel("Qwen", cfg, {})
    expect(m.ref).toBe("local/qwen3:8b")
  })
})

describe("resolveModel: configured providers", () => {
  let oai: FakeServer
  let ant: FakeServer
  beforeAll(() => {
    oai = startFakeOpenAI()
    ant = startFakeAnthropic()
  })
  afterAll(async () => {
    await oai.stop()
    await ant.stop()
  })
  afterEach(() => {
    expect(oai.pending()).toBe(0)
    expect(ant.pending()).toBe(0)
  })

  test("custom openai-completions provider: baseUrl, apiKeyEnv, headers and model limits", async () => {
    const cfg = models({
      providers: {
        fake: {
          api: "openai-completions",
          baseUrl: oai.url,
          apiKeyEnv: "FAKE_KEY",
          headers: { "x-extra": "yes" },
          models: [{ id: "fake-model", contextWindow: 32_000, maxTokens: 1000 }],
        },
      },
    })
    const m = await resolveModel("fake/fake-model", cfg, { FAKE_KEY: "sk-from-env" })
    expect(m).toMatchObject({ provider: "fake", modelId: "fake-model", api: "openai-completions", contextWindow: 32_000, maxTokens: 1000 })
    oai.push({ text: "hello" })
    const events = await run(m)
    expect(events.map((e) => e.type)).toEqual(["text-delta", "finish"])
    const h = oai.headers.at(-1)!
    expect(h.authorization).toBe("Bearer sk-from-env")
    expect(h["x-extra"]).toBe("yes")
    expect(oai.requests.at(-1).model).toBe("fake-model")
    // maxTokens is the default output cap of a call
    expect(oai.requests.at(-1).max_tokens).toBe(1000)
  })

  test("apiKeyEnv naming an unset variable is an auth error naming it", async () => {
    const cfg = models({ providers: { fake: { baseUrl: oai.url, apiKeyEnv: "NOPE_KEY" } } })
    const e = await providerError(resolveModel("fake/m", cfg, {}))
    expect(e.kind).toBe("auth")
    expect(e.message).toContain("NOPE_KEY")
    expect(e.message).toContain("models.providers.fake.apiKeyEnv")
  })

  test("a literal apiKey wins over the environment", async () => {
    const cfg = models({ providers: { fake: { baseUrl: oai.url, apiKey: "sk-literal", apiKeyEnv: "FAKE_KEY" } } })
    oai.push({ text: "ok" })
    await resolveModel("fake/m", cfg, { FAKE_KEY: "sk-env" }).then(run)
    expect(oai.headers.at(-1)!.authorization).toBe("Bearer sk-literal")
  })

  test("custom openai-completions provider without a key sends no Authorization header", async () => {
    oai.push({ text: "ok" })
    const events = await resolveModel("local/m", models({ providers: { local: { baseUrl: oai.url } } }), {}).then(run)
    expect(events.at(-1)?.type).toBe("finish")
    expect(oai.headers.at(-1)!.authorization).toBeUndefined()
  })

  test("custom provider without a base URL is a config error", async () => {
    const e = await providerError(resolveModel("acme/m", models({ providers: { acme: { apiKey: "k" } } }), {}))
    expect(e.kind).toBe("config")
    expect(e.message).toContain("models.providers.acme.baseUrl")
  })

  test("overriding a built-in keeps its wire format and key variable", async () => {
    // `api` defaults to openai-completions in the schema; for the anthropic id that default must not switch the SDK.
    const cfg = models({ providers: { anthropic: { baseUrl: ant.url, models: [{ id: "claude-x", contextWindow: 100_000 }] } } })
    const m = await resolveModel("anthropic/claude-x", cfg, { ANTHROPIC_API_KEY: "sk-ant-env" })
    expect(m.api).toBe("anthropic-messages")
    expect(m.contextWindow).toBe(100_000)
    ant.push({ text: "hi from fake anthropic" })
    const events = await run(m)
    expect(events[0]).toEqual({ type: "text-delta", delta: "hi from fake anthropic" })
    expect(ant.headers.at(-1)!["x-api-key"]).toBe("sk-ant-env")
  })

  test("api: anthropic-messages on a custom id uses the Anthropic SDK", async () => {
    const cfg = models({ providers: { proxy: { api: "anthropic-messages", baseUrl: ant.url, apiKey: "sk-proxy" } } })
    const m = await resolveModel("proxy/claude-y", cfg, {})
    expect(m.api).toBe("anthropic-messages")
    ant.push({ text: "ok" })
    await run(m)
    expect(ant.requests.at(-1).model).toBe("claude-y")
    expect(ant.headers.at(-1)!["x-api-key"]).toBe("sk-proxy")
  })

  test("openai-responses and google-generative-ai resolve to their SDKs", async () => {
    const r = await resolveModel("oa/gpt-5", models({ providers: { oa: { api: "openai-responses", baseUrl: oai.url, apiKey: "k" } } }), {})
    expect(r.api).toBe("openai-responses")
    expect((r.languageModel as { provider: string }).provider).toContain("responses")
    const g = await resolveModel("gem/gemini-x", models({ providers: { gem: { api: "google-generative-ai", apiKey: "k" } } }), {})
    expect(g.api).toBe("google-generative-ai")
    expect((g.languageModel as { provider: string }).provider).toContain("google")
  })
})
