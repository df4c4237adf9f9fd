/** Repository for nodes: pairing requests and paired nodes (what node.list shows for a node that is not connected). */
import { asc, eq } from "drizzle-orm"
import type { Db } from "./index.ts"
import { nodes } from "./schema/nodes.sql.ts"

export type NodeRow = typeof nodes.$inferSelect

/** What a node declares about itself (at connect, or in node.pair.request). */
export interface NodeDeclared {
  nodeId: string
  displayName?: string
  platform?: string
  version?: string
  deviceFamily?: string
  remoteIp?: string
  caps?: string[]
  commands?: string[]
}

function declaredColumns(d: NodeDeclared) {
  return {
    displayName: d.displayName ?? null,
    platform: d.platform ?? null,
    version: d.version ?? null,
    deviceFamily: d.deviceFamily ?? null,
    remoteIp: d.remoteIp ?? null,
    caps: JSON.stringify(d.caps ?? []),
    commands: JSON.stringify(d.commands ?? []),
  }
}

export function parseList(json: string): string[] {
  try {
    const v = JSON.parse(json)
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []
  } catch {
    return []
  }
}

export class NodeRepo {
  constructor(private db: Db) {}

  get(nodeId: string): NodeRow | undefined {
    return this.db.select().from(nodes).where(eq(nodes.nodeId, nodeId)).get()
  }

  byRequest(requestId: string): NodeRow | undefined {
    return this.db.select().from(nodes).where(eq(nodes.requestId, requestId)).get()
  }

  all(): NodeRow[] {
    return this.db.select().from(nodes).orderBy(asc(nodes.createdAt)).all()
  }

  /** Records a node as paired with what it declared now (a connect with the shared secret); keeps a custom name. */
  markPaired(d: NodeDeclared, now = Date.now()): NodeRow {
    const cols = declaredColumns(d)
    this.db
      .insert(nodes)
      .values({ nodeId: d.nodeId, status: "paired", ...cols, createdAt: now, approvedAt: now, lastSeenAt: now })
      .onConflictDoUpdate({
        target: nodes.nodeId,
        set: { ...cols, status: "paired", requestId: null, lastSeenAt: now, approvedAt: this.get(d.nodeId)?.approvedAt ?? now },
      })
      .run()
    return this.get(d.nodeId)!
  }

  /** A pending request for the node (the existing one when it already asked); undefined when it is already paired. */
  request(d: NodeDeclared, now = Date.now()): { row: NodeRow; created: boolean } {
    const existing = this.get(d.nodeId)
    if (existing) return { row: existing, created: false }
    this.db
      .insert(nodes)
      .values({ nodeId: d.nodeId, status: "pending", requestId: crypto.randomUUID(), ...declaredColumns(d), createdAt: now })
      .run()
    return { row: this.get(d.nodeId)!, created: true }
  }

  approve(requestId: string, now = Date.now()): NodeRow | undefined {
    const row = this.byRequest(requestId)
    if (!row || row.status !== "pending") return undefined
    this.db.update(nodes).set({ status: "paired", approvedAt: now, requestId: null }).where(eq(nodes.nodeId, row.nodeId)).run()
    return this.get(row.nodeId)
  }

  /** Deletes a pending request; returns its node id. */
  reject(requestId: string): string | undefined {
    const row = this.byRequest(requestId)
    if (!row || row.status !== "pending") return undefined
    this.db.delete(nodes).where(eq(nodes.nodeId, row.nodeId)).run()
    return row.nodeId
  }

  remove(nodeId: string): boolean {
    if (!this.get(nodeId)) return false
    this.db.delete(nodes).where(eq(nodes.nodeId, nodeId)).run()
    return true
  }

  rename(nodeId: string, name: string): boolean {
    if (!this.get(nodeId)) return false
    this.db.update(nodes).set({ customName: name }).where(eq(nodes.nodeId, nodeId)).run()
    return true
  }

  touch(nodeId: string, now = Date.now()): void {
    this.db.update(nodes).set({ lastSeenAt: now }).where(eq(nodes.nodeId, nodeId)).run()
  }
}
