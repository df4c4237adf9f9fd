/**
 * Assembles and runs the daemon: config → logging → auth → store → bus → agent and router → server → timers →
 * recovery of unfinished runs, and tears it down in the reverse order. The CLI's `run` command and the tests start
 * the gateway through here.
 */
import type { Hono } from "hono"
import { join } from "node:path"
import { z } from "zod"
import { createAgentSystem } from "./agent/index.ts"
import type { ModelLayer } from "./agent/model-types.ts"
import { ChannelManager, type ChannelManagerDeps } from "./channels/manager.ts"
import { CHANNEL_IDS } from "./channels/types.ts"
import { Bus } from "./bus/index.ts"
import { resolveAuth, resolveBind } from "./config/auth.ts"
import { ConfigManager, envOverrides, type ConfigOverrides } from "./config/manager.ts"
import { ConfigChanged } from "./config/events.ts"
import { secretValues } from "./config/load.ts"
import { resolvePaths, type Paths } from "./config/paths.ts"
import type { Config } from "./config/schema.ts"
import { buildHealth, HealthUpdated } from "./health.ts"
import { IdempotencyCache } from "./methods/idempotency.ts"
import type { GatewayServices } from "./methods/index.ts"
import { PING_INTERVAL_MS } from "./protocol/index.ts"
import { createApp } from "./server/app.ts"
import { AuthRateLimiter } from "./server/auth-rate-limit.ts"
import { connectBroadcaster } from "./server/broadcaster.ts"
import { listen } from "./server/index.ts"
import { Router } from "./router/index.ts"
import { PresenceRegistry } from "./server/presence.ts"
import { WsHub } from "./server/ws.ts"
import { ChannelRepo } from "./store/channels.ts"
import { openStore } from "./store/index.ts"
import { createLogger, type LogSink } from "./util/log.ts"
import { VERSION } from "./version.ts"

export interface StartOptions extends ConfigOverrides {
  home?: string
  env?: NodeJS.ProcessEnv
  /** Replaces the AI SDK model layer (in-process tests inject a scripted model). */
  models?: ModelLayer
  /** Check every bus payload against its schema (tests). */
  validateEvents?: boolean
  /** Builds channel adapters instead of the real libraries (tests). */
  channelAdapters?: ChannelManagerDeps["createAdapter"]
}

export interface RunningGateway {
  port: number
  host: string
  url: string
  paths: Paths
  /** Announces shutdown to clients, closes everything; resolves when done. */
  stop(reason?: string): Promise<void>
  /** Re-reads the config file (SIGHUP). */
  reload(reason: string): void
  /** The Hono app behind the port's HTTP routes, for `app.request(...)` in in-process tests. */
  app: Hono
  /** What method handlers see (config, store, bus, agent), for in-process tests. */
  services: GatewayServices
}

function logSink(config: Config, paths: Paths): LogSink {
  return {
    file: config.logging.file ?? join(paths.logsDir, "gateway.jsonl"),
    maxFileBytes: config.logging.maxFileBytes,
    level: config.logging.level,
    console: config.logging.console,
  }
}

