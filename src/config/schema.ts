/**
 * The config file's schema: the single source of its types, its defaults, its JSON Schema and the README reference.
 * Every object is strict, so a misspelt key is an error that names its path instead of a silently ignored setting.
 */
import ipaddr from "ipaddr.js"
import { z } from "zod"
import { isHookVariable } from "../agent/tools/hook-env.ts"
import { AgentsList, Bindings, checkBindings } from "./agents-schema.ts"
import { Channels, Session } from "./channels-schema.ts"
import { Cron, Heartbeat } from "./cron-schema.ts"
import { ControlUi, Tls, TrustedProxies, TrustedProxyAuth } from "./exposure-schema.ts"
import { Memory } from "./memory-schema.ts"
import { NodeHost } from "./node-schema.ts"
import { Skills } from "./skills-schema.ts"
import { Browser, WebSearch } from "./web-schema.ts"

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
      .enum(["token", "password", "none", "trusted-proxy"])
      .optional()
      .describe(
        "How clients authenticate. Default: token (a token is generated on first run for loopback binds). 'none' is only allowed on loopback; 'trusted-proxy' needs gateway.trustedProxies",
      ),
    token: z.string().min(8).optional().describe("Shared token clients send in connect.auth.token (env GATEWAY_TOKEN overrides)"),
    password: z.string().min(1).optional().describe("Shared password clients send in connect.auth.password (env GATEWAY_PASSWORD overrides)"),
    rateLimit: RateLimit.prefault({}),
    trustedProxy: TrustedProxyAuth.prefault({}),
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
    tls: Tls.prefault({}),
    controlUi: ControlUi.prefault({}),
    trustedProxies: TrustedProxies,
    handshakeTimeoutMs: z.number().int().min(100).max(120_000).default(15_000).describe("Close sockets that have not completed connect within this time"),
    maxPayloadBytes: z
      .number()
      .int()
      .min(65_536)
      .default(25 * 1024 * 1024)
      .describe("Largest accepted frame after the handshake"),
    preauth: z
      .strictObject({
        maxPerAddress: z
          .number()
          .int()
          .min(1)
          .default(4)
          .describe("Sockets one address (an IPv6 /64) may hold open before completing connect; more upgrades are refused with HTTP 429"),
        maxTotal: z
          .number()
          .int()
          .min(1)
          .default(32)
          .describe("Sockets all addresses together may hold open before completing connect; more are refused with HTTP 503"),
      })
      .prefault({})
      .describe(
        "Caps on unauthenticated sockets: Bun buffers up to maxPayloadBytes of a frame per socket before the gateway sees it, so these bound that memory",
      ),
    maxBufferedBytes: z
      .number()
      .int()
      .min(4096)
      // Bun's own per-socket backpressure limit is 64 MiB; past it sends would be dropped silently.
      .max(64 * 1024 * 1024)
      .default(50 * 1024 * 1024)
      .describe("Per-connection send buffer limit; beyond it events are dropped and replies close the socket (slow consumer)"),
    tickIntervalMs: z.number().int().min(1000).default(30_000).describe("Interval of tick events"),
    healthIntervalMs: z.number().int().min(1000).default(60_000).describe("Interval of health events"),
    reload: z
      .strictObject({
        mode: z
          .enum(["hybrid", "off"])
          .default("hybrid")
          .describe("hybrid: apply safe changes live and ask for a restart for the rest; off: ignore file changes"),
        debounceMs: z.number().int().min(0).default(300).describe("Wait this long after a file change before reloading"),
      })
      .prefault({}),
  })
  .describe("The listener: port, bind address, auth and protocol limits")

const Logging = z
  .strictObject({
    level: z.enum(["debug", "info", "warn", "error"]).default("info").describe("Lowest level written to the console and the log file"),
    file: z.string().optional().describe("JSONL log file. Default: <state dir>/logs/gateway.jsonl"),
    maxFileBytes: z
      .number()
      .int()
      .min(65_536)
      .default(10 * 1024 * 1024)
      .describe("Rotate the log file (to .1) beyond this size"),
    console: z.enum(["pretty", "json", "off"]).default("pretty").describe("Console (stderr) format"),
  })
  .describe("Logging")

