/**
 * One agent run: model call → tool calls (in parallel) → results → repeat until the model stops, bounded by the
 * step cap and the run's abort signal (abort, timeout, shutdown). Each step is persisted atomically (the assistant
 * message together with all its tool results), so the transcript is valid after an abort or a crash: every tool call
 * has a result.
 */
import type { Bus } from "../bus/index.ts"
import type { Config } from "../config/schema.ts"
import type { SessionRepo, StoredMessage } from "../store/sessions.ts"
import type { Logger } from "../util/log.ts"
import { sleep } from "../util/timers.ts"
import { compactSession } from "./compact-session.ts"
import { CompactionError, RunFailure } from "./errors.ts"
import { contextOf, totalTokens } from "./compaction.ts"
import { MEMORY_NOTE, runMemoryFlush } from "./memory-flush.ts"
import { buildSystemPrompt } from "./prompt.ts"
import { RunEmitter } from "./run-events.ts"
import { withIdleTimeout } from "./idle-watch.ts"
import type { ModelFailure, ModelHandle, StreamModel } from "./model-types.ts"
import { runTool, toModelTool, type ToolDef } from "./tools/tool.ts"
import { addUsage, emptyUsage, messageText, reportedUsage, type AssistantMessage, type ToolMessage, type TranscriptMessage, type Usage } from "./types.ts"

/** An accepted message: its id (the inbound's idempotency key) and text. */
export interface InputMessage {
  inputId: string
  message: string
}

export interface RunInput {
  runId: string
  sessionKey: string
  /** The run's own message first, then those merged into it (collect); each written to the transcript once. */
  inputs: InputMessage[]
  /** Overrides the session's and the config's model. */
  model?: string
  extraSystemPrompt?: string
  /** Which door it came through. */
  source: string
  /** Picked up again after a crash. */
  resumed?: boolean
  /** Light context: only this run's own rows reach the model, not the session's history (heartbeats). */
  light?: boolean
}

export type RunStatus = "ok" | "error" | "aborted" | "timeout"

/** Why a run's signal was aborted: by a client, by its time limit, or by the gateway shutting down. */
export type AbortReason = { kind: "aborted" } | { kind: "timeout"; afterMs?: number } | { kind: "shutdown" }

export interface RunOutcome {
  runId: string
  sessionKey: string
  sessionId: string
  agentId: string
  status: RunStatus
  text: string
  stopReason: string
  usage: Usage
  provider?: string
  model?: string
  startedAt: number
  endedAt: number
  error?: string
  errorKind?: string
  toolNames: string[]
  steps: number
}

export interface RunDeps<M extends ModelHandle = ModelHandle> {
  repo: SessionRepo
  bus: Bus
  log: Logger
  config(): Config
  workspace: string
  resolveModel(ref: string): Promise<M>
  streamModel: StreamModel<M>
  /** The tools this session may use (policy applied). */
  tools(sessionKey: string): Promise<ToolDef[]>
  /** Messages steered into this session while it runs; taken (removed) by the run. */
  takeSteered(sessionKey: string): InputMessage[]
  /** USD per token for a model ref, if priced in config. */
  price(ref: string): { input: number; output: number } | undefined
  /** The session's agent (agents.list): its workspace and model; absent: deps.workspace and agents.defaults.model. */
  agentFor?(agentId: string): { workspace: string; model?: string; fallbacks?: string[] }
  /** The skills section of the system prompt (eligible, model-visible skills), read per model call so edits apply. */
  skillsPrompt?(workspace: string): string
}

interface StepResult {
  text: string
  toolCalls: { toolCallId: string; toolName: string; input: unknown }[]
  finishReason: string
  usage: Usage
}

/** Waits before each retry of a failed model call (a provider's retry-after wins, up to MAX_RETRY_AFTER_MS). */
const BACKOFF_MS = [250, 1000, 3000]
const MAX_RETRY_AFTER_MS = 30_000

function candidatesFor(cfg: Config, sessionModel: string | null | undefined, override?: string, agent?: { model?: string; fallbacks?: string[] }): string[] {
  const primary = override ?? sessionModel ?? (agent ? agent.model : (cfg.agents.defaults.model ?? cfg.models.default))
  const list = [primary, ...(agent?.fallbacks ?? cfg.models.fallbacks)].filter((m): m is string => !!m)
  return [...new Set(list)]
}

