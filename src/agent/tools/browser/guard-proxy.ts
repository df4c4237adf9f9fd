/**
 * The browser's only way out: a forward proxy on loopback that Chromium is told to use for everything (loopback
 * included: playwright adds "<-loopback>" to the bypass list). Each request (plain HTTP in absolute form, HTTPS and
 * WebSockets as CONNECT host:port) is checked by the SSRF guard before a connection is made, and the connection goes
 * to the address the guard checked. That covers what page.route cannot: redirect hops (Chromium follows them without
 * asking the route handler) and DNS rebinding (the browser never resolves a name itself).
 *
 * Plain HTTP requests are sent upstream with "Connection: close" and the client connection ends with the response, so
 * a kept-alive browser connection can never carry a second request to a host that was not checked.
 */
import { connect, createServer, type Server, type Socket } from "node:net"

/** The guard's verdict on a request: the addresses to connect to, or a refusal message. */
export type ProxyCheck = (url: URL) => Promise<{ addresses: string[] } | { refused: string }>

export interface GuardProxy {
  /** http://127.0.0.1:<port>, for chromium.launch({proxy: {server}}). */
  url: string
  close(): Promise<void>
}

const MAX_HEAD = 64 * 1024
const HOP_HEADERS = new Set(["proxy-connection", "connection", "keep-alive", "proxy-authorization", "te", "trailer", "upgrade"])

function reply(socket: Socket, status: string, body = ""): void {
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}

/** Connects to the first address that accepts (as a browser falls back across A/AAAA records). */
function connectAny(addresses: string[], port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let i = 0
    const next = (lastError?: Error) => {
      const address = addresses[i++]
      if (address === undefined) return reject(lastError ?? new Error("no address"))
      const s = connect({ host: address, port })
      s.once("connect", () => {
        s.removeAllListeners("error")
        resolve(s)
      })
      s.once("error", (err) => {
        s.destroy()
        next(err)
      })
    }
    next()
  })
}

export async function startGuardProxy(check: ProxyCheck): Promise<GuardProxy> {
  const sockets = new Set<Socket>()
  const track = (s: Socket) => {
    sockets.add(s)
    s.once("close", () => sockets.delete(s))
    s.on("error", () => s.destroy())
  }

  async function handle(client: Socket, head: string, rest: Buffer): Promise<void> {
    const [requestLine = "", ...headerLines] = head.split("\r\n")
    const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(requestLine)
    if (!m) return reply(client, "400 Bad Request")
    const [, method, target] = m as unknown as [string, string, string]
    const tunnel = method === "CONNECT"
    let url: URL
    try {
      url = new URL(tunnel ? `https://${target}/` : target)
    } catch {
      return reply(client, "400 Bad Request")
    }
    if (!tunnel && url.protocol !== "http:") return reply(client, "400 Bad Request", "only http:// in absolute form, or CONNECT")
    const verdict = await check(url)
    if ("refused" in verdict) return reply(client, "403 Forbidden", verdict.refused)
    const port = Number(url.port) || (tunnel ? 443 : 80)
    let upstream: Socket
    try {
      upstream = await connectAny(verdict.addresses, port)
    } catch (err) {
      return reply(client, "502 Bad Gateway", `could not connect to ${url.host}: ${(err as Error).message}`)
    }
    track(upstream)
    if (client.destroyed) return void upstream.destroy()
    if (tunnel) {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n")
    } else {
      const headers = headerLines.filter((l) => l && !HOP_HEADERS.has(l.slice(0, l.indexOf(":")).trim().toLowerCase()))
      upstream.write(`${method} ${url.pathname}${url.search} HTTP/1.1\r\n${headers.join("\r\n")}\r\nConnection: close\r\n\r\n`)
    }
    if (rest.length) upstream.write(rest)
    client.pipe(upstream)
    upstream.pipe(client)
    upstream.once("close", () => client.destroy())
    client.once("close", () => upstream.destroy())
    client.resume()
  }

  const server: Server = createServer((client) => {
    track(client)
    let buf = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      const end = buf.indexOf("\r\n\r\n")
      if (end < 0) {
        if (buf.length > MAX_HEAD) client.destroy()
        return
      }
      client.off("data", onData)
      client.pause()
      handle(client, buf.subarray(0, end).toString("latin1"), buf.subarray(end + 4)).catch(() => client.destroy())
    }
    client.on("data", onData)
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const address = server.address()
  const port = typeof address === "object" && address ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
