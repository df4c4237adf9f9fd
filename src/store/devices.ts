/** Repository for devices: pairing requests, paired devices and their tokens (only hashes are stored). */
import { and, asc, eq } from "drizzle-orm"
import type { Db } from "./index.ts"
import { devicePairRequests, devices, deviceTokens } from "./schema/devices.sql.ts"

type DeviceRowRaw = typeof devices.$inferSelect
type RequestRowRaw = typeof devicePairRequests.$inferSelect
type TokenRowRaw = typeof deviceTokens.$inferSelect

export type DeviceRow = Omit<DeviceRowRaw, "roles" | "scopes"> & { roles: string[]; scopes: string[] }
export type PairRequestRow = Omit<RequestRowRaw, "scopes"> & { scopes: string[] }
export type DeviceTokenRow = Omit<TokenRowRaw, "scopes"> & { scopes: string[] }

export type NewPairRequest = Omit<PairRequestRow, "status" | "decidedAt" | "createdAt">

function list(json: string): string[] {
  try {
    const v = JSON.parse(json)
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []
  } catch {
    return []
  }
}

const device = (r: DeviceRowRaw): DeviceRow => ({ ...r, roles: list(r.roles), scopes: list(r.scopes) })
const request = (r: RequestRowRaw): PairRequestRow => ({ ...r, scopes: list(r.scopes) })
const token = (r: TokenRowRaw): DeviceTokenRow => ({ ...r, scopes: list(r.scopes) })

export class DeviceRepo {
  constructor(private db: Db) {}

  // ---- paired devices -----------------------------------------------------------------------------------------

  get(deviceId: string): DeviceRow | undefined {
    const r = this.db.select().from(devices).where(eq(devices.deviceId, deviceId)).get()
    return r && device(r)
  }

  paired(): DeviceRow[] {
    return this.db.select().from(devices).orderBy(asc(devices.approvedAt)).all().map(device)
  }

  /** Creates the device or widens what it was approved for (roles and scopes are unions of every approval). */
  approve(d: Omit<DeviceRow, "createdAt" | "approvedAt" | "lastSeenAt">, now = Date.now()): DeviceRow {
    return this.db.transaction((tx) => {
      const prev = tx.select().from(devices).where(eq(devices.deviceId, d.deviceId)).get()
      const roles = [...new Set([...(prev ? list(prev.roles) : []), ...d.roles])]
      const scopes = [...new Set([...(prev ? list(prev.scopes) : []), ...d.scopes])]
      const row = {
        ...d,
        // A rename by the operator outlives the name the device declares.
        displayName: prev?.displayName ?? d.displayName,
        roles: JSON.stringify(roles),
        scopes: JSON.stringify(scopes),
        createdAt: prev?.createdAt ?? now,
        approvedAt: now,
        lastSeenAt: prev?.lastSeenAt ?? null,
      }
      tx.insert(devices)
        .values(row)
        .onConflictDoUpdate({ target: devices.deviceId, set: { ...row, createdAt: undefined } })
        .run()
      return device({ ...row, deviceId: d.deviceId })
    })
  }

  rename(deviceId: string, displayName: string): boolean {
    return this.db.update(devices).set({ displayName }).where(eq(devices.deviceId, deviceId)).returning({ id: devices.deviceId }).all().length > 0
  }

  seen(deviceId: string, remoteIp: string, now = Date.now()): void {
    this.db.update(devices).set({ lastSeenAt: now, remoteIp }).where(eq(devices.deviceId, deviceId)).run()
  }

  /** Forgets the device, its tokens (cascade) and its pending requests. */
  remove(deviceId: string): boolean {
    return this.db.transaction((tx) => {
      tx.delete(deviceTokens).where(eq(deviceTokens.deviceId, deviceId)).run()
      tx.delete(devicePairRequests).where(eq(devicePairRequests.deviceId, deviceId)).run()
      return tx.delete(devices).where(eq(devices.deviceId, deviceId)).returning({ id: devices.deviceId }).all().length > 0
    })
  }

