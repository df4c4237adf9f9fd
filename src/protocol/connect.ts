/** The handshake: connect.challenge, ConnectParams, roles and scopes, and the hello-ok reply. */
import { z } from "zod"
import { withParser } from "zod/v4/core"
import { StateVersion } from "./frames.ts"
import { HealthSummary } from "./methods/system.ts"
import { connectParams } from "./validators.gen.ts"

export { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from "./core.ts"

export const Role = z.enum(["operator", "node"])
export type Role = z.infer<typeof Role>

export const ClientMode = z.enum(["webchat", "cli", "ui", "backend", "node", "worker", "probe", "test"])
export type ClientMode = z.infer<typeof ClientMode>

export const ClientInfo = z.object({
  // OpenClaw's own ids are an enum; other agents send their own names, so any short id is accepted.
  id: z.string().min(1).max(128),
  displayName: z.string().max(256).optional(),
  version: z.string().max(128),
  platform: z.string().max(128),
  deviceFamily: z.string().max(128).optional(),
  modelIdentifier: z.string().max(256).optional(),
  mode: ClientMode,
  instanceId: z.string().max(256).optional(),
})
export type ClientInfo = z.infer<typeof ClientInfo>

export const ConnectAuth = z.object({
  token: z.string().optional(),
  password: z.string().optional(),
  deviceToken: z.string().optional(),
  bootstrapToken: z.string().optional(),
})

/**
 * Parsed by the parser zod's compiler generated from this very schema (validators.gen.ts, installed with zod's
 * `withParser`): a gateway's first connect does not wait for zod to interpret the schema (~1 ms at start-up, when
 * zod runs jitless); rejected params fall back to the schema, so the issues are zod's as before.
 */
const ConnectParamsSchema = z.object({
  minProtocol: z.number().int(),
  maxProtocol: z.number().int(),
  client: ClientInfo,
  caps: z.array(z.string()).optional(),
  commands: z.array(z.string()).optional(),
  permissions: z.record(z.string(), z.boolean()).optional(),
  pathEnv: z.string().optional(),
  role: z.string().optional(),
  scopes: z.array(z.string()).optional(),
  device: z.object({ id: z.string(), publicKey: z.string(), signature: z.string(), signedAt: z.number(), nonce: z.string().optional() }).optional(),
  auth: ConnectAuth.optional(),
  locale: z.string().optional(),
  userAgent: z.string().optional(),
})
// The generated module spells zod's INVALID sentinel itself (Symbol.for), so its parser's type names another symbol.
type CompiledParser = Parameters<typeof withParser<typeof ConnectParamsSchema>>[1]
export const ConnectParams: typeof ConnectParamsSchema = withParser(ConnectParamsSchema, connectParams as unknown as CompiledParser)
export type ConnectParams = z.infer<typeof ConnectParamsSchema>

export const ConnectChallenge = z.object({ nonce: z.string(), ts: z.number() })

export const PresenceEntry = z.object({
  host: z.string().optional(),
  ip: z.string().optional(),
  version: z.string().optional(),
  platform: z.string().optional(),
  deviceFamily: z.string().optional(),
  mode: z.string().optional(),
  reason: z.string().optional(),
  text: z.string().optional(),
  ts: z.number(),
  deviceId: z.string().optional(),
  roles: z.array(z.string()).optional(),
  scopes: z.array(z.string()).optional(),
  instanceId: z.string().optional(),
  connId: z.string().optional(),
})
export type PresenceEntry = z.infer<typeof PresenceEntry>

export const SessionDefaults = z.object({
  defaultAgentId: z.string(),
  modelConfigured: z.boolean(),
  mainKey: z.string(),
  mainSessionKey: z.string(),
  scope: z.string(),
})

export const Policy = z.object({
  maxPayload: z.number().int(),
  maxBufferedBytes: z.number().int(),
  tickIntervalMs: z.number().int(),
})
export type Policy = z.infer<typeof Policy>

export const HelloOk = z.object({
  type: z.literal("hello-ok"),
  protocol: z.number().int(),
  server: z.object({ version: z.string(), connId: z.string(), bootId: z.string().optional() }),
  features: z.object({ methods: z.array(z.string()), events: z.array(z.string()) }),
  snapshot: z.object({
    presence: z.array(PresenceEntry),
    // Lazy: the health schema is built only when a hello-ok is validated or exported, not when this module loads.
    health: z.lazy(() => HealthSummary()),
    stateVersion: StateVersion,
    uptimeMs: z.number(),
    sessionDefaults: SessionDefaults,
    configPath: z.string().optional(),
    stateDir: z.string().optional(),
    authMode: z.string().optional(),
  }),
  auth: z.object({ method: z.string().optional(), role: Role, scopes: z.array(z.string()) }),
  policy: Policy,
})
export type HelloOk = z.infer<typeof HelloOk>