const ModelDef = z.strictObject({
  id: z.string().min(1).describe("Model id as the provider names it"),
  name: z.string().optional().describe("Display name"),
  contextWindow: z.number().int().positive().optional().describe("Context window in tokens"),
  maxTokens: z.number().int().positive().optional().describe("Output token limit per call"),
  reasoning: z.boolean().optional().describe("Whether the model reasons (thinking)"),
  cost: z
    .strictObject({ input: z.number().min(0).describe("USD per million input tokens"), output: z.number().min(0).describe("USD per million output tokens") })
    .optional()
    .describe("Prices, for per-run cost and agents.defaults.budget.dailyCostUsd"),
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

const AgentDefaults = z
  .strictObject({
    model: z.string().optional().describe("Model for this agent as provider/model (default: models.default)"),
    timeoutSeconds: z.number().int().min(1).max(2_000_000).default(600).describe("A run is aborted after this long"),
    modelIdleSeconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(120)
      .describe("A model call that sends nothing for this long is cut off and retried (it no longer holds its session and run slot)"),
    maxSteps: z.number().int().min(1).max(500).default(40).describe("Most model calls in one run (each tool round is one)"),
    deltas: z
      .strictObject({
        intervalMs: z.number().int().min(0).max(5000).default(100).describe("At most one streamed text event per this interval"),
        growthRatio: z.number().min(0).max(10).default(0.25).describe("Once the text is long, the next event waits until it grew by this fraction"),
        growthAfterChars: z.number().int().min(0).default(1000).describe("Text length from which growthRatio applies"),
      })
      .prefault({})
      .describe("Streamed text is coalesced (every event carries the whole reply so far, as OpenClaw's clients expect)"),
    maxConcurrent: z.number().int().min(1).default(4).describe("Runs executing at once across all sessions"),
    queueMode: z
      .enum(["followup", "collect", "steer"])
      .default("followup")
      .describe(
        "Messages arriving mid-run: followup = next turn each; collect = merged into one next turn; steer = injected into the running turn at the next step",
      ),
    contextTokens: z.number().int().min(1000).optional().describe("Cap on the context window used (default: the model's)"),
    compaction: z
      .strictObject({
        reserveTokens: z.number().int().min(0).default(16_384).describe("Compact when the context would leave less than this free"),
        keepRecentTokens: z.number().int().min(0).default(20_000).describe("Recent history kept verbatim by a compaction"),
        memoryFlush: z
          .boolean()
          .default(true)
          .describe(
            "Before a compaction, a silent turn lets the model append durable notes to memory/<YYYY-MM-DD>.md (needs memory.enabled and the write tool)",
          ),
      })
      .prefault({}),
    budget: z
      .strictObject({
        dailyTokens: z.number().int().positive().optional().describe("Stop runs once this many tokens were used today (UTC)"),
        dailyCostUsd: z.number().positive().optional().describe("Stop runs once this much was spent today (UTC)"),
      })
      .prefault({}),
    bootstrapMaxChars: z.number().int().min(100).default(12_000).describe("Per workspace file injected into the system prompt"),
    bootstrapTotalMaxChars: z.number().int().min(100).default(40_000).describe("All workspace files together"),
    subagents: z
      .strictObject({
        maxDepth: z.number().int().min(0).max(5).default(1).describe("How deep sub-agents may spawn sub-agents (0 = none)"),
        maxChildren: z.number().int().min(0).default(5).describe("Concurrent sub-agents per parent session"),
      })
      .prefault({}),
    heartbeat: Heartbeat.prefault({}),
  })
  .describe("Defaults for every agent")

const Agents = z.strictObject({ defaults: AgentDefaults.prefault({}), list: AgentsList }).describe("Agents")

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i

/** One tools.web.allowPrivate entry, checked here so a typo is a config error rather than an allowance that never applies. */
function isAllowPrivateEntry(entry: string): boolean {
  const slash = entry.indexOf("/")
  if (slash >= 0) return ipaddr.IPv4.isValidCIDRFourPartDecimal(entry) || ipaddr.IPv6.isValidCIDR(entry)
  if (ipaddr.IPv4.isValidFourPartDecimal(entry) || ipaddr.IPv6.isValid(entry)) return !entry.includes("%")
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(entry)
  if (!m || (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535))) return false
  if (m[1] !== undefined) return ipaddr.IPv6.isValid(m[1]) && !m[1].includes("%")
  const host = m[2]!
  // A name whose last label is a number would be read as an IPv4 address by URL parsers: only dotted quads are taken.
  return ipaddr.IPv4.isValidFourPartDecimal(host) || (HOST_NAME.test(host) && !/(^|\.)(\d+|0x[0-9a-f]*)\.?$/i.test(host))
}

const AllowPrivateEntry = z
  .string()
  .refine(isAllowPrivateEntry, { message: "expected a host, host:port, IP address, IP:port, [IPv6]:port or CIDR such as 192.168.1.0/24" })

const Tools = z
  .strictObject({
    allow: z.array(z.string()).optional().describe("Only these tools (names or * wildcards); default: all"),
    deny: z.array(z.string()).default([]).describe("Never these tools (wins over allow)"),
    fs: z
      .strictObject({
        roots: z.array(z.string()).optional().describe("Directories file tools may touch (default: the workspace); no escape by .. or symlinks"),
      })
      .prefault({}),
    exec: z
      .strictObject({
        mode: z
          .enum(["deny", "allowlist", "ask", "full"])
          .default("ask")
          .describe(
            "deny: never; allowlist: only listed programs, no shell operators; ask: an operator approves each command (exec.approval.resolve); full: anything",
          ),
        allowlist: z.array(z.string()).default([]).describe("Program names (or absolute paths) allowed in allowlist mode and run without asking in ask mode"),
        timeoutSeconds: z.number().int().min(1).default(1800).describe("Kill a command after this long"),
        backgroundAfterMs: z
          .number()
          .int()
          .min(0)
          .default(10_000)
          .describe("Move a still-running command to the background after this long (managed with the process tool)"),
        approvalTimeoutMs: z.number().int().min(1000).default(120_000).describe("An unanswered approval request is denied after this long"),
        sandbox: z
          .enum(["off", "bwrap"])
          .default("off")
          .describe(
            "bwrap: run every command in bubblewrap (the roots writable, the system read-only, private /tmp, the state home hidden, no network); commands fail with a clear error when bwrap is not installed",
          ),
        sandboxNetwork: z.boolean().default(false).describe("Let sandboxed commands use the network (tools.exec.sandbox bwrap)"),
        passEnv: z
          .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a variable name"))
          .default([])
          .refine((names) => !names.some(isHookVariable), {
            error: (issue) =>
              `${(issue.input as string[]).filter(isHookVariable).join(", ")}: variables that steer which program runs or what it loads cannot be passed to commands`,
          })
          .describe("Variables passed from the gateway's environment to commands besides PATH, locale, terminal, TZ, user and proxies (e.g. SSH_AUTH_SOCK)"),
        fullModeEnv: z
          .enum(["scrubbed", "inherit"])
          .default("scrubbed")
          .describe("Full mode only: inherit runs commands with the gateway's own environment and HOME (minus its secrets) instead of the scrubbed ones"),
      })
      .prefault({}),
    webFetch: z
      .strictObject({
        maxChars: z.number().int().min(100).default(50_000).describe("Readable text returned by web_fetch is cut here"),
        timeoutMs: z.number().int().min(100).default(30_000),
      })
      .prefault({}),
    web: z
      .strictObject({
        allowPrivate: z
          .array(AllowPrivateEntry)
          .default([])
          .describe(
            "Non-public hosts web tools may reach (web_fetch refuses loopback, private, link-local, metadata and other special addresses): host, host:port, IP, IP:port, [IPv6]:port or CIDR, e.g. 192.168.1.20:5000 or nas.lan. A CIDR never covers a cloud metadata address",
          ),
        search: WebSearch.prefault({}),
      })
      .prefault({}),
    browser: Browser.prefault({}),
  })
  .describe("Tool policy")

const Http = z
  .strictObject({
    chatCompletions: z
      .strictObject({ enabled: z.boolean().default(false).describe("Serve POST /v1/chat/completions (Bearer auth) on the gateway port") })
      .prefault({}),
  })
  .describe("Optional HTTP APIs")

export const ConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    gateway: Gateway.prefault({}),
    logging: Logging.prefault({}),
    models: Models.prefault({}),
    agents: Agents.prefault({}),
    tools: Tools.prefault({}),
    http: Http.prefault({}),
    channels: Channels.prefault({}),
    session: Session.prefault({}),
    memory: Memory.prefault({}),
    node: NodeHost.prefault({}),
    cron: Cron.prefault({}),
    skills: Skills.prefault({}),
    bindings: Bindings,
  })
  .superRefine(checkBindings)
  .describe("gateway.json")

export type Config = z.infer<typeof ConfigSchema>
export type ConfigInput = z.input<typeof ConfigSchema>

/** Paths whose change cannot be applied to a running listener; everything else is applied live. */
export const RESTART_PATHS = [
  "gateway.port",
  "gateway.bind",
  "gateway.auth.mode",
  "gateway.auth.token",
  "gateway.auth.password",
  "gateway.auth.trustedProxy",
  "gateway.tls",
  "gateway.trustedProxies",
  "gateway.maxPayloadBytes",
  "gateway.reload",
]

/** Paths whose values are secrets: redacted in config.get and in logs. */
export const SENSITIVE_KEYS = new Set([
  "token",
  "password",
  "apiKey",
  "botToken",
  "secret",
  "webhookSecret",
  "signingSecret",
  "privateKey",
  "accessToken",
  "refreshToken",
])
