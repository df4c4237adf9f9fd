/**
 * The node registry and the node.invoke relay. A `role: "node"` connection is attached here with what it declared
 * at connect (caps, commands) and a way to send it one event; paired nodes are remembered in SQLite (NodeRepo), so
 * node.list shows them while they are away too.
 *
 * An invoke gets an id, is sent to the node as `node.invoke.request`, and waits for the node's `node.invoke.result`
 * with that id: the result settles it, and so do the timeout (UNAVAILABLE, code TIMEOUT) and the node's connection
 * closing (UNAVAILABLE, code NODE_DISCONNECTED). The server owns sockets; this module only holds the `send` callback.
 */
import type { Bus } from "../bus/index.ts"
import { GatewayError } from "../protocol/core.ts"
import type { NodeEntry } from "../protocol/methods/nodes.ts"
import { parseList, type NodeDeclared, type NodeRepo, type NodeRow } from "../store/nodes.ts"
import type { Logger } from "../util/log.ts"
import { NodePairRequested, NodePairResolved } from "./events.ts"

export const DEFAULT_INVOKE_TIMEOUT_MS = 30_000

export interface NodeInvokeRequest {
  id: string
  nodeId: string
  command: string
  paramsJSON?: string
  timeoutMs?: number
  idempotencyKey?: string
}

/** One connected node: what it declared and how to reach its socket. */
export interface NodeConnection extends NodeDeclared {
  connId: string
  permissions?: Record<string, boolean>
  connectedAtMs: number
  /** Sends `node.invoke.request` to this connection; false when the socket could not take it. */
  send(request: NodeInvokeRequest): boolean
}

/** A type, not an interface: it is passed where the loose wire schema expects an index signature. */
export type NodeInvokeResult = {
  id: string
  nodeId: string
  ok: boolean
  payload?: unknown
  payloadJSON?: string | null
  error?: { code?: string; message?: string }
}

export interface InvokeOutcome {
  ok: true
  nodeId: string
  command: string
  payload: unknown
  payloadJSON: string | null
}

interface PendingInvoke {
  nodeId: string
  connId: string
  command: string
  resolve(r: InvokeOutcome): void
  reject(e: GatewayError): void
  timer: Timer
}

function unavailable(message: string, code: string, extra: Record<string, unknown> = {}): GatewayError {
  return new GatewayError("UNAVAILABLE", message, { code, ...extra })
}

function cancelled(nodeId: string, command: string): GatewayError {
  return unavailable(
    `the caller went away before node ${nodeId} answered ${command} (it may still run; a retry with a new idempotencyKey runs it again)`,
    "CANCELLED",
    { nodeId },
  )
}

/** Failures that happened before anything was sent to a node: retrying them with the same key is safe. */
const neverSent = new WeakSet<object>()

function unsent(err: GatewayError): GatewayError {
  neverSent.add(err)
  return err
}

/** Whether `err` is an invoke failure that never reached a node (not connected, unknown, unsupported, not sendable). */
export function invokeNeverSent(err: unknown): boolean {
  return typeof err === "object" && err !== null && neverSent.has(err)
}

export class NodeRegistry {
  private byNode = new Map<string, NodeConnection>()
  private byConn = new Map<string, NodeConnection>()
  private pending = new Map<string, PendingInvoke>()

  constructor(
    private repo: NodeRepo,
    private bus: Bus,
    private log: Logger,
  ) {}

  // ---- connections --------------------------------------------------------------------------------------------

  /** A node finished its handshake. It holds the gateway's secret, so it is paired (recorded) on the spot. */
  attach(conn: NodeConnection): void {
    // The same node reconnecting before its old socket closed: the new socket is the one new invokes go to. The old
    // one stays in byConn until it closes, so its detach still fails the invokes that were sent on it.
    this.byNode.set(conn.nodeId, conn)
    this.byConn.set(conn.connId, conn)
    const before = this.repo.get(conn.nodeId)
    this.repo.markPaired(conn)
    if (before?.status === "pending" && before.requestId) {
      this.bus.publish(NodePairResolved, { requestId: before.requestId, nodeId: conn.nodeId, decision: "approved", ts: Date.now() })
    }
    this.log.info("node connected", { nodeId: conn.nodeId, connId: conn.connId, commands: conn.commands })
  }

