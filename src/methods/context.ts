/** What a method handler may use: the gateway's services and the calling connection's identity. Never a socket. */
import type { AgentFacade } from "../agent/facade.ts"
import type { ChannelManager } from "../channels/manager.ts"
import type { Bus } from "../bus/index.ts"
import type { ConfigManager } from "../config/manager.ts"
import type { ResolvedAuth, ResolvedBind } from "../config/auth.ts"
import type { Paths } from "../config/paths.ts"
import type { MethodResult, ClientInfo, HealthSummary, PresenceEntry, Role } from "../protocol/index.ts"
import type { Store } from "../store/index.ts"
import type { Router } from "../router/index.ts"
import type { Logger } from "../util/log.ts"
import type { MemoryService } from "../memory/service.ts"
import type { SkillsService } from "../skills/service.ts"
import type { CronService } from "../cron/service.ts"
import type { HeartbeatService } from "../cron/heartbeat.ts"
import type { NodeRegistry } from "../nodes/registry.ts"
import type { DeviceService } from "../nodes/devices.ts"
import type { AuthRateLimiter } from "../server/auth-rate-limit.ts"
import type { IdempotencyCache } from "./idempotency.ts"

export interface GatewayServices {
  version: string
  bootId: string
  startedAt: number
  paths: Paths
  config: ConfigManager
  store: Store
  bus: Bus
  log: Logger
  idempotency: IdempotencyCache
  /** Failed authentications per remote address, shared by the WebSocket handshake and HTTP Bearer auth. */
  authLimiter: AuthRateLimiter
  bind: ResolvedBind
  auth: ResolvedAuth
  /** The port actually listened on (differs from config when it was 0). */
  port(): number
  connectionCount(): number
  presence(): PresenceEntry[]
  health(): HealthSummary
  /** Where the JSONL log lives. */
  logFile(): string
  agent: AgentFacade
  /** The one way in for messages to the agent. */
  router: Router
  /** Chat channels (Telegram, Discord): status, pairing, outbound messages. */
  channels: ChannelManager
  /** The agent's memory index (Markdown files in the workspace): status, search, reindex. */
  memory: MemoryService
  /** SKILL.md skills: status, install, invoke; their prompt section. */
  skills: SkillsService
  /** Scheduled jobs (cron.*). */
  cron: CronService
  /** The main session's heartbeat (last-heartbeat, set-heartbeats). */
  heartbeat: HeartbeatService
  /** Connected and paired nodes, and the node.invoke relay. */
  nodes: NodeRegistry
  /** Device identity and pairing: the handshake's device step and device.pair.* / device.token.*. */
  devices: DeviceService
}

export interface CallerInfo {
  connId: string
  role: Role
  scopes: readonly string[]
  client: ClientInfo
  caps: readonly string[]
  remoteAddress: string
  /** The verified device (hex SHA-256 of its Ed25519 key) when the client presented a signed one. */
  deviceId?: string
}

export interface MethodContext {
  gw: GatewayServices
  caller: CallerInfo
  /** Aborted when the client sends `cancel` for this request or disconnects. */
  signal?: AbortSignal
  /** Sends an early `res` with the same id before the final one (two-stage methods such as `agent`). */
  interim?(payload: MethodResult<"agent">): void
}
