/**
 * A hostile client on raw TCP: upgrades to a WebSocket and sends the header of one big frame and most of its payload,
 * never the end, so the server holds the partial frame until it closes the socket. Bun buffers a frame whole before
 * the gateway sees it, which is what the pre-auth caps bound.
 */
import { randomBytes } from "node:crypto"
import { connect } from "node:net"

export type PartialOutcome =
  /** The upgrade was refused with this HTTP status. */
  | { refused: number; ms: number }
  /** Upgraded, sent `sent` bytes of the frame, then the server closed the connection after `ms`. */
  | { closed: true; sent: number; ms: number }

const CHUNK = Buffer.alloc(1 << 20, 0x61)

/** `frameBytes`: the length the frame header announces; `sendBytes` of it are sent (keep it below frameBytes). */
export function partialFrame(port: number, frameBytes: number, sendBytes: number, timeoutMs = 30_000): Promise<PartialOutcome> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const s = connect(port, "127.0.0.1")
    let head = ""
    let upgraded = false
    let sent = 0
    const timer = setTimeout(() => {
      s.destroy()
      reject(new Error(`partial frame: still open after ${timeoutMs} ms`))
    }, timeoutMs)
    const done = (o: PartialOutcome) => {
      clearTimeout(timer)
      s.destroy()
      resolve(o)
    }
    s.on("connect", () => {
      s.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      )
    })
    const pump = () => {
      while (sent < sendBytes) {
        const n = Math.min(CHUNK.length, sendBytes - sent)
        sent += n
        // Masking is XOR with the key; an all-zero key leaves the payload as is (the server does not care).
        if (!s.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void s.once("drain", pump)
      }
    }
    s.on("data", (chunk: Buffer) => {
      if (upgraded) return
      head += chunk.toString("latin1")
      if (!head.includes("\r\n\r\n")) return
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
      if (status !== 101) return done({ refused: status, ms: performance.now() - t0 })
      upgraded = true
      const h = Buffer.alloc(14)
      h[0] = 0x81
      h[1] = 0x80 | 127
      h.writeBigUInt64BE(BigInt(frameBytes), 2)
      s.write(h)
      pump()
    })
    s.on("close", () => (upgraded ? done({ closed: true, sent, ms: performance.now() - t0 }) : done({ refused: 0, ms: performance.now() - t0 })))
    s.on("error", () => {})
  })
}
