/**
 * POST /v1/chat/completions (off by default: http.chatCompletions.enabled): any OpenAI client can talk to the agent.
 * Each request runs one turn in a session: the `user` field or the x-openclaw-session-key header picks a stable one,
 * otherwise a fresh session per request. Streaming uses OpenAI's chunk format and ends with `data: [DONE]`.
 */
import { Hono, type MiddlewareHandler } from "hono"
import { streamSSE } from "hono/streaming"
import { z } from "zod"
import type { AgentFacade } from "../agent/facade.ts"
import type { RunOutcome } from "../agent/run.ts"
import { RunRejected } from "../agent/errors.ts"
import { RunProgress } from "../agent/events.ts"
import type { Bus } from "../bus/index.ts"
import { resolveSessionKey, type Router, type SessionSpec } from "../router/index.ts"
import { jsonBody } from "./json-body.ts"
import { OpenAiDeltas } from "./openai-delta.ts"

const Message = z.object({
  role: z.enum(["system", "user", "assistant", "tool", "developer"]),
  content: z.union([z.string(), z.array(z.object({ type: z.string(), text: z.string().optional() }).loose()), z.null()]),
})

const Body = z
  .object({
    model: z.string().default("gateway"),
    messages: z.array(Message).min(1),
    stream: z.boolean().optional(),
    user: z.string().max(256).optional(),
  })
  .loose()

function text(content: z.infer<typeof Message>["content"]): string {
  if (typeof content === "string") return content
  if (!content) return ""
  return content.map((p) => p.text ?? "").join("")
}

function oaiError(message: string, type = "invalid_request_error", code?: string) {
  return { error: { message, type, code: code ?? null } }
}

export function openAiRoutes(deps: { enabled(): boolean; agent(): AgentFacade; router(): Router; bus: Bus }): Hono {
  const app = new Hono()
  // Off before the body is even read: a disabled endpoint answers 404 whatever was sent.
  const enabled: MiddlewareHandler = async (c, next) => {
    if (!deps.enabled())
      return c.json(oaiError("the chat completions endpoint is disabled (http.chatCompletions.enabled)", "invalid_request_error", "endpoint_disabled"), 404)
    await next()
  }
  const validBody = jsonBody(Body, (c, problem) =>
    c.json(oaiError(problem.kind === "not-json" ? "body must be JSON" : `invalid request: ${problem.issues}`), 400),
  )
  app.post("/chat/completions", enabled, validBody, async (c) => {
    const body = c.req.valid("json")
    const lastUser = [...body.messages].reverse().find((m) => m.role === "user")
    if (!lastUser || !text(lastUser.content)) return c.json(oaiError("messages must contain a user message with text"), 400)

    // model "gateway", "openclaw" or "openclaw/<agentId>" selects the agent; anything else is a model override.
    // Neither: the router picks the default agent (agents.list).
    const agentId = c.req.header("x-openclaw-agent-id") ?? (/^(openclaw|gateway)[/:]/.test(body.model) ? body.model.split(/[/:]/)[1] : undefined)
    const modelOverride = c.req.header("x-openclaw-model") ?? (/^(openclaw|gateway)([/:].*)?$/.test(body.model) ? undefined : body.model)
    const headerKey = c.req.header("x-openclaw-session-key")
    // Without a `user` the request gets a session of its own: chosen here, so we know it is new.
    const session: SessionSpec = headerKey ? { kind: "key", key: headerKey, agentId } : { kind: "openai", agentId, user: body.user ?? crypto.randomUUID() }
    const sessionKey = resolveSessionKey(session)
    const agent = deps.agent()
    const isNew = !agent.sessions.get(sessionKey)
    // A stateless client resends the whole conversation; a new session gets it as context, a known one has it.
    const system = body.messages
      .filter((m) => m.role === "system" || m.role === "developer")
      .map((m) => text(m.content))
      .join("\n\n")
    const earlier = body.messages.slice(0, body.messages.lastIndexOf(lastUser)).filter((m) => m.role === "user" || m.role === "assistant")
    const message =
      isNew && earlier.length
        ? `[Earlier conversation]\n${earlier.map((m) => `${m.role}: ${text(m.content)}`).join("\n")}\n\n[Current message]\n${text(lastUser.content)}`
        : text(lastUser.content)

    const runId = crypto.randomUUID()
    const id = `chatcmpl-${runId}`
    const created = Math.floor(Date.now() / 1000)
    const model = body.model

    const deltas: string[] = []
    let wake: (() => void) | undefined
    const pieces = new OpenAiDeltas()
    const unsubscribe = deps.bus.subscribe(RunProgress, (p) => {
      if (p.runId !== runId || p.stream !== "assistant") return
      const piece = pieces.push(p.data as { text?: string; delta?: string; replace?: boolean })
      if (piece) {
        deltas.push(piece)
        wake?.()
      }
    })
    try {
      deps.router().accept({
        origin: { door: "http.openai", ...(body.user ? { senderId: body.user } : {}) },
        session,
        message,
        idempotencyKey: runId,
        delivery: { kind: "none" },
        run: { model: modelOverride, extraSystemPrompt: system || undefined },
      })
    } catch (err) {
      unsubscribe()
      const status = RunRejected.isInstance(err) && err.data.kind === "budget" ? 429 : 503
      return c.json(oaiError((err as Error).message, "server_error"), status)
    }
    const done = agent.runtime.wait(runId, 24 * 3600_000) as Promise<RunOutcome | undefined>
    c.req.raw.signal.addEventListener("abort", () => agent.runtime.abort(sessionKey, runId), { once: true })

    const usageOf = (o?: RunOutcome) => ({ prompt_tokens: o?.usage.input ?? 0, completion_tokens: o?.usage.output ?? 0, total_tokens: o?.usage.total ?? 0 })

    if (!body.stream) {
      const o = await done
      unsubscribe()
      if (!o || o.status === "error") return c.json(oaiError(o?.error ?? "run failed", "server_error", o?.errorKind), 502)
      return c.json({
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message: { role: "assistant", content: o.text }, finish_reason: o.status === "ok" ? "stop" : "length" }],
        usage: usageOf(o),
      })
    }

    return streamSSE(c, async (stream) => {
      const chunk = (delta: Record<string, unknown>, finish: string | null) =>
        stream.writeSSE({
          data: JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish }] }),
        })
      await chunk({ role: "assistant" }, null)
      let outcome: RunOutcome | undefined
      let finished = false
      done.then((o) => {
        outcome = o
        finished = true
        wake?.()
      })
      try {
        for (;;) {
          while (deltas.length) await chunk({ content: deltas.shift()! }, null)
          if (finished) break
          await new Promise<void>((r) => (wake = r))
          wake = undefined
        }
        if (outcome?.status === "error") {
          await stream.writeSSE({ data: JSON.stringify(oaiError(outcome.error ?? "run failed", "server_error", outcome.errorKind)) })
        } else {
          await chunk({}, outcome?.status === "ok" ? "stop" : "length")
          await stream.writeSSE({ data: JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [], usage: usageOf(outcome) }) })
        }
        await stream.writeSSE({ data: "[DONE]" })
      } finally {
        unsubscribe()
      }
    })
  })
  return app
}
