/**
 * What answers on a TCP port, when a WebSocket connection to it failed: nothing, an HTTP server that does not
 * upgrade, a WebSocket server, a TLS server, or something silent. One raw connection sending a WebSocket upgrade
 * request, so the answer is the server's own (its status line and Server header), not the WebSocket API's "error".
 */

export type EndpointKind = "nothing" | "unreachable" | "http" | "websocket" | "tls" | "silent" | "closed" | "other"

export interface EndpointProbe {
  kind: EndpointKind
  host: string
  port: number
  /** HTTP: the status line, e.g. "HTTP/1.1 404 Not Found". */
  status?: string
  /** HTTP: the Server header. */
  server?: string
  /** unreachable: the error code; other: the first bytes received. */
  detail?: string
}

/** Connects once to host:port and classifies what answers. Never throws. */
export function probeEndpoint(host: string, port: number, timeoutMs = 1500): Promise<EndpointProbe> {
  const hostname = host.replace(/^\[|\]$/g, "")
  return new Promise((resolve) => {
    let received = Buffer.alloc(0)
    let settled = false
    const done = (p: Omit<EndpointProbe, "host" | "port">, socket?: { end(): void }) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      try {
        socket?.end()
      } catch {}
      resolve({ host, port, ...p })
    }
    const timer = setTimeout(() => done(classify(received) ?? { kind: received.length ? "other" : "silent", detail: printable(received) }), timeoutMs)
    const failed = (err: unknown) => {
      const code = (err as { code?: string })?.code
      done(code === "ECONNREFUSED" ? { kind: "nothing" } : { kind: "unreachable", detail: code ?? (err as Error)?.message ?? String(err) })
    }
    Bun.connect({
      hostname,
      port,
      socket: {
        open(socket) {
          const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64")
          socket.write(
            `GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
          )
        },
        data(socket, chunk) {
          received = Buffer.concat([received, chunk]).subarray(0, 16_384)
          const c = classify(received, true)
          if (c) done(c, socket)
        },
        close() {
          done(classify(received) ?? (received.length ? { kind: "other", detail: printable(received) } : { kind: "closed" }))
        },
        error: (_s, err) => failed(err),
        connectError: (_s, err) => failed(err),
      },
    }).catch(failed)
  })
}

/** A verdict from the bytes so far, or undefined to keep reading (`partial`) / when they say nothing. */
function classify(buf: Buffer, partial = false): Omit<EndpointProbe, "host" | "port"> | undefined {
  if (buf.length === 0) return undefined
  // A TLS record (alert 0x15 or handshake 0x16, version 3.x): what a TLS server sends back to plain text.
  if ((buf[0] === 0x15 || buf[0] === 0x16) && buf[1] === 0x03) return { kind: "tls" }
  const text = buf.toString("latin1")
  if (text.startsWith("HTTP/")) {
    const end = text.indexOf("\r\n\r\n")
    if (end < 0 && partial) return undefined
    const lines = text.slice(0, end < 0 ? undefined : end).split("\r\n")
    const status = lines[0]!.trim()
    const server = lines.find((l) => /^server:/i.test(l))?.replace(/^server:\s*/i, "")
    return { kind: / 101 /.test(`${status} `) ? "websocket" : "http", status, server }
  }
  if (partial && "HTTP/".startsWith(text)) return undefined
  return partial ? { kind: "other", detail: printable(buf) } : undefined
}

function printable(buf: Buffer): string {
  return buf
    .subarray(0, 60)
    .toString("latin1")
    .replace(/[^\x20-\x7e]/g, "?")
}

/** The probe as a phrase: "nothing is listening on …", "an HTTP server answers there (…)". */
export function describeEndpoint(p: EndpointProbe): string {
  const where = `${p.host}:${p.port}`
  switch (p.kind) {
    case "nothing":
      return `nothing is listening on ${where}`
    case "unreachable":
      return `cannot connect to ${where}: ${p.detail}`
    case "http":
      return `an HTTP server answers there ("${p.status}"${p.server ? `, Server: ${p.server}` : ""})`
    case "websocket":
      return "a WebSocket server answers there"
    case "tls":
      return "a TLS server answers there"
    case "silent":
      return `something accepts connections on ${where} but does not answer HTTP`
    case "closed":
      return `something accepts connections on ${where} but closes them without answering`
    case "other":
      return `something answers there, but not with HTTP ('${p.detail}')`
  }
}
