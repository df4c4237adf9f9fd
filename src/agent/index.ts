/**
 * Assembles the agent subsystem for the gateway: session repository, runtime, tools with policy and approvals,
 * workspace. Provider SDKs (the AI SDK and its providers) are imported on the first model call only, so a gateway
 * that never runs a model never loads them.
 */
import type { Bus } from "../bus/index.ts"
import type { ConfigManager } from "../config/manager.ts"
import type { Config } from "../config/schema.ts"
import type { Store } from "../store/index.ts"
import { SessionRepo } from "../store/sessions.ts"
import type { Accepted, Inbound } from "../router/inbound.ts"
import { importEntry } from "../util/embedded.ts"
import type { Logger } from "../util/log.ts"
import type { MemoryService } from "../memory/service.ts"
import { agentIds, agentRuntimeConfig, type AgentRuntimeConfig } from "./agents.ts"
import { ApprovalRegistry } from "./approvals.ts"
import { compactSession } from "./compact-session.ts"
import type { AgentFacade } from "./facade.ts"
import { buildSystemPrompt, ensureWorkspace } from "./prompt.ts"
import type { ModelEvent, ModelHandle, ModelLayer, StreamModelOptions } from "./model-types.ts"
import { createMessageTool, type MessageSender } from "./message-tool.ts"
import { AgentRuntime } from "./runtime.ts"
import { agentIdOf, kindOf } from "./session-key.ts"
import { announceSubagentResults, createSessionTools } from "./session-tools.ts"
import type { CronToolTarget } from "./tools/cron.ts"
import type { BrowserHost, ToolRegistry } from "./tools/registry.ts"
import { runTool, toolJsonSchema, type ToolDef } from "./tools/tool.ts"

export interface AgentSystemDeps {
  config: ConfigManager
  store: Store
  bus: Bus
  log: Logger
  workspace: string
  env?: NodeJS.ProcessEnv
  /** Replaces the AI SDK model layer (in-process tests inject a scripted model). */
  models?: ModelLayer
  /** The router's door, for the agent's own doors (sub-agents, sessions_send, announcements). */
  accept(inbound: Inbound): Accepted
  /** Chat channels for the `message` tool (bound late: channels start after the agent). */
  messages?: () => MessageSender | undefined
  /** Scheduled jobs, for the `cron` tool (bound late: cron is created after the agent). */
  cron?: () => CronToolTarget | undefined
  /** The memory index, for memory_search / memory_get (absent or disabled: no memory tools). */
  memory?: () => MemoryService | undefined
  /** The skills section of the system prompt (SkillsService.promptSection). */
  skillsPrompt?: (workspace?: string) => string
  /** Folders of the skills listed in the prompt: the read tool may read them (SkillsService.readRoots). */
  skillsReadRoots?: (workspace?: string) => string[]
}

type LlmModule = typeof import("./llm.ts")

/** llm.ts is its own embedded entry point in the compiled binary (see util/embedded.ts). */
function importLlm(): Promise<LlmModule> {
  return importEntry<LlmModule>(typeof GATEWAY_LLM_ENTRY === "string" ? GATEWAY_LLM_ENTRY : undefined, new URL("./llm.ts", import.meta.url))
}
/** The embedded path of llm.ts in the binary, relative to its virtual root; defined by the build. */
declare const GATEWAY_LLM_ENTRY: string | undefined

