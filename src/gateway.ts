/**
 * Assembles and runs the daemon: config → state home check → logging → bind/auth check → the port (the hub answers
 * connect with a retryable UNAVAILABLE until ready) → generated token → store → agent and router → timers →
 * runtime file → recovery of unfinished runs, and tears it down in the reverse order. Nothing that lasts is
 * created before the port is bound, and every start-up failure is written to the JSONL log before it is thrown.
 * The CLI's `run` command and the tests start the gateway through here; SIGUSR1 restarts it in place.
 */
import type { Hono } from "hono"
import { join } from "node:path"
import { z } from "zod"
import { agentIds, listAgents } from "./agent/agents.ts"
import { createAgentSystem } from "./agent/index.ts"
import type { ModelLayer } from "./agent/model-types.ts"
import { ChannelManager, type ChannelManagerDeps } from "./channels/manager.ts"
import { CHANNEL_IDS } from "./channels/types.ts"
import { Bus } from "./bus/index.ts"
import { finishAuth, planAuth, readGeneratedToken, resolveBind, StartupRefusal, type ResolvedAuth } from "./config/auth.ts"
import { ConfigChanged } from "./config/events.ts"
import { ConfigError, getPath, loadConfig, secretValues } from "./config/load.ts"
import { applyOverrides, ConfigManager, envOverrides, type ConfigOverrides } from "./config/manager.ts"
import { resolvePaths, type Paths } from "./config/paths.ts"
import { liveRuntime, removeRuntime, writeRuntime, type AuthSource, type RuntimeInfo } from "./config/runtime.ts"
import type { Config } from "./config/schema.ts"
import { startupProblems } from "./config/startup-check.ts"
import { asStateHomeError, checkStateHome, StateHomeError } from "./config/state-home.ts"
import { buildHealth, HealthUpdated } from "./health.ts"
import { MemoryService } from "./memory/service.ts"
import { SkillsService } from "./skills/service.ts"
import { systemClock, type Clock } from "./cron/clock.ts"
import { HeartbeatService } from "./cron/heartbeat.ts"
import { CronService } from "./cron/service.ts"
import { CronRepo } from "./store/cron.ts"
import { NodeRegistry } from "./nodes/registry.ts"
import { DeviceService } from "./nodes/devices.ts"
import { IdempotencyCache } from "./methods/idempotency.ts"
import type { GatewayServices } from "./methods/index.ts"
import { PING_INTERVAL_MS } from "./protocol/index.ts"
import { createApp } from "./server/app.ts"
import { AuthRateLimiter } from "./server/auth-rate-limit.ts"
import { connectBroadcaster } from "./server/broadcaster.ts"
import { checkUpgrade } from "./server/exposure.ts"
import { listen, ListenError } from "./server/index.ts"
import { ensureSelfSigned, loadTls, TlsError, type TlsMaterial } from "./server/tls-cert.ts"
import { describePortHolder } from "./server/port-holder.ts"
import { Router } from "./router/index.ts"
import { PresenceRegistry } from "./server/presence.ts"
import { WsHub } from "./server/ws.ts"
import { ChannelRepo } from "./store/channels.ts"
import { NodeRepo } from "./store/nodes.ts"
import { DeviceRepo } from "./store/devices.ts"
import { openStore, type Store } from "./store/index.ts"
import { createLogger, type LogSink, type RootLogger } from "./util/log.ts"
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
  /** The clock cron and the heartbeat schedule by (tests move a ManualClock). */
  clock?: Clock
}

export interface StopOptions {
  /** Sent to clients in the `shutdown` event: the gateway comes back (SIGUSR1) after about this long. */
  restartExpectedMs?: number
}

