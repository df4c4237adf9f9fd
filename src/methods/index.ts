/** The complete handler table; the type checker fails the build if a protocol method has no handler. */
import { agentHandlers } from "./agent.ts"
import { agentInfoHandlers } from "./agent-info.ts"
import { approvalsHandlers } from "./approvals.ts"
import { channelsHandlers } from "./channels.ts"
import { chatHandlers } from "./chat.ts"
import { configHandlers } from "./config.ts"
import { logsHandlers } from "./logs.ts"
import { memoryHandlers } from "./memory.ts"
import { modelsHandlers } from "./models.ts"
import { nodesHandlers } from "./nodes.ts"
import type { HandlerTable } from "./registry.ts"
import { sessionsHandlers } from "./sessions.ts"
import { systemHandlers } from "./system.ts"
import { toolsHandlers } from "./tools.ts"
import { uiHandlers } from "./ui.ts"
import { usageHandlers } from "./usage.ts"

export const handlers: HandlerTable = {
  ...systemHandlers,
  ...logsHandlers,
  ...configHandlers,
  ...modelsHandlers,
  ...agentHandlers,
  ...chatHandlers,
  ...sessionsHandlers,
  ...toolsHandlers,
  ...channelsHandlers,
  ...memoryHandlers,
  ...agentInfoHandlers,
  ...approvalsHandlers,
  ...usageHandlers,
  ...uiHandlers,
  ...nodesHandlers,
}

export { isMethodName } from "./registry.ts"
export type { GatewayServices, MethodContext, CallerInfo } from "./context.ts"
