/**
 * Wire frames of the OpenClaw gateway protocol: req, res, event, cancel, and the error shape; plus the helpers that
 * build them. Server and client construct every frame through these helpers, never as ad-hoc object literals.
 */
import { z } from "zod"
import { lazySchema } from "./lazy.ts"

// The builders and GatewayError need no zod; they live in core.ts so clients can use them without loading it.
export { anyReqFrame, errRes, eventFrame, GatewayError, okRes, reqFrame } from "./core.ts"

export const ErrorCode = lazySchema(() =>
  z.enum(["NOT_LINKED", "NOT_PAIRED", "AGENT_TIMEOUT", "AGENT_RESULT_NOT_FOUND", "INVALID_REQUEST", "FORBIDDEN", "APPROVAL_NOT_FOUND", "UNAVAILABLE"]),
)
export type ErrorCode = z.infer<typeof ErrorCode>

export const ErrorShape = lazySchema(() =>
  z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
    retryable: z.boolean().optional(),
    retryAfterMs: z.number().int().nonnegative().optional(),
  }),
)
export type ErrorShape = z.infer<typeof ErrorShape>

export const RequestFrame = lazySchema(() =>
  z.object({
    type: z.literal("req"),
    id: z.string().min(1),
    method: z.string().min(1),
    params: z.unknown().optional(),
    traceparent: z.string().optional(),
    expectedProfileId: z.string().optional(),
  }),
)
export type RequestFrame = z.infer<typeof RequestFrame>

export const ResponseFrame = lazySchema(() =>
  z.object({
    type: z.literal("res"),
    id: z.string(),
    ok: z.boolean(),
    payload: z.unknown().optional(),
    error: ErrorShape.optional(),
  }),
)
export type ResponseFrame = z.infer<typeof ResponseFrame>

export const StateVersion = lazySchema(() => z.object({ presence: z.number().int(), health: z.number().int() }))
export type StateVersion = z.infer<typeof StateVersion>

export const EventFrame = lazySchema(() =>
  z.object({
    type: z.literal("event"),
    event: z.string(),
    payload: z.unknown().optional(),
    seq: z.number().int().positive().optional(),
    stateVersion: StateVersion.optional(),
  }),
)
export type EventFrame = z.infer<typeof EventFrame>

export const CancelFrame = lazySchema(() => z.object({ type: z.literal("cancel"), id: z.string() }))
export type CancelFrame = z.infer<typeof CancelFrame>

/** Anything a server may send; clients parse incoming text with this. */
export const ServerFrame = lazySchema(() => z.discriminatedUnion("type", [ResponseFrame, EventFrame]))
export type ServerFrame = z.infer<typeof ServerFrame>

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
