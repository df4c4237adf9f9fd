/**
 * Node methods (OpenClaw's names and shapes): the registry (node.list / describe / rename), node pairing
 * (node.pair.*), the invoke relay (node.invoke from an operator → node.invoke.request event to the node →
 * node.invoke.result from the node) and node.exec.approval.request, by which a node host in "ask" mode asks the
 * gateway's operators before running a command.
 */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { IdempotencyKey, method, NoParams } from "./define.ts"

const NodeId = lazy(() => z.string().min(1).max(256))

/** One node as node.list shows it: declared at connect by a `role: "node"` connection, remembered once paired. */
export const NodeEntry = lazy(() =>
  z.object({
    nodeId: z.string(),
    displayName: z.string().optional(),
    platform: z.string().optional(),
    version: z.string().optional(),
    deviceFamily: z.string().optional(),
    remoteIp: z.string().optional(),
    caps: z.array(z.string()),
    commands: z.array(z.string()),
    permissions: z.record(z.string(), z.boolean()).optional(),
    paired: z.boolean(),
    connected: z.boolean(),
    connectedAtMs: z.number().optional(),
    lastSeenAtMs: z.number().optional().describe("When a disconnected node was last connected"),
  }),
)
export type NodeEntry = z.infer<ReturnType<typeof NodeEntry>>

export const NodePairRequest = lazy(() =>
  z.object({
    requestId: z.string(),
    nodeId: z.string(),
    displayName: z.string().optional(),
    platform: z.string().optional(),
    version: z.string().optional(),
    remoteIp: z.string().optional(),
    caps: z.array(z.string()).optional(),
    commands: z.array(z.string()).optional(),
    ts: z.number(),
  }),
)

export const PairedNode = lazy(() =>
  z.object({
    nodeId: z.string(),
    displayName: z.string().optional(),
    platform: z.string().optional(),
    version: z.string().optional(),
    caps: z.array(z.string()),
    commands: z.array(z.string()),
    createdAtMs: z.number(),
    approvedAtMs: z.number(),
    lastSeenAtMs: z.number().optional(),
  }),
)

export const NodeError = lazy(() => z.object({ code: z.string().optional(), message: z.string().optional() }))

/** Sent to one node connection: run `command` and answer with node.invoke.result {id, …}. */
export const NodeInvokeRequestEvent = lazy(() =>
  z.object({
    id: z.string(),
    nodeId: z.string(),
    command: z.string(),
    paramsJSON: z.string().optional().describe("The caller's params as JSON text"),
    timeoutMs: z.number().optional(),
    idempotencyKey: z.string().optional(),
  }),
)

export const NodePairRequestedEvent = NodePairRequest

export const NodePairResolvedEvent = lazy(() =>
  z.object({ requestId: z.string(), nodeId: z.string(), decision: z.enum(["approved", "rejected"]), ts: z.number() }),
)

export const nodeList = method("node.list", "operator.read", NoParams, () => z.object({ ts: z.number(), nodes: z.array(NodeEntry()) }))

export const nodeDescribe = method(
  "node.describe",
  "operator.read",
  () => z.object({ nodeId: NodeId() }).loose(),
  () => z.object({ ts: z.number(), ...NodeEntry().shape }),
)

export const nodeRename = method(
  "node.rename",
  "operator.pairing",
  () => z.strictObject({ nodeId: NodeId(), displayName: z.string().trim().min(1).max(256) }),
  () => z.object({ nodeId: z.string(), displayName: z.string() }),
)

export const nodePairRequest = method(
  "node.pair.request",
  "operator.pairing",
  () =>
    z
      .object({
        nodeId: NodeId(),
        displayName: z.string().max(256).optional(),
        platform: z.string().max(128).optional(),
        version: z.string().max(128).optional(),
        caps: z.array(z.string()).optional(),
        commands: z.array(z.string()).optional(),
      })
      .loose(),
  () => z.object({ status: z.enum(["pending", "paired"]), created: z.boolean(), request: NodePairRequest().optional() }),
)

export const nodePairList = method("node.pair.list", "operator.pairing", NoParams, () =>
  z.object({ pending: z.array(NodePairRequest()), paired: z.array(PairedNode()) }),
)

export const nodePairApprove = method(
  "node.pair.approve",
  "operator.pairing",
  () => z.strictObject({ requestId: z.string().min(1) }),
  () => z.object({ requestId: z.string(), node: PairedNode() }),
)

export const nodePairReject = method(
  "node.pair.reject",
  "operator.pairing",
  () => z.strictObject({ requestId: z.string().min(1) }),
  () => z.object({ requestId: z.string(), nodeId: z.string() }),
)

export const nodePairRemove = method(
  "node.pair.remove",
  "operator.pairing",
  () => z.strictObject({ nodeId: NodeId() }),
  () => z.object({ nodeId: z.string(), removed: z.boolean() }),
)

export const nodeInvoke = method(
  "node.invoke",
  "operator.write",
  () =>
    z.strictObject({
      nodeId: NodeId(),
      command: z.string().min(1).max(256),
      params: z.unknown().optional(),
      timeoutMs: z.number().int().positive().max(3_600_000).optional().describe("Default 30000"),
      idempotencyKey: IdempotencyKey(),
    }),
  () =>
    z.object({
      ok: z.literal(true),
      nodeId: z.string(),
      command: z.string(),
      payload: z.unknown().describe("What the node answered (system.run: {stdout, stderr, exitCode, timedOut})"),
      payloadJSON: z.string().nullable().describe("The same as JSON text"),
    }),
)

/** Node role only: the answer to one node.invoke.request. */
export const nodeInvokeResult = method(
  "node.invoke.result",
  null,
  () =>
    z
      .object({
        id: z.string().min(1),
        nodeId: z.string().min(1),
        ok: z.boolean(),
        payload: z.unknown().optional(),
        payloadJSON: z.string().nullable().optional(),
        error: NodeError().optional(),
      })
      .loose(),
  () => z.object({ ok: z.literal(true), accepted: z.boolean().describe("false: no invoke was waiting for this id (timed out or unknown)") }),
)

/** Node role only: a node host in "ask" mode asks the gateway's operators (exec.approval.requested) to run a command. */
export const nodeExecApprovalRequest = method(
  "node.exec.approval.request",
  null,
  () => z.strictObject({ command: z.string().min(1).max(100_000), cwd: z.string().max(4096).optional() }),
  () => z.object({ approved: z.boolean() }),
)

/** Node role only: something happened on the node (OpenClaw's node apps send these); logged, nothing else for now. */
export const nodeEvent = method(
  "node.event",
  null,
  () => z.object({ event: z.string().min(1).max(256), payload: z.unknown().optional(), payloadJSON: z.string().nullable().optional() }).loose(),
  () => z.object({ ok: z.literal(true) }),
)
