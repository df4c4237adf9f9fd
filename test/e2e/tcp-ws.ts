/**
 * A minimal WebSocket client on raw TCP (node:net): a hand-written upgrade, masked client frames, and a socket whose
 * reading can be paused. Bun's WebSocket always drains its socket, so only this client can play a slow consumer.
 */
import { randomBytes } from "node:crypto"
import { connect, type Socket } from "node:net"

export interface WsFrame {
  opcode: number
  payload: Buffer
}

export class TcpWebSocket {
  frames: WsFrame[] = []
  /** The TCP connection ended or failed. */
  ended = false
  private buf = Buffer.alloc(0)
  private upgraded = false
  private waiters: (() => void)[] = []

  private constructor(readonly socket: Socket) {}

  static open(port: number, host = "127.0.0.1"): Promise<TcpWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host)
      const ws = new TcpWebSocket(socket)
      const done = () => {
        ws.ended = true
        ws.wake()
        if (!ws.upgraded) reject(new Error("connection ended before the upgrade"))
      }
      socket.on("error", done)
      socket.on("close", done)
      socket.on("connect", () => {
        const key = randomBytes(16).toString("base64")
        socket.write(
          `GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        )
      })
      socket.on("data", (chunk: Buffer) => {
        ws.buf = Buffer.concat([ws.buf, chunk])
        if (!ws.upgraded) {
          const end = ws.buf.indexOf("\r\n\r\n")
          if (end < 0) return
          const head = ws.buf.subarray(0, end).toString()
          if (!head.startsWith("HTTP/1.1 101")) return reject(new Error(`upgrade refused: ${head}`))
          ws.upgraded = true
          ws.buf = ws.buf.subarray(end + 4)
          resolve(ws)
        }
        ws.parse()
      })
    })
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  /** Server frames are unmasked; fragmented messages are not needed by the tests. */
  private parse(): void {
    for (;;) {
      if (this.buf.length < 2) return
      let len = this.buf[1]! & 0x7f
      let off = 2
      if (len === 126) {
        if (this.buf.length < 4) return
        len = this.buf.readUInt16BE(2)
        off = 4
      } else if (len === 127) {
        if (this.buf.length < 10) return
        len = Number(this.buf.readBigUInt64BE(2))
        off = 10
      }
      if (this.buf.length < off + len) return
      this.frames.push({ opcode: this.buf[0]! & 0x0f, payload: Buffer.from(this.buf.subarray(off, off + len)) })
      this.buf = this.buf.subarray(off + len)
      this.wake()
    }
  }

  /** One masked text frame (clients must mask, RFC 6455 §5.3). */
  sendText(text: string): void {
    const payload = Buffer.from(text)
    const len = payload.length
    let head: Buffer
    if (len < 126) head = Buffer.from([0x81, 0x80 | len])
    else if (len < 65536) head = Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff])
    else {
      head = Buffer.alloc(10)
      head[0] = 0x81
      head[1] = 0x80 | 127
      head.writeBigUInt64BE(BigInt(len), 2)
    }
    const mask = randomBytes(4)
    for (let i = 0; i < len; i++) payload[i] = payload[i]! ^ mask[i & 3]!
    if (!this.socket.destroyed) this.socket.write(Buffer.concat([head, mask, payload]))
  }

  /** Text frames parsed as JSON. */
  json(): Record<string, any>[] {
    return this.frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(f.payload.toString("utf8")))
  }

  closeFrame(): { code: number; reason: string } | undefined {
    const f = this.frames.find((x) => x.opcode === 8)
    if (!f) return undefined
    return { code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005, reason: f.payload.subarray(2).toString("utf8") }
  }

  /** Waits for a text frame matching `pred`. */
  async waitForJson(pred: (f: Record<string, any>) => boolean, timeoutMs = 5000): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const hit = this.json().find(pred)
      if (hit) return hit
      if (this.ended || Date.now() > deadline) throw new Error(`no matching frame (ended=${this.ended})`)
      await new Promise<void>((r) => {
        this.waiters.push(r)
        setTimeout(r, 50)
      })
    }
  }

  /** Waits for the server's close frame (or the end of the connection, which returns undefined). */
  async waitClose(timeoutMs = 5000): Promise<{ code: number; reason: string } | undefined> {
    const deadline = Date.now() + timeoutMs
    while (!this.closeFrame() && !this.ended && Date.now() < deadline) {
      await new Promise<void>((r) => {
        this.waiters.push(r)
        setTimeout(r, 50)
      })
    }
    return this.closeFrame()
  }

  destroy(): void {
    this.socket.destroy()
  }
}
