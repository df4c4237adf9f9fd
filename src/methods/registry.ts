/** Binds the protocol's method table to handlers; the dispatcher reads only this. */
import type { z } from "zod"
import { METHODS, type MethodName } from "../protocol/index.ts"
import type { MethodContext } from "./context.ts"

export type Handler<M extends MethodName> = (
  params: z.output<(typeof METHODS)[M]["params"]>,
  ctx: MethodContext,
) => Promise<z.input<(typeof METHODS)[M]["result"]>> | z.input<(typeof METHODS)[M]["result"]>

export type HandlerTable = { [M in MethodName]: Handler<M> }
export type PartialHandlers = Partial<HandlerTable>

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(METHODS, name)
}
