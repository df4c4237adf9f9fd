/**
 * Every RPC method we implement: its params schema, its result schema and the scope it needs, one file per family.
 * Server dispatch, the client and the schema export all read this table, so a method's shape is declared exactly once.
 */
import type { z } from "zod"
import { agent, agentWait, wake } from "./agent.ts"
import { agentIdentityGet, agentsList } from "./agent-info.ts"
import { agentsCreate, agentsDelete, agentsFilesGet, agentsFilesList, agentsFilesSet, agentsUpdate } from "./agents-admin.ts"
import { execApprovalGet, execApprovalsGet, execApprovalsResolve, execApprovalsSet } from "./approvals.ts"
import {
  chatStartup,
  diagnosticsLanes,
  modelsAuthStatus,
  questionList,
  sessionsDescribe,
  sessionsMessagesSubscribe,
  sessionsObserverVisibility,
  sessionsPreview,
  sessionsSubscribe,
} from "./ui.ts"
import { usageCost, usageStatus } from "./usage.ts"
import { chatAbort, chatHistory, chatInject, chatSend } from "./chat.ts"
import { devicePairApprove, devicePairList, devicePairReject, devicePairRemove, devicePairRename, deviceTokenRevoke, deviceTokenRotate } from "./devices.ts"
import { configGet, configPatch, configSchema, configSet } from "./config.ts"
import { memoryReindex, memorySearch, memoryStatus } from "./memory.ts"
import { cronAdd, cronList, cronRemove, cronRun, cronRuns, cronStatus, cronUpdate, lastHeartbeat, setHeartbeats } from "./cron.ts"
import { skillsBins, skillsInstall, skillsInvoke, skillsStatus, skillsUpdate } from "./skills.ts"
import { modelsList } from "./models.ts"
import {
  nodeDescribe,
  nodeEvent,
  nodeExecApprovalRequest,
  nodeInvoke,
  nodeInvokeResult,
  nodeList,
  nodePairApprove,
  nodePairList,
  nodePairReject,
  nodePairRemove,
  nodePairRequest,
  nodeRename,
} from "./nodes.ts"
import {
  sessionsAbort,
  sessionsCompact,
  sessionsDelete,
  sessionsGet,
  sessionsList,
  sessionsPatch,
  sessionsReset,
  sessionsSpawn,
  sessionsTranscript,
} from "./sessions.ts"
import {
  channelsLogout,
  channelsPairingApprove,
  channelsPairingDismiss,
  channelsPairingList,
  channelsStart,
  channelsStatus,
  channelsStop,
  send,
} from "./channels.ts"
import { health, logsTail, status, systemPresence } from "./system.ts"
import { execApprovalList, execApprovalResolve, execBash, toolsCatalog, toolsInvoke } from "./tools.ts"

