/**
 * The config file's schema: the single source of its types, its defaults, its JSON Schema and the README reference.
 * Every object is strict, so a misspelt key is an error that names its path instead of a silently ignored setting.
 */
import { z } from "zod"

export const DEFAULT_PORT = 18789

const RateLimit = z
  .strictObject({
    maxAttempts: z.number().int().min(1).default(10).describe("Failed connect attempts allowed per address within windowMs"),
    windowMs: z.number().int().min(1000).default(60_000).describe("Window over which failed attempts are counted"),
    lockoutMs: z.number().int().min(1000).default(300_000).describe("How long an address is refused after too many failures"),
    exemptLoopback: z.boolean().default(true).describe("Never rate limit connections from 127.0.0.0/8 and ::1"),
  })
  .describe("Rate limit for failed authentication, per remote address")

const GatewayAuth = z
  .strictObject({
    mode: z
      .enum(["token", "password", "none"])
      .optional()
      .describe("How clients authenticate. Default: token (a token is generated on first run for loopback binds). 'none' is only allowed on loopback"),
    token: z.string().min(8).optional().describe("Shared token clients send in connect.auth.token (env GATEWAY_TOKEN overrides)"),
    password: z.string().min(1).optional().describe("Shared password clients send in connect.auth.password (env GATEWAY_PASSWORD overrides)"),
    rateLimit: RateLimit.prefault({}),
  })
  .describe("Client authentication")

const Gateway = z
  .strictObject({
    port: z.number().int().min(0).max(65535).default(DEFAULT_PORT).describe("TCP port for WebSocket and HTTP (env GATEWAY_PORT, flag --port)"),
    bind: z
      .string()
      .min(1)
      .default("loopback")
      .describe("Where to listen: 'loopback' (127.0.0.1), 'lan' (0.0.0.0) or an IP address. Anything but loopback needs a token or password"),
    auth: GatewayAuth.prefault({}),
    handshakeTimeoutMs: z.number().int().min(100).max(120_000).default(15_000).describe("Close sockets that have not completed connect within this time"),
    maxPayloadBytes: z.number().int().min(65_536).default(25 * 1024 * 1024).describe("Largest accepted frame after the handshake"),
    maxBufferedBytes: z
      .number()
      .int()
      .min(4096)
      .default(50 * 1024 * 1024)
      .describe("Per-connection send buffer limit; beyond it events are dropped and replies close the socket (slow consumer)"),
    tickIntervalMs: z.number().int().min(1000).default(30_000).describe("Interval of tick events"),
    healthIntervalMs: z.number().int().min(1000).default(60_000).describe("Interval of health events"),
    reload: z
      .strictObject({
        mode: z.enum(["hybrid", "off"]).default("hybrid").describe("hybrid: apply safe changes live and ask for a restart for the rest; off: ignore file changes"),
        debounceMs: z.number().int().min(0).default(300).describe("Wait this long after a file change before reloading"),
      })
      .prefault({}),
  })
  .describe("The listener: port, bind address, auth and protocol limits")

const Logging = z
  .strictObject({
    level: z.enum(["debug", "info", "warn", "error"]).default("info").describe("Lowest level written to the console and the log file"),
    file: z.string().optional().describe("JSONL log file. Default: <state dir>/logs/gateway.jsonl"),
    maxFileBytes: z.number().int().min(65_536).default(10 * 1024 * 1024).describe("Rotate the log file (to .1) beyond this size"),
    console: z.enum(["pretty", "json", "off"]).default("pretty").describe("Console (stderr) format"),
  })
  .describe("Logging")

const ModelDef = z.strictObject({
  id: z.string().min(1).describe("Model id as the provider names it"),
  name: z.string().optional().describe("Display name"),
  contextWindow: z.number().int().positive().optional().describe("Context window in tokens"),
  maxTokens: z.number().int().positive().optional().describe("Output token limit per call"),
  reasoning: z.boolean().optional().describe("Whether the model reasons (thinking)"),
})

const Provider = z
  .strictObject({
    api: z
      .enum(["openai-completions", "openai-responses", "anthropic-messages", "google-generative-ai"])
      .default("openai-completions")
      .describe("Wire format the provider speaks"),
    baseUrl: z.url().optional().describe("Base URL, e.g. http://127.0.0.1:11434/v1 for Ollama"),
    apiKey: z.string().optional().describe("API key (prefer apiKeyEnv so the key stays out of the file)"),
    apiKeyEnv: z.string().optional().describe("Name of the environment variable holding the API key"),
    headers: z.record(z.string(), z.string()).optional().describe("Extra HTTP headers sent with every request"),
    models: z.array(ModelDef).default([]).describe("Models this provider serves (listed by models.list)"),
  })
  .describe("A model provider")

const Models = z
  .strictObject({
    default: z.string().optional().describe("Default model as provider/model, e.g. anthropic/claude-sonnet-4-5"),
    fallbacks: z.array(z.string()).default([]).describe("Models tried in order when the default fails with a retryable error"),
    providers: z.record(z.string(), Provider).default({}).describe("Custom or overridden providers by id"),
  })
  .describe("Models and providers")

export const ConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    gateway: Gateway.prefault({}),
    logging: Logging.prefault({}),
    models: Models.prefault({}),
  })
  .describe("gateway.json")

export type Config = z.infer<typeof ConfigSchema>
export type ConfigInput = z.input<typeof ConfigSchema>

/** Paths whose change cannot be applied to a running listener; everything else is applied live. */
export const RESTART_PATHS = ["gateway.port", "gateway.bind", "gateway.auth.mode", "gateway.auth.token", "gateway.auth.password", "gateway.maxPayloadBytes"]

/** Paths whose values are secrets: redacted in config.get and in logs. */
export const SENSITIVE_KEYS = new Set(["token", "password", "apiKey", "botToken"])

export function defaultConfig(): Config {
  return ConfigSchema.parse({})
}