  /** The node's socket closed: invokes waiting on it fail now instead of at their timeout. */
  detach(connId: string): void {
    const conn = this.byConn.get(connId)
    if (!conn) return
    this.byConn.delete(connId)
    if (this.byNode.get(conn.nodeId)?.connId === connId) this.byNode.delete(conn.nodeId)
    this.repo.touch(conn.nodeId)
    for (const [id, p] of this.pending) {
      if (p.connId !== connId) continue
      this.settle(id)?.reject(unavailable(`node ${conn.nodeId} disconnected before answering ${p.command}`, "NODE_DISCONNECTED", { nodeId: conn.nodeId }))
    }
    this.log.info("node disconnected", { nodeId: conn.nodeId, connId })
  }

  isNodeConnection(connId: string): NodeConnection | undefined {
    return this.byConn.get(connId)
  }

  // ---- what node.list / node.describe show ------------------------------------------------------------------------

  list(): NodeEntry[] {
    const seen = new Set<string>()
    const out: NodeEntry[] = []
    for (const row of this.repo.all()) {
      if (row.status !== "paired") continue
      seen.add(row.nodeId)
      out.push(this.entry(row, this.byNode.get(row.nodeId)))
    }
    for (const conn of this.byNode.values()) if (!seen.has(conn.nodeId)) out.push(this.entry(undefined, conn))
    return out
  }

  describe(nodeId: string): NodeEntry | undefined {
    const row = this.repo.get(nodeId)
    const conn = this.byNode.get(nodeId)
    if (!conn && row?.status !== "paired") return undefined
    return this.entry(row, conn)
  }

  private entry(row: NodeRow | undefined, conn: NodeConnection | undefined): NodeEntry {
    const e: NodeEntry = {
      nodeId: conn?.nodeId ?? row!.nodeId,
      caps: conn?.caps ?? parseList(row?.caps ?? "[]"),
      commands: conn?.commands ?? parseList(row?.commands ?? "[]"),
      paired: row?.status === "paired" || !!conn,
      connected: !!conn,
    }
    const name = row?.customName ?? conn?.displayName ?? row?.displayName
    if (name) e.displayName = name
    const platform = conn?.platform ?? row?.platform
    if (platform) e.platform = platform
    const version = conn?.version ?? row?.version
    if (version) e.version = version
    const family = conn?.deviceFamily ?? row?.deviceFamily
    if (family) e.deviceFamily = family
    const ip = conn?.remoteIp ?? row?.remoteIp
    if (ip) e.remoteIp = ip
    if (conn?.permissions) e.permissions = conn.permissions
    if (conn) e.connectedAtMs = conn.connectedAtMs
    else if (row?.lastSeenAt) e.lastSeenAtMs = row.lastSeenAt
    return e
  }

  rename(nodeId: string, displayName: string): boolean {
    return this.repo.rename(nodeId, displayName)
  }

  // ---- pairing ------------------------------------------------------------------------------------------------

  requestPairing(d: NodeDeclared): { row: NodeRow; created: boolean } {
    const r = this.repo.request(d)
    if (r.created && r.row.requestId) this.bus.publish(NodePairRequested, pendingView(r.row))
    return r
  }

  pendingRequests() {
    return this.repo
      .all()
      .filter((r) => r.status === "pending")
      .map(pendingView)
  }

  pairedNodes() {
    return this.repo
      .all()
      .filter((r) => r.status === "paired")
      .map(pairedView)
  }

  approve(requestId: string) {
    const row = this.repo.approve(requestId)
    if (!row) return undefined
    this.bus.publish(NodePairResolved, { requestId, nodeId: row.nodeId, decision: "approved", ts: Date.now() })
    return pairedView(row)
  }

  reject(requestId: string): string | undefined {
    const nodeId = this.repo.reject(requestId)
    if (nodeId) this.bus.publish(NodePairResolved, { requestId, nodeId, decision: "rejected", ts: Date.now() })
    return nodeId
  }

  remove(nodeId: string): boolean {
    return this.repo.remove(nodeId)
  }

  // ---- the invoke relay -----------------------------------------------------------------------------------------

