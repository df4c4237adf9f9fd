/** Devices (Ed25519 identities, OpenClaw §7): pairing requests, paired devices and their tokens (stored hashed). */
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core"

/** A device the operator approved (or that was auto-approved on loopback with the shared secret). */
export const devices = sqliteTable("devices", {
  deviceId: text("device_id").primaryKey(),
  /** base64url raw Ed25519 public key. */
  publicKey: text("public_key").notNull(),
  displayName: text("display_name"),
  platform: text("platform"),
  deviceFamily: text("device_family"),
  clientId: text("client_id"),
  clientMode: text("client_mode"),
  /** JSON arrays of strings: the roles and operator scopes approved. */
  roles: text("roles").notNull().default("[]"),
  scopes: text("scopes").notNull().default("[]"),
  remoteIp: text("remote_ip"),
  createdAt: integer("created_at").notNull(),
  approvedAt: integer("approved_at").notNull(),
  lastSeenAt: integer("last_seen_at"),
})

/** A connect from an unknown device, or one asking for more than it was approved for; resolved by an operator. */
export const devicePairRequests = sqliteTable(
  "device_pair_requests",
  {
    requestId: text("request_id").primaryKey(),
    deviceId: text("device_id").notNull(),
    publicKey: text("public_key").notNull(),
    displayName: text("display_name"),
    platform: text("platform"),
    deviceFamily: text("device_family"),
    clientId: text("client_id"),
    clientMode: text("client_mode"),
    role: text("role").notNull(),
    scopes: text("scopes").notNull().default("[]"),
    remoteIp: text("remote_ip"),
    /** not-paired | role-upgrade | scope-upgrade */
    reason: text("reason").notNull(),
    /** pending → approved | rejected */
    status: text("status").notNull(),
    createdAt: integer("created_at").notNull(),
    decidedAt: integer("decided_at"),
  },
  (t) => [index("device_pair_requests_device").on(t.deviceId, t.status)],
)

/** One token per (device, role); only its SHA-256 is kept, so a copy of the database cannot connect. */
export const deviceTokens = sqliteTable(
  "device_tokens",
  {
    deviceId: text("device_id")
      .notNull()
      .references(() => devices.deviceId, { onDelete: "cascade" }),
    role: text("role").notNull(),
    tokenHash: text("token_hash").notNull(),
    scopes: text("scopes").notNull().default("[]"),
    issuedAt: integer("issued_at").notNull(),
    lastUsedAt: integer("last_used_at"),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.role] })],
)
