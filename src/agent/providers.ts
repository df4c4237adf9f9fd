/**
 * Model resolution: a `provider/model` ref plus `models.providers` config → an AI SDK language model with its limits.
 *
 * Built-in providers work without config (anthropic, openai, google, openrouter, ollama); `models.providers.<id>`
 * overrides a built-in (base URL, key, headers, model limits) or adds a new one, with `api` choosing the wire format.
 * The provider SDKs are imported lazily, so a gateway that never calls a model never loads them. Keys come only from
 * config and the `env` passed in (never from the SDKs' own process.env lookups), so tests and per-agent envs are
 * hermetic.
 */
import type { LanguageModel } from "ai"
import type { Config } from "../config/schema.ts"
import { NamedError } from "../util/named-error.ts"

export type ModelsConfig = Config["models"]
export type ProviderConfig = ModelsConfig["providers"][string]
export type ProviderApi = ProviderConfig["api"]

export interface ResolvedModel {
  /** Normalised `provider/model`. */
  ref: string
  provider: string
  modelId: string
  api: ProviderApi
  /** Tokens the model accepts (configured, else 200 000). */
  contextWindow: number
  /** Output tokens per call (configured, else 8192). */
  maxTokens: number
  /** Where requests go (named in network errors: "cannot connect" alone does not say to what). */
  baseUrl?: string
  languageModel: LanguageModel
}

/** Why a model ref cannot be used; never retryable (the same ref will fail the same way). */
export class ProviderError extends NamedError.create("ProviderError", (z) => z.object({ kind: z.enum(["config", "auth"]), message: z.string() })) {
  /** data.kind, where the run loop reads a failure's kind. */
  get kind(): "config" | "auth" {
    return this.data.kind
  }
  get retryable(): false {
    return false
  }
}

export const DEFAULT_CONTEXT_WINDOW = 200_000
export const DEFAULT_MAX_TOKENS = 8192

interface BuiltinProvider {
  api: ProviderApi
  baseUrl: string
  /** Environment variables tried in order for the key. */
  keyEnv: string[]
  /** Works without a key (local servers). */
  keyless?: boolean
}

const BUILTIN_PROVIDERS: Readonly<Record<string, BuiltinProvider>> = {
  anthropic: { api: "anthropic-messages", baseUrl: "https://api.anthropic.com/v1", keyEnv: ["ANTHROPIC_API_KEY"] },
  openai: { api: "openai-completions", baseUrl: "https://api.openai.com/v1", keyEnv: ["OPENAI_API_KEY"] },
  google: {
    api: "google-generative-ai",
    baseUrl: "https://generativelanguage.googleapis.com/v1beta",
    keyEnv: ["GEMINI_API_KEY", "GOOGLE_GENERATIVE_AI_API_KEY"],
  },
  openrouter: { api: "openai-completions", baseUrl: "https://openrouter.ai/api/v1", keyEnv: ["OPENROUTER_API_KEY"] },
  ollama: { api: "openai-completions", baseUrl: "http://127.0.0.1:11434/v1", keyEnv: ["OLLAMA_API_KEY"], keyless: true },
}

/**
 * Whether a provider has credentials, resolved as resolveModel resolves them but without building a model
 * (models.authStatus): config key, the configured variable, a built-in's variables, or none needed.
 */
export function providerAuthStatus(
  provider: string,
  config: ModelsConfig | undefined,
  env: Record<string, string | undefined> = process.env,
): { source: "config" | "env" | "none" | "keyless"; envVar?: string; known: boolean } {
  const builtin = Object.hasOwn(BUILTIN_PROVIDERS, provider) ? BUILTIN_PROVIDERS[provider] : undefined
  const custom = config?.providers && Object.hasOwn(config.providers, provider) ? config.providers[provider] : undefined
  const known = !!builtin || !!custom
  if (custom?.apiKey !== undefined) return { source: "config", known }
  if (custom?.apiKeyEnv) return env[custom.apiKeyEnv] ? { source: "env", envVar: custom.apiKeyEnv, known } : { source: "none", envVar: custom.apiKeyEnv, known }
  const found = builtin?.keyEnv.find((k) => !!env[k])
  if (found) return { source: "env", envVar: found, known }
  // A custom provider without any key setting is a keyless local server (resolveModel sends no key).
  if (builtin?.keyless || (custom && !builtin)) return { source: "keyless", known }
  return { source: "none", envVar: builtin?.keyEnv[0], known }
}

const REF_EXAMPLE = "e.g. anthropic/claude-sonnet-4-5 or openrouter/moonshotai/kimi-k2"

/** Splits `provider/model` at the first slash; undefined when either side is empty or there is no slash. */
export function splitModelRef(ref: string): { provider: string; modelId: string } | undefined {
  const trimmed = ref.trim()
  const i = trimmed.indexOf("/")
  if (i <= 0 || i === trimmed.length - 1) return undefined
  return { provider: trimmed.slice(0, i), modelId: trimmed.slice(i + 1) }
}

/** A bare model name matching exactly one configured model (by id or display name) resolves to it. */
function findBare(name: string, providers: Record<string, ProviderConfig>): { provider: string; modelId: string } | undefined {
  const hits: { provider: string; modelId: string }[] = []
  for (const [provider, p] of Object.entries(providers)) {
    for (const m of p.models ?? []) if (m.id === name || m.name === name) hits.push({ provider, modelId: m.id })
  }
  return hits.length === 1 ? hits[0] : undefined
}

