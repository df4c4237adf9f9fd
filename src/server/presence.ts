/** Who is connected: the gateway itself plus each client (probes excepted), with a monotonic version. */
import { hostname } from "node:os"
import type { PresenceEntry } from "../protocol/index.ts"

export class PresenceRegistry {
  private entries = new Map<string, PresenceEntry>()
  private self: PresenceEntry
  version = 1

  constructor(opts: { version: string; instanceId: string; ip: string }) {
    const host = hostname()
    this.self = {
      host,
      ip: opts.ip,
      version: opts.version,
      platform: `${process.platform} ${process.arch}`,
      deviceFamily: process.platform === "darwin" ? "Mac" : process.platform === "linux" ? "Linux" : process.platform,
      mode: "gateway",
      reason: "self",
      instanceId: opts.instanceId,
      text: `Gateway: ${host} (${opts.ip}) · app ${opts.version} · mode gateway · reason self`,
      ts: Date.now(),
    }
  }

  list(): PresenceEntry[] {
    return [{ ...this.self, ts: Date.now() }, ...this.entries.values()]
  }

  /** Returns true when the list changed (the caller then broadcasts a presence event). */
  add(connId: string, entry: PresenceEntry): boolean {
    this.entries.set(connId, entry)
    this.version++
    return true
  }

  remove(connId: string): boolean {
    if (!this.entries.delete(connId)) return false
    this.version++
    return true
  }

  get count(): number {
    return this.entries.size
  }
}