export interface RunningGateway {
  port: number
  host: string
  url: string
  paths: Paths
  /** Announces shutdown to clients, closes everything; resolves when done. */
  stop(reason?: string, opts?: StopOptions): Promise<void>
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

/** Config keys the flags and variables override, and which of the two set each (for the runtime file). */
const OVERRIDE_PATHS = {
  port: "gateway.port",
  bind: "gateway.bind",
  token: "gateway.auth.token",
  password: "gateway.auth.password",
  tlsCert: "gateway.tls.certPath",
  tlsKey: "gateway.tls.keyPath",
  tlsSelfSigned: "gateway.tls.autoGenerate",
} as const

function overridesOf(opts: StartOptions, env: NodeJS.ProcessEnv): { overrides: ConfigOverrides; sources: Record<string, "flag" | "env"> } {
  const overrides: ConfigOverrides = { ...envOverrides(env) }
  const sources: Record<string, "flag" | "env"> = {}
  for (const k of Object.keys(overrides) as (keyof ConfigOverrides)[]) sources[OVERRIDE_PATHS[k]] = "env"
  for (const k of ["port", "bind", "token", "password", "tlsCert", "tlsKey", "tlsSelfSigned"] as const) {
    if (opts[k] === undefined) continue
    ;(overrides as Record<string, unknown>)[k] = opts[k]
    sources[OVERRIDE_PATHS[k]] = "flag"
  }
  return { overrides, sources }
}

/**
 * Starts the gateway. A failure is logged (JSONL, so `gateway logs` and `gateway status` can say why it died),
 * everything started so far is stopped again, and the error is thrown: ConfigError, StartupRefusal,
 * StateHomeError or ListenError for the known ones (`gateway run` exits 78 on each).
 */
export async function startGateway(opts: StartOptions = {}): Promise<RunningGateway> {
  const env = opts.env ?? process.env
  const paths = resolvePaths(opts.home, env)
  const undo: (() => unknown)[] = []
  const boot: Boot = { log: undefined, undo }
  try {
    return await boot_(opts, env, paths, boot)
  } catch (raw) {
    const err = asStateHomeError(raw, paths)
    recordFailure(err, paths, boot.log)
    for (const u of undo.reverse()) {
      try {
        await u()
      } catch {
        // Tearing down a half-started gateway: the first error is the one to report.
      }
    }
    throw err
  }
}

interface Boot {
  log: RootLogger | undefined
  /** Teardown steps for what has been started, run in reverse when start-up fails. */
  undo: (() => unknown)[]
}

/** The failure as the JSONL log's last line: through the logger when there is one (console off: the caller prints). */
function recordFailure(err: unknown, paths: Paths, log: RootLogger | undefined): void {
  const message = `start-up failed: ${(err as Error)?.message ?? String(err)}`
  const known = ConfigError.isInstance(err) || StartupRefusal.isInstance(err) || StateHomeError.isInstance(err) || ListenError.isInstance(err)
  const fields = { error: (err as Error)?.name, ...(known ? {} : { stack: (err as Error)?.stack }) }
  if (log) {
    log.reconfigure({ ...logSinkOf(log), console: "off" })
    log.error(message, fields)
    return
  }
  // No logger yet (the config itself failed): the default log file, if the state home can take it.
  if (StateHomeError.isInstance(err)) return
  try {
    checkStateHome(paths)
    const fallback = createLogger({ file: join(paths.logsDir, "gateway.jsonl"), maxFileBytes: 10 * 1024 * 1024, level: "error", console: "off" })
    fallback.error(message, fields)
    fallback.close()
  } catch {
    // Nowhere to write: stderr (the caller) has it.
  }
}

function logSinkOf(log: RootLogger): LogSink {
  return { file: log.file, maxFileBytes: 10 * 1024 * 1024, level: "debug", console: "off" }
}

async function boot_(opts: StartOptions, env: NodeJS.ProcessEnv, paths: Paths, boot: Boot): Promise<RunningGateway> {
  // zod compiles a specialised parser per schema on first use: worth it for schemas parsed per request, a waste of
  // ~10 ms for the config and handshake schemas parsed once at start-up. JIT is switched back on once serving.
  z.config({ jitless: true })
  // Everything the daemon creates (database, logs, workspace files) holds private data: owner-only by default,
  // also when it runs outside a service manager that sets UMask.
  process.umask(0o077)
  const startedAt = Date.now()
  // Start-up phases (ms and resident MB after each) go into the "listening" log line: slow starts explain themselves.
  const phases: Record<string, [number, number]> = {}
  let phaseStart = performance.now()
  const phase = (name: string) => {
    const now = performance.now()
    phases[name] = [Math.round((now - phaseStart) * 10) / 10, Math.round(process.memoryUsage.rss() / 1e5) / 10]
    phaseStart = now
  }
  const { overrides, sources } = overridesOf(opts, env)

  // Logging is configured from the config, so config problems are logged to the default file by recordFailure.
  let logRef: RootLogger | undefined
  const config = new ConfigManager(paths, overrides, (level, msg) => logRef?.[level](msg))
  boot.undo.push(() => config.close())
  // Before the first file is created: a read-only or foreign state home is one line, not a stack trace.
  checkStateHome(paths)
  const log = createLogger(logSink(config.current, paths))
  boot.log = log
  boot.undo.push(() => log.close())
  phase("config")
  logRef = log
  log.info(`starting gateway ${VERSION}`, { home: paths.home, config: paths.config, configExists: config.file.exists, pid: process.pid })

  // The checks `config set` makes too, so a config it accepted starts and one it refused is refused for the same reason.
  const problems = startupProblems(config.current)
  if (problems.length) throw new StartupRefusal({ message: problems[0]!.message })
  const bind = resolveBind(config.current.gateway.bind)
  const plan = planAuth(config.current, bind)
  // Secrets never reach a log line: the token in use (generated or configured) and every secret value in the config.
  const logSecrets = (cfg: Config, a: ResolvedAuth) => log.setSecrets([...secretValues(cfg), ...[a.token, a.password].filter((x): x is string => !!x)])
  logSecrets(config.current, plan)

  // One gateway per state home: two would share one database, workspace and token file.
  const running = await liveRuntime(paths)
  if (running && running.pid !== process.pid) {
    throw new StartupRefusal({
      message:
        `a gateway is already running with the state home ${paths.home} (pid ${running.pid}, ${running.url}). ` +
        `Check it with 'gateway health'; stop it with 'gateway stop' (service) or 'kill ${running.pid}', or give this one its own --home`,
    })
  }
  phase("auth")

  const bus = new Bus({ onError: (err, event) => log.error(`subscriber of ${event} failed`, { error: String(err) }), validate: opts.validateEvents })
  const bootId = crypto.randomUUID()
  const presence = new PresenceRegistry({ version: VERSION, instanceId: bootId, ip: bind.host })
  let actualPort = config.current.gateway.port
  let health: ReturnType<typeof buildHealth> | undefined
  let router: Router | undefined
  let channels: ChannelManager | undefined
  // The hub listens before the store, agent, router and channels exist: until ready it only sends challenges and
  // answers connect with a retryable UNAVAILABLE, so those (and the token) are filled in below, before setReady.
  const early: Omit<GatewayServices, "store" | "agent" | "router" | "channels" | "memory" | "nodes" | "cron" | "heartbeat" | "skills" | "devices"> = {
    version: VERSION,
    bootId,
    startedAt,
    paths,
    config,
    bus,
    log,
    idempotency: new IdempotencyCache(),
    authLimiter: new AuthRateLimiter(() => config.current.gateway.auth.rateLimit),
    bind,
    auth: plan,
    port: () => actualPort,
    connectionCount: () => hub.size,
    presence: () => presence.list(),
    health: () => health!,
    logFile: () => log.file ?? join(paths.logsDir, "gateway.jsonl"),
  }
  const services = early as GatewayServices

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

  let ready = false
  const app = createApp({
    isReady: () => ready,
    version: VERSION,
    auth: () => services.auth,
    authLimiter: services.authLimiter,
    agent: () => services.agent,
    router: () => services.router,
    bus,
    chatCompletionsEnabled: () => config.current.http.chatCompletions.enabled,
    channels: () => services.channels,
    gatewayConfig: () => config.current.gateway,
  })
  phase("app")
  const tls = resolveTls(config.current.gateway.tls, paths)
  let server: ReturnType<typeof listen>
  try {
    server = listen(
      {
        host: bind.host,
        port: config.current.gateway.port,
        maxPayloadBytes: listenMaxPayloadBytes,
        ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
        checkUpgrade: (req, remoteAddress) => checkUpgrade(req, remoteAddress, config.current.gateway),
      },
      app,
      hub,
    )
  } catch (err) {
    throw await explainListenError(err, { bind, plan, paths })
  }
  boot.undo.push(() => server.stop(true))
  phase("listen")
  actualPort = server.port ?? actualPort

  // First-start state from here on: the port is ours.
  const auth = finishAuth(plan, paths)
  services.auth = auth
  logSecrets(config.current, auth)
  if (auth.generated) log.info(`auth: using the generated token in ${paths.tokenFile}`)
  const store: Store = await openStore({ file: paths.database, cacheDir: paths.cacheDir })
  boot.undo.push(() => store.close())
  services.store = store
  phase("store")
  if (store.appliedMigrations.length) log.info(`database migrated`, { applied: store.appliedMigrations })
  if (!store.vec.loaded) log.warn(`sqlite-vec unavailable, vector search disabled: ${store.vec.error}`)
  // Memory index over the workspace's Markdown; its watcher starts once the port is serving (below).
  const memory = new MemoryService({ store, config: () => config.current.memory, workspace: paths.workspace, env, log: log.child("memory") })
  boot.undo.push(() => memory.stop())
  services.memory = memory
  // Skills (SKILL.md folders): workspace > $GATEWAY_HOME/skills > bundled > skills.load.extraDirs; watched after listen.
  const skills = new SkillsService({
    config: () => config.current,
    workspace: paths.workspace,
    managedDir: join(paths.home, "skills"),
    env,
    log: log.child("skills"),
    agents: () => {
      const { defaultId } = agentIds(config.current)
      return { defaultId, workspaceOf: (id) => listAgents(config.current, { workspace: paths.workspace }).find((a) => a.id === id)?.workspace }
    },
  })
  boot.undo.push(() => skills.stop())
  services.skills = skills
  // Nodes connect only once the hub is ready (below), so the registry exists before the first one attaches.
  const nodes = new NodeRegistry(new NodeRepo(store.db), bus, log.child("nodes"))
  services.nodes = nodes
  // Before ready: the handshake asks it about every connect that carries a signed device.
  services.devices = new DeviceService(new DeviceRepo(store.db), bus, log.child("devices"))

  // The agent's own doors (sub-agents, sessions_send, announcements) go through the router like every other door.
  const agent = createAgentSystem({
    messages: () => channels?.messageSender(),
    cron: () => services.cron,
    memory: () => memory,
    skillsPrompt: (ws) => skills.promptSection(ws),
    skillsReadRoots: (ws) => skills.readRoots(ws),
    config,
    store,
    bus,
    log,
    workspace: paths.workspace,
    env,
    models: opts.models,
    accept: (inbound) => router!.accept(inbound),
  })
  boot.undo.push(() => agent.stop())
  router = new Router({ runtime: agent.runtime, repo: agent.sessions, bus, log: log.child("router"), config: () => config.current })
  const channelManager = new ChannelManager({
    config: () => config.current,
    repo: new ChannelRepo(store.db),
    router: () => router!,
    bus,
    log: log.child("channels"),
    home: paths.home,
    env,
    createAdapter: opts.channelAdapters,
  })
  channels = channelManager
  boot.undo.push(() => channelManager.stop())
  services.agent = agent
  services.router = router
  services.channels = channelManager
  // Cron and the heartbeat reach the agent through the router; their timers start once recovery has run (below).
  const cronRepo = new CronRepo(store.db)
  const clock = opts.clock ?? systemClock
  const waitRun = (runId: string, timeoutMs: number) => agent.runtime.wait(runId, timeoutMs)
  const cron = new CronService({
    repo: cronRepo,
    clock,
    bus,
    log: log.child("cron"),
    config: () => config.current,
    accept: (inbound) => router!.accept(inbound),
    wait: waitRun,
    abort: (sessionKey, runId) => void agent.runtime.abort(sessionKey, runId),
    storePath: paths.database,
  })
  const heartbeat = new HeartbeatService({
    repo: cronRepo,
    clock,
    bus,
    log: log.child("heartbeat"),
    config: () => config.current,
    workspace: paths.workspace,
    accept: (inbound) => router!.accept(inbound),
    wait: waitRun,
    busy: (key) => agent.runtime.activeRunIds(key).length > 0,
  })
  boot.undo.push(() => {
    cron.stop()
    heartbeat.stop()
  })
  services.cron = cron
  services.heartbeat = heartbeat
  phase("agent")
  const healthNow = () =>
    buildHealth({
      databasePath: paths.database,
      heartbeatSeconds: heartbeat.enabled ? Math.round(heartbeat.everyMs / 1000) : 0,
      sessionCount: agent.sessions.count(),
      channels: channelManager.status(),
      agents: agentIds(config.current),
    })
  health = healthNow()

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
  boot.undo.push(() => {
    for (const t of timers) clearInterval(t)
  })

  config.onChange((change, next) => {
    log.reconfigure(logSink(next, paths))
    logSecrets(next, auth)
    if (change.changedPaths.length) log.info(`config reloaded: ${change.changedPaths.join(", ")}`)
    if (change.restartPaths.length)
      log.warn(`restart required to apply: ${change.restartPaths.join(", ")} (run 'gateway restart', send SIGUSR1, or restart the process)`)
    for (const id of CHANNEL_IDS) {
      if (change.changedPaths.some((p) => p === `channels.${id}` || p.startsWith(`channels.${id}.`))) void channelManager.restartChannel(id)
    }
    if (change.changedPaths.some((p) => p === "memory" || p.startsWith("memory."))) memory.configChanged()
    if (change.changedPaths.some((p) => p === "skills" || p.startsWith("skills."))) skills.configChanged()
    if (change.changedPaths.some((p) => p.startsWith("agents.defaults.heartbeat"))) heartbeat.reconfigure()
    if (change.changedPaths.some((p) => p === "cron" || p.startsWith("cron."))) cron.reconfigure()
    if (change.changedPaths.some((p) => p === "gateway.tickIntervalMs" || p === "gateway.healthIntervalMs")) {
      for (const t of timers.splice(0)) clearInterval(t)
      startTimers()
    }
    if (change.changedPaths.length) bus.publish(ConfigChanged, { path: paths.config, hash: change.hash, ts: Date.now(), changedPaths: change.changedPaths })
  })
  if (config.current.gateway.reload.mode === "hybrid") config.watch(config.current.gateway.reload.debounceMs)

  const host = bind.host.includes(":") ? `[${bind.host}]` : bind.host
  const scheme = tls ? "wss" : "ws"
  const url = `${scheme}://${host}:${actualPort}`
  // Where clients on this machine find it (wildcard binds are reached over loopback).
  const clientHost = bind.host === "0.0.0.0" ? "127.0.0.1" : bind.host === "::" ? "[::1]" : host
  const fileSetsPort = getPath(config.file.parsed, "gateway.port") !== undefined || getPath(loadConfig(paths.systemConfig).parsed, "gateway.port") !== undefined
  const authSource: AuthSource =
    auth.mode === "none"
      ? "none"
      : auth.generated
        ? "generated"
        : (sources[auth.mode === "password" ? "gateway.auth.password" : "gateway.auth.token"] ?? "config")
  const runtime: RuntimeInfo = {
    pid: process.pid,
    url: `${scheme}://${clientHost}:${actualPort}`,
    port: actualPort,
    host: bind.host,
    bind: config.current.gateway.bind,
    startedAt: new Date(startedAt).toISOString(),
    version: VERSION,
    home: paths.home,
    configPath: paths.config,
    portSource: sources["gateway.port"] ?? (fileSetsPort ? "config" : "default"),
    authMode: auth.mode,
    ...(tls ? { tls: { certPath: tls.certPath, fingerprint: tls.fingerprint, selfSigned: tls.selfSigned } } : {}),
    authSource,
    overrides: sources,
  }
  writeRuntime(paths, runtime)
  boot.undo.push(() => removeRuntime(paths))

  ready = true
  hub.setReady(true)
  // Runs the last process left unfinished resume once the port listens and the broadcaster is subscribed, so a
  // client that reconnects at once sees their events (and start-up is not held up by them).
  // Channels subscribe to replies before recovered runs can finish; their bots connect in the background (a slow or
  // unreachable platform never holds up the gateway).
  void channelManager.start().catch((err) => log.error(`channels: ${(err as Error).message}`))
  agent.recover()
  cron.start()
  heartbeat.start()
  memory.start()
  skills.start()
  // Start-up runs jitless (see above); once serving, let zod compile its fast parsers for the hot request schemas.
  setTimeout(() => z.config({ jitless: false }), 1000).unref()
  if (tls) log.info(`TLS certificate ${tls.certPath}${tls.selfSigned ? " (self-signed)" : ""}, SHA-256 fingerprint ${tls.fingerprint}`)
  log.info(`listening on ${url}`, { startupMs: Date.now() - startedAt, auth: auth.mode, vec: store.vec.version, phases })

  let stopping: Promise<void> | undefined
  const stop = (reason = "gateway stopping", o: StopOptions = {}) =>
    (stopping ??= (async () => {
      log.info(`shutting down: ${reason}`)
      ready = false
      // Runs are aborted first so their transcripts are closed cleanly before clients hear `shutdown`.
      // Stop taking chat messages first, then end the runs.
      await channelManager.stop()
      // No new scheduled runs; a cron run cut off here is picked up again (same run) by the next start.
      cron.stop()
      heartbeat.stop()
      await agent.stop()
      nodes.stop()
      await memory.stop()
      skills.stop()
      hub.shutdown(reason, o.restartExpectedMs)
      for (const t of timers) clearInterval(t)
      config.close()
      // Let the close frames flush before the listener goes away.
      await Bun.sleep(20)
      await server.stop(true)
      removeRuntime(paths)
      store.close()
      log.info("stopped")
      log.close()
    })())

  return { port: actualPort, host: bind.host, url, paths, stop, reload: (reason) => config.reload(reason), app, services }
}

/** EADDRINUSE becomes a sentence about who holds the port and what to do (src/server/port-holder.ts). */
async function explainListenError(err: unknown, o: { bind: { host: string }; plan: ResolvedAuth; paths: Paths }): Promise<unknown> {
  if (!ListenError.isInstance(err)) return err
  const code = (err.cause as { code?: string } | undefined)?.code
  if (code !== "EADDRINUSE" && !/in use/i.test(err.message)) return err
  const token = o.plan.token ?? (o.plan.generated ? readGeneratedToken(o.paths) : undefined)
  const message = await describePortHolder({ host: o.bind.host, port: err.data.port, token, password: o.plan.password, home: o.paths.home })
  return new ListenError({ ...err.data, message }, { cause: err })
}

/**
 * SIGUSR1, as OpenClaw's: a graceful restart that re-reads everything, restart-only settings included (port, bind,
 * auth, frame limit). Clients get `shutdown` with restartExpectedMs and close 1012, and the gateway comes back in
 * this same process (same pid), as OpenClaw does when no supervisor respawns it: our units restart only on failure,
 * so exiting would leave the service down (or count as a crash). A config the new start would refuse is caught
 * first, and the running gateway stays as it is.
 */
export async function restartGateway(gw: RunningGateway, opts: StartOptions, signal: string): Promise<RunningGateway | undefined> {
  const log = gw.services.log
  const env = opts.env ?? process.env
  const paths = gw.paths
  const loaded = loadConfig(paths.config, paths.systemConfig)
  let problem: string | undefined
  if (!loaded.config) problem = new ConfigError({ path: paths.config, issues: loaded.issues }).message.replace(/\n\s*/g, " ")
  else {
    const { overrides } = overridesOf(opts, env)
    problem = startupProblems(applyOverrides(loaded.config, overrides))[0]?.message
  }
  if (problem) {
    log.error(`${signal}: not restarting, the new start would fail with: ${problem}; the gateway keeps running as it is`)
    return undefined
  }
  log.info(`${signal}: restarting in place`)
  await gw.stop(`gateway restarting (${signal})`, { restartExpectedMs: 1500 })
  return startGateway(opts)
}

/** The listener's certificate: from gateway.tls.certPath/keyPath, or self-signed in <state dir>/tls when autoGenerate. */
function resolveTls(tls: Config["gateway"]["tls"], paths: Paths): TlsMaterial | undefined {
  if (!tls.enabled) return undefined
  if (tls.certPath && tls.keyPath) return loadTls(tls.certPath, tls.keyPath)
  if (tls.certPath || tls.keyPath) throw new TlsError({ message: "gateway.tls needs both certPath and keyPath (flags --tls-cert and --tls-key)" })
  if (tls.autoGenerate) return ensureSelfSigned(join(paths.home, "tls"))
  throw new TlsError({
    message:
      "gateway.tls.enabled is true but no certificate is set: give gateway.tls.certPath and keyPath, or set gateway.tls.autoGenerate (flag --tls-self-signed)",
  })
}
