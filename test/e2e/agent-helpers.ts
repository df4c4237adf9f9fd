/**
 * Shared pieces of the agent e2e tests (agent-*.test.ts): scriptable fake model servers for both wire formats,
 * gateway configs pointing at them, wire-format readers for what the fake received, and frame helpers for
 * two-stage `agent` replies and run events.
 */
import { expect } from "bun:test"
import { startFakeAnthropic } from "../fakes/anthropic.ts"
import type { FakeRequestBody, FakeServer, FakeStep } from "../fakes/common.ts"
import { startFakeOpenAI } from "../fakes/openai.ts"
import type { RawFrame, RawSocket } from "./harness.ts"

export type Kind = "openai" | "anthropic"
export const KINDS: Kind[] = ["openai", "anthropic"]

export type Handler = (body: FakeRequestBody, index: number) => FakeStep | Promise<FakeStep>

/** A fake whose script a test replaces at will; it also notes when each request arrived (test-process clock). */
export interface ScriptedFake {
  kind: Kind
  server: FakeServer
  /** Date.now() at each request's arrival, parallel to server.requests. */
  arrivals: number[]
  /** Steps consumed in order (a missing step answers HTTP 500 "unscripted"), or a function of the request. */
  script(steps: FakeStep[] | Handler): void
  /** Requests received since `from` (an index taken with mark()). */
  since(from: number): FakeRequestBody[]
  mark(): number
}

export function scriptedFake(kind: Kind): ScriptedFake {
  let handler: Handler = () => unscripted
  const arrivals: number[] = []
  const start = kind === "openai" ? startFakeOpenAI : startFakeAnthropic
  const server = start((body, i) => {
    arrivals.push(Date.now())
    return handler(body, i)
  })
  return {
    kind,
    server,
    arrivals,
    script(steps) {
      if (typeof steps === "function") handler = steps
      else {
        const queue = [...steps]
        handler = () => queue.shift() ?? unscripted
      }
    },
    since: (from) => server.requests.slice(from),
    mark: () => server.requests.length,
  }
}

const unscripted: FakeStep = { error: { status: 500, body: { error: { message: "fake: unscripted request", type: "server_error" } } } }

/** models.providers.<id> for a fake: the OpenAI wire is the schema default, Anthropic needs its api. */
export function providerFor(fake: ScriptedFake, models: { id: string; contextWindow?: number; maxTokens?: number }[] = [{ id: "fake-model" }]) {
  return { ...(fake.kind === "anthropic" ? { api: "anthropic-messages" } : {}), baseUrl: fake.server.url, apiKey: "sk-test", models }
}

// ---- what the fake received, per wire format ----------------------------------------------------------------

type Part = { type?: string; text?: string; [k: string]: unknown }
const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? (content as Part[]).map((p) => (p.type === "text" || p.type === undefined ? (p.text ?? "") : "")).join("")
      : ""

export function systemOf(kind: Kind, body: FakeRequestBody): string {
  if (kind === "anthropic") return textOf(body.system)
  return (body.messages as { role: string; content: unknown }[])
    .filter((m) => m.role === "system" || m.role === "developer")
    .map((m) => textOf(m.content))
    .join("\n")
}

/** The text of every user message (Anthropic tool_result blocks excluded), in order. */
export function userTexts(kind: Kind, body: FakeRequestBody): string[] {
  const msgs = body.messages as { role: string; content: unknown }[]
  if (kind === "openai") return msgs.filter((m) => m.role === "user").map((m) => textOf(m.content))
  // The Anthropic SDK merges consecutive user messages into one with several text blocks: one entry per block.
  return msgs
    .filter((m) => m.role === "user")
    .flatMap((m) => (typeof m.content === "string" ? [m.content] : (m.content as Part[]).filter((p) => p.type === "text").map((p) => p.text ?? "")))
}

export function assistantTexts(_kind: Kind, body: FakeRequestBody): string[] {
  return (body.messages as { role: string; content: unknown }[]).filter((m) => m.role === "assistant").map((m) => textOf(m.content))
}

/** Tool calls the request replays (assistant messages), in order. */
export function toolCallsOf(kind: Kind, body: FakeRequestBody): { id: string; name: string; args: unknown }[] {
  const out: { id: string; name: string; args: unknown }[] = []
  for (const m of body.messages as { role: string; content: unknown; tool_calls?: { id: string; function: { name: string; arguments: string } }[] }[]) {
    if (m.role !== "assistant") continue
    if (kind === "openai") for (const c of m.tool_calls ?? []) out.push({ id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments) })
    else if (Array.isArray(m.content))
      for (const p of m.content as Part[]) if (p.type === "tool_use") out.push({ id: p.id as string, name: p.name as string, args: p.input })
  }
  return out
}

