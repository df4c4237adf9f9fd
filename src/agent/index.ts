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
import { ApprovalRegistry } from "./approvals.ts"
import { compactSession } from "./compact-session.ts"
import type { AgentFacade } from "./facade.ts"
import { buildSystemPrompt, ensureWorkspace } from "./prompt.ts"
import type { ModelEvent, ModelHandle, ModelLayer, StreamModelOptions } from "./model-types.ts"
import { createMessageTool, type MessageSender } from "./message-tool.ts"
import { AgentRuntime } from "./runtime.ts"
import { agentIdOf, kindOf } from "./session-key.ts"
import { announceSubagentResults, createSessionTools } from "./session-tools.ts"
import type { ToolRegistry } from "./tools/registry.ts"
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
  /** The memory index, for memory_search / memory_get (absent or disabled: no memory tools). */
  memory?: () => MemoryService | undefined
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
  const created = ensureWorkspace(deps.workspace)
  if (created.length) log.info(`workspace ${deps.workspace}: created ${created.join(", ")}`)
  const repo = new SessionRepo(deps.store.db)
  const cfg = () => deps.config.current
  const approvals = new ApprovalRegistry(deps.bus, () => cfg().tools.exec.approvalTimeoutMs)

  let llm: Promise<LlmModule> | undefined
  const loadLlm = () => (llm ??= importLlm())

  // The built-in tools load on first use (a gateway that never runs an agent never builds their schemas). The
  // registry reads the tools config through a getter, so policy changes apply on the next call, no rebuild.
  let registryPromise: Promise<ToolRegistry> | undefined
  let registryLoaded: ToolRegistry | undefined
  const getRegistry = () =>
    (registryPromise ??= import("./tools/registry.ts").then((m) => {
      registryLoaded = m.createToolRegistry({
        config: () => cfg().tools,
        workspace: deps.workspace,
        approve: (command, cwd, ctx) => approvals.request({ command, cwd, sessionKey: ctx.sessionKey, runId: ctx.runId, signal: ctx.signal }),
      })
      return registryLoaded
    }))

  let runtime: AgentRuntime
  let messageTool: ToolDef | undefined
  let memoryTools: Promise<ToolDef[]> | undefined
  const sessionTools = createSessionTools({ runtime: () => runtime, accept: deps.accept, repo, limits: () => cfg().agents.defaults.subagents })
  const toolsFor = async (sessionKey: string): Promise<ToolDef[]> => {
    const registry = await getRegistry()
    const sender = deps.messages?.()
    const channelTools =
      sender && sender.channels().length > 0 ? [(messageTool ??= createMessageTool(sender, (path) => registry.policy.resolvePath(path)))] : []
    const memory = deps.memory?.()
    const memTools = memory && cfg().memory.enabled ? await (memoryTools ??= import("../memory/tools.ts").then((m) => m.createMemoryTools(memory))) : []
    const extra = [...sessionTools(sessionKey), ...channelTools, ...memTools].filter((t) => registry.policy.isAllowed(t.name))
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
        workspace: deps.workspace,
      })
      return { ...res, found: true }
    },

    async bash(command, workdir, timeoutMs, signal) {
      const [{ runCommand }, { prepareLaunch }] = await Promise.all([import("./tools/exec.ts"), import("./tools/exec-launch.ts")])
      const policy = (await getRegistry()).policy
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
      const ref = s.model ?? cfg().agents.defaults.model ?? cfg().models.default
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
      return buildSystemPrompt({
        workspace: deps.workspace,
        tools: await toolsFor("agent:main:main"),
        sessionKey: "agent:main:main",
        isSubagent: false,
        isMainSession: true,
        model: c.agents.defaults.model ?? c.models.default ?? "(none)",
        perFileMax: c.agents.defaults.bootstrapMaxChars,
        totalMax: c.agents.defaults.bootstrapTotalMaxChars,
      }).report
    },

    async stop() {
      await runtime.stop()
      // Background commands started by exec must not outlive the gateway.
      await registryLoaded?.processes.killAll()
      // The shared headless browser (browser tool) must not outlive it either.
      await registryLoaded?.close()
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