  /**
   * Sends the command to the node and resolves with its answer; rejects with a GatewayError for every failure.
   * `signal` (the caller's connection) stops the wait: the invoke fails with CANCELLED and nothing waits for it.
   */
  invoke(req: {
    nodeId: string
    command: string
    params?: unknown
    timeoutMs?: number
    idempotencyKey?: string
    signal?: AbortSignal
  }): Promise<InvokeOutcome> {
    const conn = this.byNode.get(req.nodeId)
    if (!conn) {
      const known = this.repo.get(req.nodeId)?.status === "paired"
      return Promise.reject(
        unsent(
          known
            ? unavailable(`node ${req.nodeId} is not connected`, "NODE_NOT_CONNECTED", { nodeId: req.nodeId })
            : unavailable(`unknown node: ${req.nodeId} (node.list shows the known nodes)`, "NODE_NOT_FOUND", { nodeId: req.nodeId }),
        ),
      )
    }
    if (!(conn.commands ?? []).includes(req.command)) {
      return Promise.reject(
        unsent(
          new GatewayError(
            "INVALID_REQUEST",
            `node ${req.nodeId} does not offer ${req.command} (it offers: ${(conn.commands ?? []).join(", ") || "nothing"})`,
            {
              code: "COMMAND_NOT_SUPPORTED",
              nodeId: req.nodeId,
              command: req.command,
            },
          ),
        ),
      )
    }
    if (req.signal?.aborted) return Promise.reject(unsent(cancelled(req.nodeId, req.command)))
    const timeoutMs = req.timeoutMs ?? DEFAULT_INVOKE_TIMEOUT_MS
    const id = crypto.randomUUID()
    return new Promise<InvokeOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id)?.reject(
          unavailable(`node ${req.nodeId} did not answer ${req.command} within ${timeoutMs} ms`, "TIMEOUT", { nodeId: req.nodeId, timeoutMs }),
        )
      }, timeoutMs)
      this.pending.set(id, { nodeId: req.nodeId, connId: conn.connId, command: req.command, resolve, reject, timer })
      const request: NodeInvokeRequest = { id, nodeId: req.nodeId, command: req.command, timeoutMs }
      if (req.params !== undefined) request.paramsJSON = JSON.stringify(req.params)
      if (req.idempotencyKey) request.idempotencyKey = req.idempotencyKey
      if (!conn.send(request)) {
        this.settle(id)?.reject(unsent(unavailable(`node ${req.nodeId} could not be sent ${req.command} (its connection is closing)`, "NODE_DISCONNECTED")))
        return
      }
      req.signal?.addEventListener("abort", () => this.settle(id)?.reject(cancelled(req.nodeId, req.command)), { once: true })
    })
  }

  /** A node's node.invoke.result; false when nothing waits for it (already timed out, or not this node's). */
  result(connId: string, r: NodeInvokeResult): boolean {
    const p = this.pending.get(r.id)
    // Only the connection the request went to may answer it.
    if (!p || p.connId !== connId || p.nodeId !== r.nodeId) return false
    const settled = this.settle(r.id)!
    if (!r.ok) {
      const code = r.error?.code ?? "NODE_ERROR"
      settled.reject(unavailable(`node ${r.nodeId}: ${p.command} failed: ${r.error?.message ?? code}`, code, { nodeId: r.nodeId, nodeError: r.error ?? {} }))
      return true
    }
    let payload = r.payload
    let payloadJSON = r.payloadJSON ?? null
    if (payload === undefined && payloadJSON !== null) {
      try {
        payload = JSON.parse(payloadJSON)
      } catch {
        payload = payloadJSON
      }
    }
    if (payloadJSON === null && payload !== undefined) payloadJSON = JSON.stringify(payload)
    settled.resolve({ ok: true, nodeId: r.nodeId, command: p.command, payload: payload ?? null, payloadJSON })
    return true
  }

  private settle(id: string): PendingInvoke | undefined {
    const p = this.pending.get(id)
    if (!p) return undefined
    this.pending.delete(id)
    clearTimeout(p.timer)
    return p
  }

  /** Shutdown: every waiting invoke fails at once. */
  stop(): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(unavailable("gateway shutting down", "SHUTDOWN"))
  }
}

function pendingView(row: NodeRow) {
  return {
    requestId: row.requestId ?? "",
    nodeId: row.nodeId,
    ...(row.displayName ? { displayName: row.displayName } : {}),
    ...(row.platform ? { platform: row.platform } : {}),
    ...(row.version ? { version: row.version } : {}),
    ...(row.remoteIp ? { remoteIp: row.remoteIp } : {}),
    caps: parseList(row.caps),
    commands: parseList(row.commands),
    ts: row.createdAt,
  }
}

function pairedView(row: NodeRow) {
  return {
    nodeId: row.nodeId,
    ...((row.customName ?? row.displayName) ? { displayName: (row.customName ?? row.displayName)! } : {}),
    ...(row.platform ? { platform: row.platform } : {}),
    ...(row.version ? { version: row.version } : {}),
    caps: parseList(row.caps),
    commands: parseList(row.commands),
    createdAtMs: row.createdAt,
    approvedAtMs: row.approvedAt ?? row.createdAt,
    ...(row.lastSeenAt ? { lastSeenAtMs: row.lastSeenAt } : {}),
  }
}