/** Tool results the request carries, with the position of the message holding them. */
export function toolResultsOf(kind: Kind, body: FakeRequestBody): { id: string; text: string; isError?: boolean; index: number }[] {
  const out: { id: string; text: string; isError?: boolean; index: number }[] = []
  ;(body.messages as { role: string; content: unknown; tool_call_id?: string }[]).forEach((m, index) => {
    if (kind === "openai" && m.role === "tool") out.push({ id: m.tool_call_id!, text: textOf(m.content), index })
    if (kind === "anthropic" && m.role === "user" && Array.isArray(m.content)) {
      for (const p of m.content as Part[])
        if (p.type === "tool_result") out.push({ id: p.tool_use_id as string, text: textOf(p.content), isError: p.is_error as boolean | undefined, index })
    }
  })
  return out
}

/** Index of the message that makes the tool call `id`. */
export function toolCallIndex(kind: Kind, body: FakeRequestBody, id: string): number {
  return (body.messages as { role: string; content: unknown; tool_calls?: { id: string }[] }[]).findIndex(
    (m) =>
      m.role === "assistant" &&
      (kind === "openai"
        ? (m.tool_calls ?? []).some((c) => c.id === id)
        : Array.isArray(m.content) && (m.content as Part[]).some((p) => p.type === "tool_use" && p.id === id)),
  )
}

/** A context-overflow answer as each provider really sends it. */
export function overflowError(kind: Kind): FakeStep {
  if (kind === "openai") {
    return {
      error: {
        status: 400,
        body: {
          error: {
            message:
              "This model's maximum context length is 3000 tokens. However, your messages resulted in 4100 tokens. Please reduce the length of the messages.",
            type: "invalid_request_error",
            param: "messages",
            code: "context_length_exceeded",
          },
        },
      },
    }
  }
  return {
    error: { status: 400, body: { type: "error", error: { type: "invalid_request_error", message: "prompt is too long: 4100 tokens > 3000 maximum" } } },
  }
}

// ---- frames -------------------------------------------------------------------------------------------------

let reqSeq = 0

/** Sends `agent` and returns the interim (accepted) and the final res, both on the same request id. */
export async function agentTwoStage(
  sock: RawSocket,
  params: Record<string, unknown>,
  timeoutMs = 15_000,
): Promise<{ id: string; accepted: RawFrame; final: RawFrame }> {
  const id = sendAgent(sock, params)
  const accepted = await sock.response(id, timeoutMs)
  const final = await finalRes(sock, id, timeoutMs)
  return { id, accepted, final }
}

export function sendAgent(sock: RawSocket, params: Record<string, unknown>): string {
  const id = `agent-${++reqSeq}`
  sock.send({ type: "req", id, method: "agent", params })
  return id
}

/** The final res of a two-stage request: any res on `id` that is not the accepted interim. */
export function finalRes(sock: RawSocket, id: string, timeoutMs = 15_000): Promise<RawFrame> {
  return sock.waitFor((f) => f.type === "res" && f.id === id && !(f.ok === true && (f.payload as { status?: string })?.status === "accepted"), timeoutMs)
}

export function resOn(sock: RawSocket, id: string): RawFrame[] {
  return sock.frames.filter((f) => f.type === "res" && f.id === id)
}

export type Payload = Record<string, any>

export function runEvents(sock: RawSocket, runId: string, event: "agent" | "chat"): Payload[] {
  return sock
    .events(event)
    .map((f) => f.payload as Payload)
    .filter((p) => p.runId === runId)
}

export function waitEvent(sock: RawSocket, event: "agent" | "chat", pred: (p: Payload) => boolean, timeoutMs = 10_000): Promise<Payload> {
  return sock.waitFor((f) => f.type === "event" && f.event === event && pred(f.payload as Payload), timeoutMs).then((f) => f.payload as Payload)
}

/** Every tool-call part in a stored transcript has exactly one tool message answering it (and none is orphaned). */
export function expectValidTranscript(messages: Payload[]): void {
  const calls = messages
    .filter((m) => m.role === "assistant")
    .flatMap((m) => (m.content as Payload[]).filter((p) => p.type === "tool-call").map((p) => p.toolCallId as string))
  const results = messages.filter((m) => m.role === "tool").map((m) => m.toolCallId as string)
  expect([...results].sort()).toEqual([...calls].sort())
  for (const id of calls) {
    const at = messages.findIndex((m) => m.role === "assistant" && (m.content as Payload[]).some((p) => p.type === "tool-call" && p.toolCallId === id))
    const res = messages.findIndex((m) => m.role === "tool" && m.toolCallId === id)
    expect(res).toBeGreaterThan(at)
  }
}

export function expectStrictlyIncreasing(seqs: number[]): void {
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!)
}

export const uid = () => crypto.randomUUID().slice(0, 8)
