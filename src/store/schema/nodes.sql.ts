/** Nodes (machines that lend commands to the gateway): pairing requests and paired nodes, so node.list remembers them. */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core"

/**
 * One row per node id. `status` pending → paired (approved, or connected with the shared secret); a rejected or
 * removed node's row is deleted. `displayName` is what the node declared, `customName` what node.rename set (wins).
 */
export const nodes = sqliteTable(
  "nodes",
  {
    nodeId: text("node_id").primaryKey(),
    status: text("status").notNull(),
    requestId: text("request_id").unique(),
    displayName: text("display_name"),
    customName: text("custom_name"),
    platform: text("platform"),
    version: text("version"),
    deviceFamily: text("device_family"),
    remoteIp: text("remote_ip"),
    /** JSON arrays of strings, as declared at the last connect. */
    caps: text("caps").notNull().default("[]"),
    commands: text("commands").notNull().default("[]"),
    createdAt: integer("created_at").notNull(),
    approvedAt: integer("approved_at"),
    lastSeenAt: integer("last_seen_at"),
  },
  (t) => [index("nodes_status").on(t.status)],
)