export async function executeRun<M extends ModelHandle>(deps: RunDeps<M>, input: RunInput, signal: AbortSignal): Promise<RunOutcome> {
  const cfg = deps.config()
  const session = deps.repo.get(input.sessionKey)
  if (!session) throw new Error(`session ${input.sessionKey} does not exist`)
  const startedAt = Date.now()
  // The session's agent decides the workspace (bootstrap files, memory notes, file tools' root) and the model.
  const agent = deps.agentFor?.(session.agentId)
  const workspace = agent?.workspace ?? deps.workspace
  const em = new RunEmitter(
    deps.bus,
    { runId: input.runId, sessionKey: session.key, sessionId: session.sessionId, agentId: session.agentId },
    cfg.agents.defaults.deltas,
  )
  const log = deps.log.child("agent")
  let usage = emptyUsage()
  const toolNames = new Set<string>()
  let provider: string | undefined
  let modelId: string | undefined
  let steps = 0
  let lastText = ""

  const outcome = (status: RunStatus, stopReason: string, extra: { error?: string; errorKind?: string } = {}): RunOutcome => ({
    runId: input.runId,
    sessionKey: session.key,
    sessionId: session.sessionId,
    agentId: session.agentId,
    status,
    text: lastText,
    stopReason,
    usage,
    provider,
    model: modelId,
    startedAt,
    endedAt: Date.now(),
    toolNames: [...toolNames],
    steps,
    ...extra,
  })

  em.status("preparing_context")
  const candidates = candidatesFor(cfg, session.model, input.model, agent)
  let candidateIndex = 0
  let overflowCompactions = 0

  /** The first candidate model that resolves (a key is set, the provider is known), or why none does. */
  const preflight = async (): Promise<RunFailure | undefined> => {
    for (;;) {
      const ref = candidates[candidateIndex]
      if (!ref) return new RunFailure({ message: "no model configured: set one with 'gateway config set models.default provider/model'", kind: "config" })
      try {
        await deps.resolveModel(ref)
        return undefined
      } catch (err) {
        const msg = (err as Error).message
        if (candidateIndex + 1 >= candidates.length) return new RunFailure({ message: msg, kind: (err as { kind?: string }).kind ?? "config" })
        log.warn(`model ${ref} unusable, trying ${candidates[candidateIndex + 1]}: ${msg}`)
        candidateIndex++
      }
    }
  }

  em.agent("lifecycle", { phase: "start", startedAt, ...(input.resumed ? { resumed: true } : {}) })
  // A run that cannot reach any model fails before its messages enter the transcript: no question is left there
  // without an answer, and the error says what to configure.
  const unusable = await preflight()
  if (unusable) {
    log.warn(`run ${input.runId} failed: ${unusable.message}`)
    return finish(outcome("error", "error", { error: unusable.message, errorKind: unusable.data.kind }))
  }
  // Idempotent: after a crash the resumed run finds its messages already written and adds only what is missing.
  const added = deps.repo.appendInputs(session.key, session.sessionId, input.runId, input.inputs)
  if (added === 0) {
    // A run that had already written its final answer when the gateway died only needs to be recorded as done.
    const answered = finalAnswerOf(deps.repo.transcript<TranscriptMessage>(session.key, session.sessionId), input.runId)
    if (answered !== undefined) {
      lastText = answered
      return finish(outcome("ok", "stop"))
    }
  }

  const persist = (items: TranscriptMessage[], stepUsage?: Usage, contextTokens?: number) =>
    deps.repo.append(
      session.key,
      session.sessionId,
      items,
      { runId: input.runId, model: modelId ? `${provider}/${modelId}` : undefined, role: (m) => m.role },
      stepUsage && { ...stepUsage, contextTokens },
    )

  const loadContext = () => {
    const rows = deps.repo.transcript<TranscriptMessage>(session.key, session.sessionId) as StoredMessage<TranscriptMessage>[]
    return contextOf(input.light ? rows.filter((r) => r.runId === input.runId) : rows)
  }

  /**
   * Summarises older turns with the current model; returns false when there was nothing to compact. With memory on
   * (memory.enabled and compaction.memoryFlush), a silent flush turn first lets the model append durable notes to
   * today's memory file (once per compaction), and the summary says where those notes are and how to search them.
   */
  const compact = async (model: M, tools: ToolDef[]): Promise<boolean> => {
    const memoryOn = cfg.memory.enabled
    const flushOn = memoryOn && cfg.agents.defaults.compaction.memoryFlush
    try {
      const done = await compactSession({
        repo: deps.repo,
        key: session.key,
        sessionId: session.sessionId,
        keepRecentTokens: cfg.agents.defaults.compaction.keepRecentTokens,
        model: async () => model,
        streamModel: deps.streamModel,
        signal,
        runId: input.runId,
        modelRef: modelId ? `${provider}/${modelId}` : undefined,
        onStart: (tokensBefore) => em.agent("compaction", { phase: "start", tokensBefore }),
        note: memoryOn ? MEMORY_NOTE : undefined,
        beforeSummary: flushOn
          ? async (m, transcript) => {
              const flushed = await runMemoryFlush({
                model: m,
                streamModel: deps.streamModel,
                transcript,
                tools,
                workspace,
                sessionKey: session.key,
                sessionId: session.sessionId,
                compactionCount: deps.repo.get(session.key)?.compactionCount ?? 0,
                runId: input.runId,
                signal,
                log,
              })
              if (flushed.skipped) log.debug(`memory flush skipped for ${session.key}: ${flushed.skipped}`)
              return flushed.usage
            }
          : undefined,
      })
      if (!done) return false
      usage = addUsage(usage, done.usage)
      em.agent("compaction", { phase: "end", tokensBefore: done.tokensBefore, tokensAfter: done.tokensAfter })
      log.info(`compacted ${session.key}`, { tokensBefore: done.tokensBefore, tokensAfter: done.tokensAfter })
      return true
    } catch (err) {
      if (CompactionError.isInstance(err)) throw new RunFailure({ message: err.message, kind: err.data.kind })
      throw err
    }
  }

  /** One model call with retries on retryable errors and failover to the next candidate model. */
  const step = async (tools: ToolDef[]): Promise<{ result: StepResult; model: M }> => {
    let attempt = 0
    for (;;) {
      if (signal.aborted) throw signal.reason ?? new RunFailure({ message: "aborted", kind: "aborted" })
      const ref = candidates[candidateIndex]
      if (!ref) throw new RunFailure({ message: "no model configured: set one with 'gateway config set models.default provider/model'", kind: "config" })
      let model: M
      try {
        model = await deps.resolveModel(ref)
      } catch (err) {
        const msg = (err as Error).message
        if (candidateIndex + 1 < candidates.length) {
          log.warn(`model ${ref} unusable, trying ${candidates[candidateIndex + 1]}: ${msg}`)
          candidateIndex++
          attempt = 0
          continue
        }
        throw new RunFailure({ message: msg, kind: (err as { kind?: string }).kind ?? "config" })
      }
      provider = model.provider
      modelId = model.modelId
      em.agent("lifecycle", { phase: "model", provider: model.provider, model: model.modelId })

      const { prompt } = buildSystemPrompt({
        workspace,
        tools,
        sessionKey: session.key,
        isSubagent: session.kind === "subagent",
        isMainSession: session.kind === "main",
        model: ref,
        perFileMax: cfg.agents.defaults.bootstrapMaxChars,
        totalMax: cfg.agents.defaults.bootstrapTotalMaxChars,
        extra: input.extraSystemPrompt,
        skills: session.kind === "subagent" ? undefined : deps.skillsPrompt?.(workspace),
      })
      let messages = loadContext()
      const window = Math.min(model.contextWindow, cfg.agents.defaults.contextTokens ?? Number.POSITIVE_INFINITY)
      if (totalTokens(messages, prompt) > window - cfg.agents.defaults.compaction.reserveTokens) {
        if (await compact(model, tools)) messages = loadContext()
      }

      const result: StepResult = { text: "", toolCalls: [], finishReason: "other", usage: emptyUsage() }
      let failure: ModelFailure | undefined
      em.restartText()
      const modelTools = tools.map(toModelTool)
      const idleMs = cfg.agents.defaults.modelIdleSeconds * 1000
      const events = withIdleTimeout(
        (callSignal) => deps.streamModel({ model, system: prompt, messages, tools: modelTools, signal: callSignal, maxOutputTokens: model.maxTokens }),
        idleMs,
        signal,
      )
      for await (const ev of events) {
        if (ev.type === "text-delta") {
          result.text += ev.delta
          em.delta(ev.delta)
        } else if (ev.type === "tool-call") result.toolCalls.push({ toolCallId: ev.toolCallId, toolName: ev.toolName, input: ev.input })
        else if (ev.type === "finish") {
          result.finishReason = ev.finishReason
          const price = deps.price(ref)
          result.usage = price ? { ...ev.usage, cost: ev.usage.input * price.input + ev.usage.output * price.output } : ev.usage
        } else if (ev.type === "error") failure = ev.error
      }
      if (!failure) return { result, model }

      if (failure.kind === "aborted" || signal.aborted) {
        lastText = result.text
        throw signal.reason ?? new RunFailure({ message: "aborted", kind: "aborted" })
      }
      if (failure.kind === "context_length" && overflowCompactions < 2) {
        overflowCompactions++
        log.warn(`context overflow on ${ref}; compacting and retrying`)
        if (await compact(model, tools)) continue
      }
      if (failure.retryable && attempt < BACKOFF_MS.length) {
        const wait = Math.min(Math.max(BACKOFF_MS[attempt++]!, failure.retryAfterMs ?? 0), MAX_RETRY_AFTER_MS)
        log.warn(`model ${ref} failed (${failure.kind}: ${failure.message}); retrying in ${wait} ms`)
        await sleep(wait, signal)
        continue
      }
      if ((failure.retryable || failure.kind === "auth") && candidateIndex + 1 < candidates.length) {
        log.warn(`model ${ref} failed (${failure.kind}); falling back to ${candidates[candidateIndex + 1]}`)
        candidateIndex++
        attempt = 0
        continue
      }
      throw new RunFailure({ message: `${ref}: ${failure.message}`, kind: failure.kind })
    }
  }

  try {
    em.status("starting_model")
    for (;;) {
      if (steps >= cfg.agents.defaults.maxSteps) {
        throw new RunFailure({ message: `stopped after ${steps} model calls (agents.defaults.maxSteps); the task may be unfinished`, kind: "max_steps" })
      }
      steps++
      const tools = await deps.tools(session.key)
      const { result } = await step(tools)
      usage = addUsage(usage, result.usage)
      em.agent("usage", { inputTokens: result.usage.input, outputTokens: result.usage.output, totalTokens: result.usage.total })
      const assistant: AssistantMessage = {
        role: "assistant",
        content: [
          ...(result.text ? [{ type: "text" as const, text: result.text }] : []),
          ...result.toolCalls.map((c) => ({ type: "tool-call" as const, ...c })),
        ],
      }
      if (result.text) lastText = result.text
      const contextTokens = result.usage.input + result.usage.output

      if (result.toolCalls.length === 0) {
        persist([assistant], result.usage, contextTokens)
        em.endStep()
        const steered = deps.takeSteered(session.key)
        if (steered.length === 0) return finish(outcome("ok", result.finishReason))
        // A message steered in after the last model call still gets an answer in this run.
        deps.repo.appendInputs(session.key, session.sessionId, input.runId, steered)
        continue
      }

      const byName = new Map(tools.map((t) => [t.name, t]))
      const results: ToolMessage[] = await Promise.all(
        result.toolCalls.map(async (call): Promise<ToolMessage> => {
          const def = byName.get(call.toolName)
          em.agent("tool", { phase: "start", name: call.toolName, toolCallId: call.toolCallId, args: call.input })
          const res = def
            ? await runTool(def, call.input, {
                sessionKey: session.key,
                runId: input.runId,
                toolCallId: call.toolCallId,
                signal,
                workspace,
                update: (partial) => em.agent("tool", { phase: "update", name: call.toolName, toolCallId: call.toolCallId, partialResult: partial }),
              })
            : { output: `Unknown tool '${call.toolName}'. Available tools: ${tools.map((t) => t.name).join(", ") || "none"}.`, isError: true }
          if (!res.isError) toolNames.add(call.toolName)
          em.agent("tool", { phase: "result", name: call.toolName, toolCallId: call.toolCallId, isError: !!res.isError, result: res.output, meta: res.meta })
          return { role: "tool", toolCallId: call.toolCallId, toolName: call.toolName, content: res.output, isError: !!res.isError }
        }),
      )
      // The assistant step and all its results land together: never a call without its result.
      persist([assistant, ...results], result.usage, contextTokens)
      em.endStep()
      if (signal.aborted) throw signal.reason ?? new RunFailure({ message: "aborted", kind: "aborted" })
      deps.repo.appendInputs(session.key, session.sessionId, input.runId, deps.takeSteered(session.key))
    }
  } catch (err) {
    const reason = signal.aborted ? signal.reason : err
    if (signal.aborted) {
      // Keep what was said before the abort; a half-streamed reply is stored as text (no dangling tool calls).
      if (lastText && !endsWithAssistantText(loadContext(), lastText)) persist([{ role: "assistant", content: [{ type: "text", text: lastText }] }])
      const why = reason as AbortReason | undefined
      if (why?.kind === "timeout") {
        const after = why.afterMs ? ` after ${Math.round(why.afterMs / 1000)} s` : ""
        return finish(
          outcome("timeout", "timeout", {
            error: `the run timed out${after} (agents.defaults.timeoutSeconds, or the request's timeout)`,
            errorKind: "timeout",
          }),
        )
      }
      const error = why?.kind === "shutdown" ? "aborted: the gateway was shutting down" : "aborted"
      return finish(outcome("aborted", "aborted", { error }))
    }
    const kind = RunFailure.isInstance(err) ? err.data.kind : "unknown"
    const message = (err as Error)?.message ?? String(err)
    log.warn(`run ${input.runId} failed: ${message}`)
    return finish(outcome("error", "error", { error: message, errorKind: kind }))
  }

  function finish(o: RunOutcome): RunOutcome {
    const usageData = reportedUsage(o.usage)
    if (o.status === "ok") {
      em.agent("lifecycle", {
        phase: "end",
        startedAt,
        endedAt: o.endedAt,
        aborted: false,
        stopReason: o.stopReason,
        terminalReply: { disposition: "visible", text: o.text },
      })
      em.final(o.text, o.stopReason, usageData)
    } else if (o.status === "aborted") {
      em.agent("lifecycle", { phase: "end", startedAt, endedAt: o.endedAt, aborted: true, stopReason: o.stopReason })
      em.aborted(o.text)
    } else {
      // Errors and timeouts: a timeout is an error with errorKind "timeout" (OpenClaw's chat vocabulary).
      em.agent("lifecycle", { phase: "error", startedAt, endedAt: o.endedAt, error: o.error, errorKind: o.errorKind })
      em.error(o.error ?? "run failed", chatErrorKind(o.errorKind))
    }
    return o
  }
}

/** The text of the run's last row when it is a final answer (assistant text, no tool calls), else undefined. */
function finalAnswerOf(rows: StoredMessage<TranscriptMessage>[], runId: string): string | undefined {
  const last = rows[rows.length - 1]
  if (!last || last.runId !== runId || last.message.role !== "assistant") return undefined
  if (last.message.content.some((p) => p.type === "tool-call")) return undefined
  return messageText(last.message) || undefined
}

function endsWithAssistantText(ctx: TranscriptMessage[], text: string): boolean {
  const last = ctx[ctx.length - 1]
  return last?.role === "assistant" && last.content.some((p) => p.type === "text" && p.text === text)
}

/** OpenClaw's chat errorKind vocabulary. */
function chatErrorKind(kind?: string): string {
  if (kind === "rate_limit") return "rate_limit"
  if (kind === "context_length") return "context_length"
  if (kind === "timeout") return "timeout"
  return "unknown"
}
