/** The pieces every method family is declared with: the lazy `method()` definition and params shared across families. */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import type { Scope } from "../scopes.ts"

/** `null` = no scope check at all (OpenClaw lets `health` through for any authenticated role). */
export type MethodScope = Scope | null

export interface MethodDef<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly name: string
  readonly scope: MethodScope
  /** What the client sends (validated by the dispatcher). */
  readonly params: P
  /** What the handler answers: every field we send is declared (the e2e harness checks each reply against it). */
  readonly result: R
}

/**
 * A method whose schemas are built on first use, not at import: dispatch touches `params` of the methods actually
 * called, and `result` is read only by tests, the schema export and clients that validate.
 */
export function method<P extends z.ZodType, R extends z.ZodType>(name: string, scope: MethodScope, params: () => P, result: () => R): MethodDef<P, R> {
  let p: P | undefined
  let r: R | undefined
  return {
    name,
    scope,
    get params() {
      return (p ??= params())
    },
    get result() {
      return (r ??= result())
    },
  }
}

/** Params are optional on the wire (`openclaw gateway health` sends none), so absent params parse as `{}`. */
export const NoParams = lazy(() => z.strictObject({}).optional().default({}))

export const IdempotencyKey = lazy(() => z.string().min(1).max(256).describe("Required: retrying with the same key returns the same run"))

/** Delivery and routing fields OpenClaw clients send with agent and chat.send. */
export function deliveryFields() {
  return {
    deliver: z.boolean().optional(),
    bestEffortDeliver: z.boolean().optional(),
    channel: z.string().optional(),
    to: z.string().optional(),
    accountId: z.string().optional(),
    threadId: z.union([z.string(), z.number()]).optional(),
    thinking: z.string().optional(),
    attachments: z.array(z.unknown()).max(0, "attachments are not supported yet").optional(),
  }
}