export async function startGateway(opts: StartOptions = {}): Promise<RunningGateway> {
  // zod compiles a specialised parser per schema on first use: worth it for schemas parsed per request, a waste of
  // ~10 ms for the config and handshake schemas parsed once at start-up. JIT is switched back on once serving.
  z.config({ jitless: true })
  // Everything the daemon creates (database, logs, workspace files) holds private data: owner-only by default,
  // also when it runs outside a service manager that sets UMask.
  process.umask(0o077)
  const env = opts.env ?? process.env
  const startedAt = Date.now()
  // Start-up phases (ms and resident MB after each) go into the "listening" log line: slow starts explain themselves.
  const phases: Record<string, [number, number]> = {}
  let phaseStart = performance.now()
  const phase = (name: string) => {
    const now = performance.now()
    phases[name] = [Math.round((now - phaseStart) * 10) / 10, Math.round(process.memoryUsage.rss() / 1e5) / 10]
    phaseStart = now
  }
  const paths = resolvePaths(opts.home, env)
  const overrides: ConfigOverrides = { ...envOverrides(env) }
  for (const k of ["port", "bind", "token", "password"] as const) if (opts[k] !== undefined) (overrides as Record<string, unknown>)[k] = opts[k]

  // Logging is configured from the config, so config problems print to stderr only (the caller reports them).
  let logRef: ReturnType<typeof createLogger> | undefined
  const config = new ConfigManager(paths, overrides, (level, msg) => logRef?.[level](msg))
  const log = createLogger(logSink(config.current, paths))
  phase("config")
  logRef = log
  log.info(`starting gateway ${VERSION}`, { home: paths.home, config: paths.config, configExists: config.file.exists, pid: process.pid })

  const bind = resolveBind(config.current.gateway.bind)
  const auth = resolveAuth(config.current, paths, bind)
  // Secrets never reach a log line: the token in use (generated or configured) and every secret value in the config.
  const logSecrets = (cfg: Config) => log.setSecrets([...secretValues(cfg), ...[auth.token, auth.password].filter((x): x is string => !!x)])
  logSecrets(config.current)
  if (auth.generated) log.info(`auth: using the generated token in ${paths.tokenFile}`)

  phase("auth")
  const store = await openStore({ file: paths.database, cacheDir: paths.cacheDir })
  phase("store")
  if (store.appliedMigrations.length) log.info(`database migrated`, { applied: store.appliedMigrations })
  if (!store.vec.loaded) log.warn(`sqlite-vec unavailable, vector search disabled: ${store.vec.error}`)

  const bus = new Bus({ onError: (err, event) => log.error(`subscriber of ${event} failed`, { error: String(err) }), validate: opts.validateEvents })
  const bootId = crypto.randomUUID()
  const presence = new PresenceRegistry({ version: VERSION, instanceId: bootId, ip: bind.host })
  // The agent's own doors (sub-agents, sessions_send, announcements) go through the router like every other door.
  let router: Router | undefined
  let channels: ChannelManager | undefined
  const agent = createAgentSystem({
    messages: () => channels?.messageSender(),
    config,
    store,
    bus,
    log,
    workspace: paths.workspace,
    env,
    models: opts.models,
    accept: (inbound) => router!.accept(inbound),
  })
  router = new Router({ runtime: agent.runtime, repo: agent.sessions, bus, log: log.child("router") })
  channels = new ChannelManager({
    config: () => config.current,
    repo: new ChannelRepo(store.db),
    router: () => router!,
    bus,
    log: log.child("channels"),
    home: paths.home,
    env,
    createAdapter: opts.channelAdapters,
  })
  phase("agent")
  const healthNow = () => buildHealth({ databasePath: paths.database, heartbeatSeconds: 0, sessionCount: agent.sessions.count(), channels: channels.status() })
  let health = healthNow()
  let actualPort = config.current.gateway.port

  const services: GatewayServices = {
    version: VERSION,
    bootId,
    startedAt,
    paths,
    config,
    store,
    bus,
    log,
    idempotency: new IdempotencyCache(),
    authLimiter: new AuthRateLimiter(() => config.current.gateway.auth.rateLimit),
    bind,
    auth,
    port: () => actualPort,
    connectionCount: () => hub.size,
    presence: () => presence.list(),
    health: () => health,
    logFile: () => log.file ?? join(paths.logsDir, "gateway.jsonl"),
    agent,
    router,
    channels,
  }

  // The listener enforces the frame limit it was started with (a restart-only setting), so hello-ok must advertise
  // that one, not a later edit of the file that Bun.serve never saw.
  const listenMaxPayloadBytes = config.current.gateway.maxPayloadBytes
  const limits = () => ({
    handshakeTimeoutMs: config.current.gateway.handshakeTimeoutMs,
    maxPayloadBytes: listenMaxPayloadBytes,
    maxBufferedBytes: config.current.gateway.maxBufferedBytes,
    tickIntervalMs: config.current.gateway.tickIntervalMs,
  })
  const hub = new WsHub(services, presence, limits, log.child("ws"))
  connectBroadcaster(bus, hub)

  const app = createApp({
    isReady: () => ready,
    version: VERSION,
    auth: () => auth,
    authLimiter: services.authLimiter,
    agent: () => agent,
    router: () => router,
    bus,
    chatCompletionsEnabled: () => config.current.http.chatCompletions.enabled,
  })
  let ready = false
  phase("app")
  const server = listen({ host: bind.host, port: config.current.gateway.port, maxPayloadBytes: listenMaxPayloadBytes }, app, hub)
  phase("listen")
  actualPort = server.port ?? actualPort

  // Timers are gateway-wide (as in OpenClaw): every connection sees ticks on the same beat.
  const timers: Timer[] = []
  const startTimers = () => {
    const g = config.current.gateway
    timers.push(setInterval(() => hub.tick(), g.tickIntervalMs))
    timers.push(
      setInterval(() => {
        health = healthNow()
        bus.publish(HealthUpdated, health)
      }, g.healthIntervalMs),
    )
    timers.push(setInterval(() => hub.pingAll(), PING_INTERVAL_MS))
  }
  startTimers()

  config.onChange((change, next) => {
    log.reconfigure(logSink(next, paths))
    logSecrets(next)
    log.info(`config reloaded: ${change.changedPaths.join(", ")}`)
    if (change.restartPaths.length) log.warn(`restart required to apply: ${change.restartPaths.join(", ")} (run 'gateway restart' or restart the process)`)
    for (const id of CHANNEL_IDS) {
      if (change.changedPaths.some((p) => p === `channels.${id}` || p.startsWith(`channels.${id}.`))) void channels.restartChannel(id)
    }
    if (change.changedPaths.some((p) => p === "gateway.tickIntervalMs" || p === "gateway.healthIntervalMs")) {
      for (const t of timers.splice(0)) clearInterval(t)
      startTimers()
    }
    bus.publish(ConfigChanged, { path: paths.config, hash: change.hash, ts: Date.now(), changedPaths: change.changedPaths })
  })
  if (config.current.gateway.reload.mode === "hybrid") config.watch(config.current.gateway.reload.debounceMs)

  ready = true
  hub.setReady(true)
  // Runs the last process left unfinished resume once the port listens and the broadcaster is subscribed, so a
  // client that reconnects at once sees their events (and start-up is not held up by them).
  // Channels subscribe to replies before recovered runs can finish; their bots connect in the background (a slow or
  // unreachable platform never holds up the gateway).
  void channels.start().catch((err) => log.error(`channels: ${(err as Error).message}`))
  agent.recover()
  // Start-up runs jitless (see above); once serving, let zod compile its fast parsers for the hot request schemas.
  setTimeout(() => z.config({ jitless: false }), 1000).unref()
  const host = bind.host.includes(":") ? `[${bind.host}]` : bind.host
  const url = `ws://${host}:${actualPort}`
  log.info(`listening on ${url}`, { startupMs: Date.now() - startedAt, auth: auth.mode, vec: store.vec.version, phases })

  let stopping: Promise<void> | undefined
  const stop = (reason = "gateway stopping") =>
    (stopping ??= (async () => {
      log.info(`shutting down: ${reason}`)
      ready = false
      // Runs are aborted first so their transcripts are closed cleanly before clients hear `shutdown`.
      // Stop taking chat messages first, then end the runs.
      await channels.stop()
      await agent.stop()
      hub.shutdown(reason)
      for (const t of timers) clearInterval(t)
      config.close()
      // Let the close frames flush before the listener goes away.
      await Bun.sleep(20)
      await server.stop(true)
      store.close()
      log.info("stopped")
      log.close()
    })())

  return { port: actualPort, host: bind.host, url, paths, stop, reload: (reason) => config.reload(reason), app, services }
}