/** The method table of this build, in the order hello-ok advertises it. */
export const METHODS = {
  health,
  status,
  "system-presence": systemPresence,
  "logs.tail": logsTail,
  "config.get": configGet,
  "config.set": configSet,
  "config.patch": configPatch,
  "config.schema": configSchema,
  "models.list": modelsList,
  agent,
  "agent.wait": agentWait,
  wake,
  "chat.send": chatSend,
  "chat.history": chatHistory,
  "chat.abort": chatAbort,
  "chat.inject": chatInject,
  "sessions.list": sessionsList,
  "sessions.get": sessionsGet,
  "sessions.reset": sessionsReset,
  "sessions.delete": sessionsDelete,
  "sessions.compact": sessionsCompact,
  "sessions.patch": sessionsPatch,
  "sessions.abort": sessionsAbort,
  "sessions.spawn": sessionsSpawn,
  "sessions.transcript": sessionsTranscript,
  "tools.catalog": toolsCatalog,
  "tools.invoke": toolsInvoke,
  "exec.bash": execBash,
  "exec.approval.list": execApprovalList,
  "exec.approval.resolve": execApprovalResolve,
  send,
  "channels.status": channelsStatus,
  "channels.start": channelsStart,
  "channels.stop": channelsStop,
  "channels.logout": channelsLogout,
  "channels.pairing.list": channelsPairingList,
  "channels.pairing.approve": channelsPairingApprove,
  "channels.pairing.dismiss": channelsPairingDismiss,
  "memory.status": memoryStatus,
  "memory.search": memorySearch,
  "memory.reindex": memoryReindex,
  "cron.list": cronList,
  "cron.status": cronStatus,
  "cron.add": cronAdd,
  "cron.update": cronUpdate,
  "cron.remove": cronRemove,
  "cron.run": cronRun,
  "cron.runs": cronRuns,
  "last-heartbeat": lastHeartbeat,
  "set-heartbeats": setHeartbeats,
  "skills.status": skillsStatus,
  "skills.bins": skillsBins,
  "skills.install": skillsInstall,
  "skills.update": skillsUpdate,
  "skills.invoke": skillsInvoke,
  "agents.list": agentsList,
  "agent.identity.get": agentIdentityGet,
  "agents.create": agentsCreate,
  "agents.update": agentsUpdate,
  "agents.delete": agentsDelete,
  "agents.files.list": agentsFilesList,
  "agents.files.get": agentsFilesGet,
  "agents.files.set": agentsFilesSet,
  "exec.approvals.get": execApprovalsGet,
  "exec.approvals.set": execApprovalsSet,
  "exec.approval.get": execApprovalGet,
  "exec.approvals.resolve": execApprovalsResolve,
  "usage.status": usageStatus,
  "usage.cost": usageCost,
  "chat.startup": chatStartup,
  "sessions.subscribe": sessionsSubscribe,
  "sessions.messages.subscribe": sessionsMessagesSubscribe,
  "sessions.observer.visibility": sessionsObserverVisibility,
  "sessions.preview": sessionsPreview,
  "sessions.describe": sessionsDescribe,
  "question.list": questionList,
  "models.authStatus": modelsAuthStatus,
  "diagnostics.lanes": diagnosticsLanes,
  "node.list": nodeList,
  "node.describe": nodeDescribe,
  "node.rename": nodeRename,
  "node.pair.request": nodePairRequest,
  "node.pair.list": nodePairList,
  "node.pair.approve": nodePairApprove,
  "node.pair.reject": nodePairReject,
  "node.pair.remove": nodePairRemove,
  "node.invoke": nodeInvoke,
  "node.invoke.result": nodeInvokeResult,
  "node.exec.approval.request": nodeExecApprovalRequest,
  "node.event": nodeEvent,
  "device.pair.list": devicePairList,
  "device.pair.approve": devicePairApprove,
  "device.pair.reject": devicePairReject,
  "device.pair.remove": devicePairRemove,
  "device.pair.rename": devicePairRename,
  "device.token.rotate": deviceTokenRotate,
  "device.token.revoke": deviceTokenRevoke,
} as const

export type MethodName = keyof typeof METHODS
/** What a client sends (defaults not yet applied). */
export type MethodParams<M extends MethodName> = z.input<(typeof METHODS)[M]["params"]>
export type MethodResult<M extends MethodName> = z.infer<(typeof METHODS)[M]["result"]>

export type { MethodDef, MethodScope } from "./define.ts"
export * from "./agent.ts"
export * from "./agent-info.ts"
export * from "./agents-admin.ts"
export * from "./approvals.ts"
export * from "./ui.ts"
export * from "./usage.ts"
export * from "./channels.ts"
export * from "./chat.ts"
export * from "./config.ts"
export * from "./devices.ts"
export * from "./memory.ts"
export * from "./cron.ts"
export * from "./skills.ts"
export * from "./models.ts"
export * from "./nodes.ts"
export * from "./sessions.ts"
export * from "./system.ts"
export * from "./tools.ts"
