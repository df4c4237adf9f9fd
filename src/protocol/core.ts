/**
 * The zod-free half of the wire contract: protocol versions, GatewayError and the frame builders. The index
 * re-exports all of it; the CLI's client imports it from here so that talking to a gateway never has to load zod
 * or build a schema (frames are checked by the validators generated from the schemas, validators.gen.ts).
 */
import type { ConnectParams } from "./connect.ts"
import type { EventName, EventPayload } from "./events.ts"
import type { ErrorCode, ErrorShape, EventFrame, RequestFrame, ResponseFrame, StateVersion } from "./frames.ts"
import type { MethodName, MethodParams } from "./methods/index.ts"

/** We speak 4 and still accept 3 (probes and nodes of the previous release use it). */
export const PROTOCOL_VERSION = 4
export const MIN_PROTOCOL_VERSION = 3

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
