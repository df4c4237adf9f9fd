/** node.* handlers: the registry, pairing, the invoke relay, and the two methods only node connections call. */
import { invokeNeverSent } from "../nodes/registry.ts"
import { GatewayError } from "../protocol/index.ts"
import { rejectionError } from "./agent.ts"
import type { MethodContext } from "./context.ts"
import type { PartialHandlers } from "./registry.ts"

/** node.invoke.result and node.exec.approval.request come from nodes only (OpenClaw: "unauthorized role"). */
function requireNode(ctx: MethodContext, method: string): void {
  if (ctx.caller.role !== "node") throw new GatewayError("INVALID_REQUEST", `unauthorized role: ${ctx.caller.role} (${method} is for node connections)`)
}

function unknownNode(nodeId: string): GatewayError {
  return new GatewayError("INVALID_REQUEST", `unknown nodeId: ${nodeId} (node.list shows the known nodes)`, { code: "NODE_NOT_FOUND", nodeId })
}

export const nodesHandlers = {
  "node.list": (_p, { gw }) => ({ ts: Date.now(), nodes: gw.nodes.list() }),

  "node.describe": (p, { gw }) => {
    const node = gw.nodes.describe(p.nodeId)
    if (!node) throw unknownNode(p.nodeId)
    return { ts: Date.now(), ...node }
  },

  "node.rename": (p, { gw }) => {
    if (!gw.nodes.rename(p.nodeId, p.displayName)) throw unknownNode(p.nodeId)
    return { nodeId: p.nodeId, displayName: p.displayName }
  },

  "node.pair.request": (p, { gw, caller }) => {
    const { row, created } = gw.nodes.requestPairing({ ...p, remoteIp: caller.remoteAddress })
    if (row.status === "paired") return { status: "paired" as const, created: false }
    const request = gw.nodes.pendingRequests().find((r) => r.nodeId === row.nodeId)
    return { status: "pending" as const, created, ...(request ? { request } : {}) }
  },

  "node.pair.list": (_p, { gw }) => ({ pending: gw.nodes.pendingRequests(), paired: gw.nodes.pairedNodes() }),

  "node.pair.approve": (p, { gw }) => {
    const node = gw.nodes.approve(p.requestId)
    if (!node) throw new GatewayError("INVALID_REQUEST", `unknown requestId: ${p.requestId} (node.pair.list shows pending requests)`, { code: "NOT_FOUND" })
    return { requestId: p.requestId, node }
  },

  "node.pair.reject": (p, { gw }) => {
    const nodeId = gw.nodes.reject(p.requestId)
    if (!nodeId) throw new GatewayError("INVALID_REQUEST", `unknown requestId: ${p.requestId} (node.pair.list shows pending requests)`, { code: "NOT_FOUND" })
    return { requestId: p.requestId, nodeId }
  },

  "node.pair.remove": (p, { gw }) => ({ nodeId: p.nodeId, removed: gw.nodes.remove(p.nodeId) }),

  "node.invoke": async (p, { gw, signal }) => {
    // The caller's connection closing cancels the wait (see NodeRegistry.invoke).
    const run = () => gw.nodes.invoke({ ...p, signal })
    // A retry with the same key gets the first call's outcome; the node runs the command once. A failure that never
    // reached the node (not connected, unknown, unsupported) is not kept: the retry after the node is back runs.
    const fingerprint = JSON.stringify([p.nodeId, p.command, p.params ?? null])
    try {
      const first = gw.idempotency.run(`node.invoke:${p.idempotencyKey}`, fingerprint, run, { forgetIf: invokeNeverSent })
      return (await first.promise) as Awaited<ReturnType<typeof run>>
    } catch (err) {
      rejectionError(err)
    }
  },

  "node.invoke.result": (p, ctx) => {
    requireNode(ctx, "node.invoke.result")
    return { ok: true as const, accepted: ctx.gw.nodes.result(ctx.caller.connId, p) }
  },

  "node.event": (p, ctx) => {
    requireNode(ctx, "node.event")
    ctx.gw.log.debug("node event", { connId: ctx.caller.connId, event: p.event })
    return { ok: true as const }
  },

  "node.exec.approval.request": async (p, ctx) => {
    requireNode(ctx, "node.exec.approval.request")
    const node = ctx.gw.nodes.isNodeConnection(ctx.caller.connId)
    // The operator sees which node asks: the command is shown prefixed with the node's name.
    const who = node?.displayName ?? node?.nodeId ?? ctx.caller.client.id
    const approved = await ctx.gw.agent.approvals.request({ command: `[node ${who}] ${p.command}`, cwd: p.cwd, signal: ctx.signal })
    return { approved }
  },
} satisfies PartialHandlers
