/**
 * Who is connected: the gateway itself plus each client (probes excepted), with a monotonic version. Each entry is
 * serialised once, when it joins, so the list's JSON (for hello-ok and the presence event) is a join of cached strings:
 * a join is O(1) work, a leave is O(1) and marks the joined text stale, and the text is rebuilt at most once per
 * read after leaves (the hub reads it once per presence window and once per hello-ok).
 */
import { hostname } from "node:os"
import type { PresenceEntry } from "../protocol/index.ts"

export class PresenceRegistry {
  private entries = new Map<string, { entry: PresenceEntry; json: string }>()
  private self: PresenceEntry
  /** The entries' JSON joined with commas, in insertion order; undefined after a leave until the next read. */
  private joined: string | undefined = ""
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
    const out: PresenceEntry[] = [{ ...this.self, ts: Date.now() }]
    for (const e of this.entries.values()) out.push(e.entry)
    return out
  }

  /** The same list as `list()`, as JSON text. */
  json(): string {
    if (this.joined === undefined) {
      const parts: string[] = []
      for (const e of this.entries.values()) parts.push(e.json)
      this.joined = parts.join(",")
    }
    const self = JSON.stringify({ ...this.self, ts: Date.now() })
    return this.joined ? `[${self},${this.joined}]` : `[${self}]`
  }

  add(connId: string, entry: PresenceEntry): void {
    const json = JSON.stringify(entry)
    const replaced = this.entries.has(connId)
    this.entries.set(connId, { entry, json })
    // Appending keeps the cached text exact without touching the other entries (a replaced one changes in place: rebuild).
    if (replaced) this.joined = undefined
    else if (this.joined !== undefined) this.joined = this.joined ? `${this.joined},${json}` : json
    this.version++
  }

  /** Returns true when the list changed (the caller then schedules a presence event). */
  remove(connId: string): boolean {
    if (!this.entries.delete(connId)) return false
    this.joined = undefined
    this.version++
    return true
  }

  get count(): number {
    return this.entries.size
  }
}

/**
 * When presence events go out: the first change in a quiet period at once, changes during the window that follows
 * together when it ends. `announce` sends one event (possibly over several turns of the event loop) and reports the
 * bytes it wrote; the window is `windowFor(bytes)`, so a big list to many clients spaces the next event further.
 */
export class PresenceSchedule {
  private timer: Timer | undefined
  private busy = false
  private dirty = false
  private stopped = false

  constructor(
    private announce: (done: (bytes: number) => void) => void,
    private windowFor: (bytes: number) => number,
  ) {}

  changed(): void {
    if (this.stopped) return
    if (this.busy || this.timer) {
      this.dirty = true
      return
    }
    this.busy = true
    this.announce((bytes) => {
      this.busy = false
      if (this.stopped) return
      this.timer = setTimeout(() => {
        this.timer = undefined
        if (!this.dirty) return
        this.dirty = false
        this.changed()
      }, this.windowFor(bytes))
    })
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
  }
}
