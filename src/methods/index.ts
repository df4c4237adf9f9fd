/** The complete handler table; the type checker fails the build if a protocol method has no handler. */
import { agentHandlers } from "./agent.ts"
import { agentInfoHandlers } from "./agent-info.ts"
import { agentsAdminHandlers } from "./agents-admin.ts"
import { approvalsHandlers } from "./approvals.ts"
import { channelsHandlers } from "./channels.ts"
import { chatHandlers } from "./chat.ts"
import { configHandlers } from "./config.ts"
import { devicesHandlers } from "./devices.ts"
import { logsHandlers } from "./logs.ts"
import { memoryHandlers } from "./memory.ts"
import { cronHandlers } from "./cron.ts"
import { modelsHandlers } from "./models.ts"
import { nodesHandlers } from "./nodes.ts"
import type { HandlerTable } from "./registry.ts"
import { sessionsHandlers } from "./sessions.ts"
import { skillsHandlers } from "./skills.ts"
import { systemHandlers } from "./system.ts"
import { toolsHandlers } from "./tools.ts"
import { uiHandlers } from "./ui.ts"
import { usageHandlers } from "./usage.ts"

export const handlers: HandlerTable = {
  ...systemHandlers,
  ...devicesHandlers,
  ...logsHandlers,
  ...configHandlers,
  ...modelsHandlers,
  ...agentHandlers,
  ...chatHandlers,
  ...sessionsHandlers,
  ...toolsHandlers,
  ...channelsHandlers,
  ...memoryHandlers,
  ...cronHandlers,
  ...skillsHandlers,
  ...agentInfoHandlers,
  ...agentsAdminHandlers,
  ...approvalsHandlers,
  ...usageHandlers,
  ...uiHandlers,
  ...nodesHandlers,
}

export { isMethodName } from "./registry.ts"
export type { GatewayServices, MethodContext, CallerInfo } from "./context.ts"
