/** The complete handler table; the type checker fails the build if a protocol method has no handler. */
import { configHandlers } from "./config.ts"
import { logsHandlers } from "./logs.ts"
import { modelsHandlers } from "./models.ts"
import type { HandlerTable } from "./registry.ts"
import { systemHandlers } from "./system.ts"

export const handlers: HandlerTable = {
  ...systemHandlers,
  ...logsHandlers,
  ...configHandlers,
  ...modelsHandlers,
}

export { isMethodName } from "./registry.ts"
export type { GatewayServices, MethodContext, CallerInfo } from "./context.ts"
