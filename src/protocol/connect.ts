/** The handshake: connect.challenge, ConnectParams, roles and scopes, and the hello-ok reply. */
import { z } from "zod"
import { StateVersion } from "./frames.ts"
import { lazySchema } from "./lazy.ts"
import { HealthSummary } from "./methods/system.ts"
import { connectParams } from "./validators.gen.ts"

export { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from "./core.ts"

export const Role = lazySchema(() => z.enum(["operator", "node"]))
export type Role = z.infer<typeof Role>

export const ClientMode = lazySchema(() => z.enum(["webchat", "cli", "ui", "backend", "node", "worker", "probe", "test"]))
export type ClientMode = z.infer<typeof ClientMode>

export const ClientInfo = lazySchema(() =>
  z.object({
    // OpenClaw's own ids are an enum; other agents send their own names, so any short id is accepted.
    id: z.string().min(1).max(128),
    displayName: z.string().max(256).optional(),
    version: z.string().max(128),
    platform: z.string().max(128),
    deviceFamily: z.string().max(128).optional(),
    modelIdentifier: z.string().max(256).optional(),
    mode: ClientMode,
    instanceId: z.string().max(256).optional(),
  }),
)
export type ClientInfo = z.infer<typeof ClientInfo>

export const ConnectAuth = lazySchema(() =>
  z.object({
    token: z.string().optional(),
    password: z.string().optional(),
    deviceToken: z.string().optional(),
    bootstrapToken: z.string().optional(),
  }),
)

const connectParamsSchema = () =>
  z.object({
    minProtocol: z.number().int(),
    maxProtocol: z.number().int(),
    client: ClientInfo,
    caps: z.array(z.string()).optional(),
    commands: z.array(z.string()).optional(),
    permissions: z.record(z.string(), z.boolean()).optional(),
    pathEnv: z.string().optional(),
    role: z.string().optional(),
    scopes: z.array(z.string()).optional(),
    // signature/signedAt optional: an unsigned block from a shared-secret holder counts as no device (OpenClaw §7).
    device: z
      .object({ id: z.string(), publicKey: z.string(), signature: z.string().optional(), signedAt: z.number().optional(), nonce: z.string().optional() })
      .optional(),
    auth: ConnectAuth.optional(),
    locale: z.string().optional(),
    userAgent: z.string().optional(),
  })
/**
 * `parse` and `safeParse` run the parser zod's compiler generated from this very schema (validators.gen.ts) and
 * build the schema only for params it rejects, whose issues are then zod's as before: the gateway answers a valid
 * connect without building it (or waiting for zod to interpret it, ~1 ms at start-up when zod runs jitless).
 */
export const ConnectParams: ReturnType<typeof connectParamsSchema> = lazySchema(connectParamsSchema, connectParams)
export type ConnectParams = z.infer<ReturnType<typeof connectParamsSchema>>

export const ConnectChallenge = lazySchema(() => z.object({ nonce: z.string(), ts: z.number() }))

export const PresenceEntry = lazySchema(() =>
  z.object({
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
  }),
)
export type PresenceEntry = z.infer<typeof PresenceEntry>

export const SessionDefaults = lazySchema(() =>
  z.object({
    defaultAgentId: z.string(),
    modelConfigured: z.boolean(),
    mainKey: z.string(),
    mainSessionKey: z.string(),
    scope: z.string(),
  }),
)

export const Policy = lazySchema(() =>
  z.object({
    maxPayload: z.number().int(),
    maxBufferedBytes: z.number().int(),
    tickIntervalMs: z.number().int(),
  }),
)
export type Policy = z.infer<typeof Policy>

export const HelloOk = lazySchema(() =>
  z.object({
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
    auth: z.object({
      method: z.string().optional(),
      role: Role,
      scopes: z.array(z.string()),
      // A paired device's token for (deviceId, role), to reconnect with as auth.deviceToken (OpenClaw §7).
      deviceToken: z.string().optional(),
      issuedAtMs: z.number().optional(),
    }),
    policy: Policy,
  }),
)
export type HelloOk = z.infer<typeof HelloOk>