  // ---- pairing requests ---------------------------------------------------------------------------------------

  pending(): PairRequestRow[] {
    return this.db
      .select()
      .from(devicePairRequests)
      .where(eq(devicePairRequests.status, "pending"))
      .orderBy(asc(devicePairRequests.createdAt))
      .all()
      .map(request)
  }

  getRequest(requestId: string): PairRequestRow | undefined {
    const r = this.db.select().from(devicePairRequests).where(eq(devicePairRequests.requestId, requestId)).get()
    return r && request(r)
  }

  /**
   * The device's pending request, refreshed with what it asks for now, or a new one. `created` tells the caller
   * whether to announce it (a device retrying its connect must not flood operators with events).
   */
  upsertPending(req: NewPairRequest, now = Date.now()): { row: PairRequestRow; created: boolean } {
    return this.db.transaction((tx) => {
      const prev = tx
        .select()
        .from(devicePairRequests)
        .where(and(eq(devicePairRequests.deviceId, req.deviceId), eq(devicePairRequests.status, "pending")))
        .get()
      const values = { ...req, scopes: JSON.stringify(req.scopes) }
      if (prev) {
        const same = prev.role === req.role && prev.scopes === values.scopes && prev.reason === req.reason
        tx.update(devicePairRequests)
          .set({ ...values, requestId: prev.requestId })
          .where(eq(devicePairRequests.requestId, prev.requestId))
          .run()
        return { row: request({ ...prev, ...values, requestId: prev.requestId }), created: !same }
      }
      const row = { ...values, status: "pending", createdAt: now, decidedAt: null }
      tx.insert(devicePairRequests).values(row).run()
      return { row: request(row), created: true }
    })
  }

  /** Marks a pending request decided; undefined when there is no such pending request. */
  decide(requestId: string, decision: "approved" | "rejected", now = Date.now()): PairRequestRow | undefined {
    return this.db.transaction((tx) => {
      const r = tx.select().from(devicePairRequests).where(eq(devicePairRequests.requestId, requestId)).get()
      if (r?.status !== "pending") return undefined
      tx.update(devicePairRequests).set({ status: decision, decidedAt: now }).where(eq(devicePairRequests.requestId, requestId)).run()
      return request({ ...r, status: decision, decidedAt: now })
    })
  }

  // ---- tokens -------------------------------------------------------------------------------------------------

  tokenFor(deviceId: string, role: string): DeviceTokenRow | undefined {
    const r = this.db
      .select()
      .from(deviceTokens)
      .where(and(eq(deviceTokens.deviceId, deviceId), eq(deviceTokens.role, role)))
      .get()
    return r && token(r)
  }

  tokens(deviceId: string): DeviceTokenRow[] {
    return this.db.select().from(deviceTokens).where(eq(deviceTokens.deviceId, deviceId)).all().map(token)
  }

  /** Stores the hash of a new token for (device, role), replacing the previous one. */
  putToken(deviceId: string, role: string, tokenHash: string, scopes: string[], now = Date.now()): DeviceTokenRow {
    const row = { deviceId, role, tokenHash, scopes: JSON.stringify(scopes), issuedAt: now, lastUsedAt: null }
    this.db
      .insert(deviceTokens)
      .values(row)
      .onConflictDoUpdate({ target: [deviceTokens.deviceId, deviceTokens.role], set: { tokenHash, scopes: row.scopes, issuedAt: now, lastUsedAt: null } })
      .run()
    return token(row)
  }

  tokenUsed(deviceId: string, role: string, now = Date.now()): void {
    this.db
      .update(deviceTokens)
      .set({ lastUsedAt: now })
      .where(and(eq(deviceTokens.deviceId, deviceId), eq(deviceTokens.role, role)))
      .run()
  }

  revokeToken(deviceId: string, role: string): boolean {
    return (
      this.db
        .delete(deviceTokens)
        .where(and(eq(deviceTokens.deviceId, deviceId), eq(deviceTokens.role, role)))
        .returning({ id: deviceTokens.deviceId })
        .all().length > 0
    )
  }
}
