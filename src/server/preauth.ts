/**
 * Admission of unauthenticated sockets. Bun's frame limit is server-wide: before the gateway sees a frame, Bun buffers
 * it whole, up to the post-auth maximum (gateway.maxPayloadBytes), whatever the socket's state; past 16 MiB its buffer
 * grows by a copy, so one socket can briefly pin 16 MiB + maxPayloadBytes (41 MiB at the 25 MiB default). What
 * unauthenticated sockets can pin is bounded by how many of them are read from:
 *
 *   - admitted: at most maxPerAddress per address and maxTotal in all; more upgrades are refused (HTTP 429 / 503)
 *     before a single frame is read;
 *   - read: of the admitted ones, at most READING_PER_ADDRESS per address and READING_TOTAL in all; the rest are
 *     upgraded and get their challenge but stay paused (Bun reads nothing from them, the sender sees TCP backpressure)
 *     until an earlier socket completes connect or closes. A burst of honest clients just queues for a millisecond.
 *
 * A slot is held from the upgrade until hello-ok or close. The handshake timeout still runs for a paused socket.
 */

export interface PreauthLimits {
  maxPerAddress: number
  maxTotal: number
}

/** Unauthenticated sockets read from at once per address, and in all (see the module comment). */
export const READING_PER_ADDRESS = 2
export const READING_TOTAL = 8

export type Admission = { ok: true; paused: boolean } | { ok: false; status: 429 | 503; message: string }

/**
 * The key an address is counted under: an IPv4 address as is, an IPv6 address by its /64 (one host usually holds a
 * whole /64, so counting single addresses would not cap it). IPv4-mapped IPv6 counts as its IPv4 address.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]!
  if (!address.includes(":")) return address
  const bare = address.split("%")[0]!.toLowerCase()
  const [head = "", tail] = bare.split("::")
  const left = head ? head.split(":") : []
  const right = tail ? tail.split(":") : []
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`
}

interface Slot {
  key: string
  reading: boolean
}

const bump = (m: Map<string, number>, key: string, by: number) => {
  const n = (m.get(key) ?? 0) + by
  if (n > 0) m.set(key, n)
  else m.delete(key)
}

export class PreauthGate {
  /** Every admitted socket by connId, oldest first (the order paused sockets are resumed in). */
  private slots = new Map<string, Slot>()
  private admitted = new Map<string, number>()
  private reading = new Map<string, number>()
  private readingTotal = 0

  constructor(private limits: () => PreauthLimits) {}

  /** Reserves a slot for `connId` from `address` (paused: read nothing until resumed), or says why not. */
  admit(connId: string, address: string): Admission {
    const key = addressKey(address)
    const { maxPerAddress, maxTotal } = this.limits()
    if ((this.admitted.get(key) ?? 0) >= maxPerAddress) {
      return { ok: false, status: 429, message: `too many unauthenticated connections from ${address} (gateway.preauth.maxPerAddress ${maxPerAddress})` }
    }
    if (this.slots.size >= maxTotal) {
      return { ok: false, status: 503, message: `too many unauthenticated connections (gateway.preauth.maxTotal ${maxTotal})` }
    }
    const slot: Slot = { key, reading: this.canRead(key) }
    this.slots.set(connId, slot)
    bump(this.admitted, key, 1)
    if (slot.reading) this.startReading(slot)
    return { ok: true, paused: !slot.reading }
  }

  /**
   * Frees `connId`'s slot (after hello-ok, on close, or when the upgrade failed); a no-op when it holds none.
   * Returns the paused sockets that may now be read (the caller resumes them).
   */
  release(connId: string): string[] {
    const slot = this.slots.get(connId)
    if (!slot) return []
    this.slots.delete(connId)
    bump(this.admitted, slot.key, -1)
    if (!slot.reading) return []
    bump(this.reading, slot.key, -1)
    this.readingTotal--
    const resume: string[] = []
    for (const [id, s] of this.slots) {
      if (this.readingTotal >= READING_TOTAL) break
      if (s.reading || !this.canRead(s.key)) continue
      this.startReading(s)
      resume.push(id)
    }
    return resume
  }

  private canRead(key: string): boolean {
    return this.readingTotal < READING_TOTAL && (this.reading.get(key) ?? 0) < READING_PER_ADDRESS
  }

  private startReading(slot: Slot): void {
    slot.reading = true
    bump(this.reading, slot.key, 1)
    this.readingTotal++
  }

  /** Unauthenticated sockets holding a slot. */
  get size(): number {
    return this.slots.size
  }
}