export function createAgentSystem(deps: AgentSystemDeps): AgentFacade {
  const log = deps.log.child("agent")
  // Each agent's workspace gets its bootstrap files the first time one of its sessions needs it (agents.list can
  // grow at run time through agents.create).
  const ensured = new Set<string>()
  const ensure = (dir: string) => {
    if (ensured.has(dir)) return
    const created = ensureWorkspace(dir)
    ensured.add(dir)
    if (created.length) log.info(`workspace ${dir}: created ${created.join(", ")}`)
  }
  ensure(deps.workspace)
  const agentFor = (agentId: string): AgentRuntimeConfig => {
    const a = agentRuntimeConfig(cfg(), { workspace: deps.workspace }, agentId)
    ensure(a.workspace)
    return a
  }
  const repo = new SessionRepo(deps.store.db)
  const cfg = () => deps.config.current
  const approvals = new ApprovalRegistry(deps.bus, () => cfg().tools.exec.approvalTimeoutMs)

  let llm: Promise<LlmModule> | undefined
  const loadLlm = () => (llm ??= importLlm())

  // The built-in tools load on first use (a gateway that never runs an agent never builds their schemas). One
  // registry per agent and workspace (its file roots and exec cwd); each reads its tools config (tools, narrowed by
  // agents.list[].tools) through a getter, so policy changes apply on the next call, no rebuild.
  const registries = new Map<string, Promise<ToolRegistry>>()
  const registriesLoaded: ToolRegistry[] = []
  // One headless browser for the whole gateway (every agent, skills.invoke): each session gets its own context in it.
  let browserHost: BrowserHost | undefined
  const getRegistry = (agentId: string) => {
    const a = agentFor(agentId)
    const k = `${a.id}\0${a.workspace}`
    let r = registries.get(k)
    if (!r) {
      r = import("./tools/registry.ts").then((m) => {
        browserHost ??= m.createBrowserHost({ config: () => cfg().tools })
        const loaded = m.createToolRegistry({
          browser: browserHost,
          config: () => agentRuntimeConfig(cfg(), { workspace: deps.workspace }, a.id).tools,
          workspace: a.workspace,
          approve: (command, cwd, ctx) => approvals.request({ command, cwd, sessionKey: ctx.sessionKey, runId: ctx.runId, signal: ctx.signal }),
          readRoots: deps.skillsReadRoots ? () => deps.skillsReadRoots!(a.workspace) : undefined,
        })
        registriesLoaded.push(loaded)
        return loaded
      })
      registries.set(k, r)
    }
    return r
  }
  const defaultRegistry = () => getRegistry(agentRuntimeConfig(cfg(), { workspace: deps.workspace }, "").id)

  let runtime: AgentRuntime
  const messageTools = new WeakMap<ToolRegistry, ToolDef>()
  let memoryTools: Promise<ToolDef[]> | undefined
  let cronTool: Promise<ToolDef> | undefined
  const sessionTools = createSessionTools({ runtime: () => runtime, accept: deps.accept, repo, limits: () => cfg().agents.defaults.subagents })
  const toolsFor = async (sessionKey: string): Promise<ToolDef[]> => {
    const agent = agentFor(agentIdOf(sessionKey))
    const registry = await getRegistry(agent.id)
    const sender = deps.messages?.()
    let messageTool = messageTools.get(registry)
    if (!messageTool && sender && sender.channels().length > 0) {
      messageTool = createMessageTool(sender, (path) => registry.policy.resolvePath(path))
      messageTools.set(registry, messageTool)
    }
    const channelTools = sender && sender.channels().length > 0 && messageTool ? [messageTool] : []
    const memory = deps.memory?.()
    // The memory index covers the default workspace only: other agents do not search (or leak) its notes.
    const memTools =
      memory && cfg().memory.enabled && agent.workspace === deps.workspace
        ? await (memoryTools ??= import("../memory/tools.ts").then((m) => m.createMemoryTools(memory)))
        : []
    // The cron tool: not for sub-agents; announces only to chats the message tool may reach.
    const cronTarget = deps.cron?.()
    const cronTools =
      cronTarget && cfg().cron.enabled && kindOf(sessionKey) !== "subagent"
        ? [
            await (cronTool ??= import("./tools/cron.ts").then((m) =>
              m.createCronTool(cronTarget, { canAnnounce: (channel, to) => deps.messages?.()?.canSendTo(channel, to) ?? false }),
            )),
          ]
        : []
    const extra = [...sessionTools(sessionKey), ...channelTools, ...memTools, ...cronTools].filter((t) => registry.policy.isAllowed(t.name))
    return [...registry.list(), ...extra]
  }

  const models = deps.models ?? sdkModelLayer(deps, cfg, loadLlm)
  const { resolveModel, streamModel } = models

  runtime = new AgentRuntime({
    repo,
    bus: deps.bus,
    log: deps.log,
    config: cfg,
    workspace: deps.workspace,
    resolveModel,
    streamModel,
    tools: toolsFor,
    agentFor,
    skillsPrompt: deps.skillsPrompt,
    price: (ref) => {
      const slash = ref.indexOf("/")
      const def = cfg().models.providers[ref.slice(0, slash)]?.models.find((m) => m.id === ref.slice(slash + 1))
      return def?.cost ? { input: def.cost.input / 1e6, output: def.cost.output / 1e6 } : undefined
    },
  })
  announceSubagentResults(runtime, repo, deps.accept)

  return {
    runtime,
    sessions: repo,
    approvals,
    workspace: deps.workspace,

    recover() {
      const recovered = runtime.recover()
      if (recovered.resumed || recovered.requeued || recovered.rehomed) log.info("recovered runs after restart", recovered)
    },

    catalog: async (sessionKey = "agent:main:main") =>
      (await toolsFor(sessionKey)).map((t) => ({ name: t.name, description: t.description, parameters: toolJsonSchema(t) })),

    async invoke(name, args, sessionKey, signal) {
      const def = (await toolsFor(sessionKey)).find((t) => t.name === name)
      if (!def) return { found: false, output: "", isError: true }
      // The kind follows the key, as for runs: only the main session is "main" (and so sees MEMORY.md).
      repo.ensure({ key: sessionKey, agentId: agentIdOf(sessionKey), kind: kindOf(sessionKey) })
      const res = await runTool(def, args, {
        sessionKey,
        runId: `invoke:${crypto.randomUUID()}`,
        toolCallId: crypto.randomUUID(),
        signal: signal ?? new AbortController().signal,
        workspace: agentFor(agentIdOf(sessionKey)).workspace,
      })
      return { ...res, found: true }
    },

    async bash(command, workdir, timeoutMs, signal) {
      const [{ runCommand }, { prepareLaunch }] = await Promise.all([import("./tools/exec.ts"), import("./tools/exec-launch.ts")])
      const policy = (await defaultRegistry()).policy
      if (!policy.isAllowed("exec")) return { stdout: "", stderr: "", exitCode: null, denied: "exec is not allowed by tools.allow/tools.deny" }
      let cwd = deps.workspace
      let badWorkdir: string | undefined
      try {
        // resolveDir, as the exec tool does: a missing directory or a file is a clear refusal, not a spawn error.
        if (workdir) cwd = policy.resolveDir(workdir)
      } catch (err) {
        badWorkdir = (err as Error).message
      }
      // Relative paths in the command's arguments are checked against the directory it runs in.
      const decision = policy.checkExec(command, undefined, cwd)
      if (decision.decision === "deny") return { stdout: "", stderr: "", exitCode: null, denied: decision.reason }
      if (badWorkdir) return { stdout: "", stderr: "", exitCode: null, denied: badWorkdir }
      if (decision.decision === "ask" && !(await approvals.request({ command, cwd, signal }))) {
        return { stdout: "", stderr: "", exitCode: null, denied: "command denied by the operator (or the approval timed out)" }
      }
      let launch: { argv: string[]; env: Record<string, string> }
      try {
        launch = prepareLaunch(policy, { command, decision, cwd })
      } catch (err) {
        return { stdout: "", stderr: "", exitCode: null, denied: (err as Error).message }
      }
      // A client may ask for less time than the configured limit, never more.
      const limitMs = cfg().tools.exec.timeoutSeconds * 1000
      const r = await runCommand({
        command,
        argv: launch.argv,
        baseEnv: launch.env,
        workdir: cwd,
        timeoutMs: Math.min(timeoutMs ?? limitMs, limitMs),
        signal,
      })
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode }
    },

    async compact(key) {
      const s = repo.get(key)
      if (!s) return false
      const ref = s.model ?? agentFor(s.agentId).model
      const done = await compactSession({
        repo,
        key,
        sessionId: s.sessionId,
        keepRecentTokens: cfg().agents.defaults.compaction.keepRecentTokens,
        model: () => {
          if (!ref) throw new Error("no model configured to summarise with")
          return resolveModel(ref)
        },
        streamModel,
        signal: new AbortController().signal,
        modelRef: ref,
      })
      return done !== undefined
    },

    async promptReport() {
      const c = cfg()
      // The default agent's main session (agents.list), as a request naming no agent would run.
      const a = agentFor(agentIds(c).defaultId)
      const key = `agent:${a.id}:main`
      return buildSystemPrompt({
        workspace: a.workspace,
        tools: await toolsFor(key),
        sessionKey: key,
        isSubagent: false,
        isMainSession: true,
        model: a.model ?? "(none)",
        perFileMax: c.agents.defaults.bootstrapMaxChars,
        totalMax: c.agents.defaults.bootstrapTotalMaxChars,
        skills: deps.skillsPrompt?.(a.workspace),
      }).report
    },

    async stop() {
      await runtime.stop()
      // Background commands started by exec must not outlive the gateway.
      await Promise.all(registriesLoaded.map((r) => r.processes.killAll()))
      // The shared headless browser (browser tool) must not outlive it either.
      await Promise.all(registriesLoaded.map((r) => r.close()))
      await browserHost?.close()
    },
  }
}

/** The AI SDK model layer: provider clients resolved once per model ref (until the models config changes). */
function sdkModelLayer(deps: AgentSystemDeps, cfg: () => Config, loadLlm: () => Promise<LlmModule>): ModelLayer {
  let resolved = new Map<string, Promise<ModelHandle>>()
  deps.config.onChange((change) => {
    if (change.changedPaths.some((p) => p.startsWith("models."))) resolved = new Map()
  })
  return {
    resolveModel(ref) {
      let r = resolved.get(ref)
      if (!r) {
        r = loadLlm().then((m) => m.resolveModel(ref, cfg().models, deps.env ?? process.env))
        resolved.set(ref, r)
        // A failure (missing key) is not cached: the key may be set by the next attempt's config.
        r.catch(() => resolved.delete(ref))
      }
      return r
    },
    async *streamModel(o: StreamModelOptions): AsyncIterable<ModelEvent> {
      const mc = await loadLlm()
      yield* mc.streamModel(o as Parameters<LlmModule["streamModel"]>[0])
    },
  }
}