export async function resolveModel(
  ref: string,
  config: ModelsConfig | undefined,
  env: Record<string, string | undefined> = process.env,
): Promise<ResolvedModel> {
  const providers: Record<string, ProviderConfig> = config?.providers ?? {}
  const parts = splitModelRef(ref) ?? findBare(ref.trim(), providers)
  if (!parts) {
    throw new ProviderError({ kind: "config", message: `invalid model ref "${ref}": expected provider/model (${REF_EXAMPLE})` })
  }
  const { provider, modelId } = parts
  const builtin = Object.hasOwn(BUILTIN_PROVIDERS, provider) ? BUILTIN_PROVIDERS[provider] : undefined
  const custom = Object.hasOwn(providers, provider) ? providers[provider] : undefined
  if (!builtin && !custom) {
    throw new ProviderError({
      kind: "config",
      message: `unknown provider "${provider}" in model ref "${ref}": built-in providers are ${Object.keys(BUILTIN_PROVIDERS).join(", ")}; add others under models.providers.${provider} (api, baseUrl, apiKeyEnv)`,
    })
  }

  // The schema defaults `api` to openai-completions, so for a built-in id that default cannot be told apart from
  // "not set": keep the built-in's own wire format unless another one is chosen explicitly.
  const api: ProviderApi = builtin && (!custom || custom.api === "openai-completions") ? builtin.api : (custom?.api ?? "openai-completions")
  const baseURL = custom?.baseUrl ?? builtin?.baseUrl
  const headers = custom?.headers

  let apiKey = custom?.apiKey
  if (apiKey === undefined && custom?.apiKeyEnv) {
    apiKey = env[custom.apiKeyEnv]
    if (!apiKey) {
      throw new ProviderError({
        kind: "auth",
        message: `no API key for provider ${provider}: the environment variable ${custom.apiKeyEnv} (models.providers.${provider}.apiKeyEnv) is not set`,
      })
    }
  }
  if (apiKey === undefined && builtin) apiKey = builtin.keyEnv.map((k) => env[k]).find((v) => !!v)
  if (!apiKey && builtin && !builtin.keyless) {
    const vars = builtin.keyEnv.length > 1 ? `${builtin.keyEnv[0]} (or ${builtin.keyEnv.slice(1).join(", ")})` : builtin.keyEnv[0]
    throw new ProviderError({ kind: "auth", message: `no API key for provider ${provider}: set ${vars} or models.providers.${provider}.apiKeyEnv` })
  }

  const def = custom?.models?.find((m) => m.id === modelId)
  const languageModel = await createLanguageModel({ provider, modelId, api, baseURL, apiKey, headers })
  return {
    ref: `${provider}/${modelId}`,
    provider,
    modelId,
    api,
    contextWindow: def?.contextWindow ?? DEFAULT_CONTEXT_WINDOW,
    maxTokens: def?.maxTokens ?? DEFAULT_MAX_TOKENS,
    baseUrl: baseURL,
    languageModel,
  }
}

interface SdkOptions {
  provider: string
  modelId: string
  api: ProviderApi
  baseURL: string | undefined
  /** Undefined or empty: the provider needs no key. */
  apiKey: string | undefined
  headers: Record<string, string> | undefined
}

/** Builds the AI SDK model. Keys are always passed explicitly (a placeholder when keyless) so no SDK reads process.env. */
async function createLanguageModel(o: SdkOptions): Promise<LanguageModel> {
  switch (o.api) {
    case "anthropic-messages": {
      const { createAnthropic } = await import("@ai-sdk/anthropic")
      return createAnthropic({ baseURL: o.baseURL ?? BUILTIN_PROVIDERS.anthropic!.baseUrl, apiKey: o.apiKey ?? "", headers: o.headers }).messages(o.modelId)
    }
    case "google-generative-ai": {
      const { createGoogle } = await import("@ai-sdk/google")
      return createGoogle({ baseURL: o.baseURL ?? BUILTIN_PROVIDERS.google!.baseUrl, apiKey: o.apiKey ?? "", headers: o.headers }).languageModel(o.modelId)
    }
    case "openai-responses": {
      const { createOpenAI } = await import("@ai-sdk/openai")
      return createOpenAI({
        baseURL: o.baseURL ?? BUILTIN_PROVIDERS.openai!.baseUrl,
        apiKey: o.apiKey || "none",
        headers: o.headers,
        name: o.provider,
      }).responses(o.modelId)
    }
    case "openai-completions": {
      if (o.provider === "openai") {
        const { createOpenAI } = await import("@ai-sdk/openai")
        return createOpenAI({ baseURL: o.baseURL, apiKey: o.apiKey || "none", headers: o.headers }).chat(o.modelId)
      }
      if (!o.baseURL) {
        throw new ProviderError({
          kind: "config",
          message: `provider ${o.provider} has no base URL: set models.providers.${o.provider}.baseUrl (e.g. http://127.0.0.1:11434/v1)`,
        })
      }
      const { createOpenAICompatible } = await import("@ai-sdk/openai-compatible")
      return createOpenAICompatible({ name: o.provider, baseURL: o.baseURL, apiKey: o.apiKey || undefined, headers: o.headers, includeUsage: true }).chatModel(
        o.modelId,
      )
    }
    default:
      throw new ProviderError({
        kind: "config",
        message: `provider ${o.provider} has an unknown api "${String(o.api)}": use openai-completions, openai-responses, anthropic-messages or google-generative-ai`,
      })
  }
}
