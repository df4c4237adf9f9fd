/**
 * Wire frames of the OpenClaw gateway protocol: req, res, event, cancel, and the error shape; plus the helpers that
 * build them. Server and client construct every frame through these helpers, never as ad-hoc object literals.
 */
import { z } from "zod"
import type { ConnectParams } from "./connect.ts"
import type { EventName, EventPayload } from "./events.ts"
import type { MethodName, MethodParams } from "./methods/index.ts"

export const ErrorCode = z.enum([
  "NOT_LINKED",
  "NOT_PAIRED",
  "AGENT_TIMEOUT",
  "AGENT_RESULT_NOT_FOUND",
  "INVALID_REQUEST",
  "FORBIDDEN",
  "APPROVAL_NOT_FOUND",
  "UNAVAILABLE",
])
export type ErrorCode = z.infer<typeof ErrorCode>

export const ErrorShape = z.object({
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  retryable: z.boolean().optional(),
  retryAfterMs: z.number().int().nonnegative().optional(),
})
export type ErrorShape = z.infer<typeof ErrorShape>

export const RequestFrame = z.object({
  type: z.literal("req"),
  id: z.string().min(1),
  method: z.string().min(1),
  params: z.unknown().optional(),
  traceparent: z.string().optional(),
  expectedProfileId: z.string().optional(),
})
export type RequestFrame = z.infer<typeof RequestFrame>

export const ResponseFrame = z.object({
  type: z.literal("res"),
  id: z.string(),
  ok: z.boolean(),
  payload: z.unknown().optional(),
  error: ErrorShape.optional(),
})
export type ResponseFrame = z.infer<typeof ResponseFrame>

export const StateVersion = z.object({ presence: z.number().int(), health: z.number().int() })
export type StateVersion = z.infer<typeof StateVersion>

export const EventFrame = z.object({
  type: z.literal("event"),
  event: z.string(),
  payload: z.unknown().optional(),
  seq: z.number().int().positive().optional(),
  stateVersion: StateVersion.optional(),
})
export type EventFrame = z.infer<typeof EventFrame>

export const CancelFrame = z.object({ type: z.literal("cancel"), id: z.string() })
export type CancelFrame = z.infer<typeof CancelFrame>

/** Anything a server may send; clients parse incoming text with this. */
export const ServerFrame = z.discriminatedUnion("type", [ResponseFrame, EventFrame])
export type ServerFrame = z.infer<typeof ServerFrame>

/** A typed protocol failure; method handlers throw it and the dispatcher turns it into a `res` error. */
export class GatewayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly extra: { retryable?: boolean; retryAfterMs?: number } = {},
  ) {
    super(message)
    this.name = "GatewayError"
  }

  toShape(): ErrorShape {
    const shape: ErrorShape = { code: this.code, message: this.message }
    if (this.details) shape.details = this.details
    if (this.extra.retryable !== undefined) shape.retryable = this.extra.retryable
    if (this.extra.retryAfterMs !== undefined) shape.retryAfterMs = this.extra.retryAfterMs
    return shape
  }
}

/** Turns a zod issue list into one line naming each offending field, as OpenClaw's messages do. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const at = issue.path.length ? issue.path.join(".") : "root"
      if (issue.code === "unrecognized_keys") return `at ${at}: unexpected property ${issue.keys.map((k) => `'${k}'`).join(", ")}`
      if (issue.code === "invalid_type" && / received undefined$/.test(issue.message)) return `must have required property '${at}'`
      return `${at}: ${issue.message}`
    })
    .join("; ")
}

// ---- building frames ------------------------------------------------------------------------------------------------

/** A request to a method of the table, its params typed by the method; or the `connect` that opens a connection. */
export function reqFrame<M extends MethodName>(id: string, method: M, params?: MethodParams<M>): RequestFrame
export function reqFrame(id: string, method: "connect", params: ConnectParams): RequestFrame
export function reqFrame(id: string, method: string, params?: unknown): RequestFrame {
  return anyReqFrame(id, method, params)
}

/** A request by any name with any params (`gateway call` sends what the user typed; the server validates it). */
export function anyReqFrame(id: string, method: string, params?: unknown): RequestFrame {
  // No `params` key at all when there are none, as OpenClaw's CLI sends `health`.
  return params === undefined ? { type: "req", id, method } : { type: "req", id, method, params }
}

/** A successful reply: the method's result, hello-ok for connect, or the interim `accepted` of a two-stage method. */
export function okRes(id: string, payload: unknown): ResponseFrame {
  return { type: "res", id, ok: true, payload }
}

/** A failed reply. */
export function errRes(id: string, error: GatewayError | ErrorShape): ResponseFrame {
  return { type: "res", id, ok: false, error: error instanceof GatewayError ? error.toShape() : error }
}

/** An event, its payload typed by the event's name. `seq` and `stateVersion` are left out (not null) when absent. */
export function eventFrame<E extends EventName>(event: E, payload: EventPayload<E>, seq?: number, stateVersion?: StateVersion): EventFrame {
  const frame: EventFrame = { type: "event", event, payload }
  if (seq !== undefined) frame.seq = seq
  if (stateVersion) frame.stateVersion = stateVersion
  return frame
}
