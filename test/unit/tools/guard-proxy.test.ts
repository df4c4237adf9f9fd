/**
 * The browser's forward proxy on its own, spoken to over raw TCP as Chromium would: absolute-form HTTP requests and
 * CONNECT tunnels, each checked before any connection is made, and a kept-alive client connection that can never
 * carry a second request to an unchecked host.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { connect } from "node:net"
import { type GuardProxy, startGuardProxy } from "../../../src/agent/tools/browser/guard-proxy.ts"

let allowed: ReturnType<typeof Bun.serve>
let secret: ReturnType<typeof Bun.serve>
let proxy: GuardProxy
let secretHits = 0
const allowedSeen: string[] = []
const checked: string[] = []

beforeAll(async () => {
  allowed = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      allowedSeen.push(`${req.method} ${new URL(req.url).pathname} host=${req.headers.get("host")} conn=${req.headers.get("connection")}`)
      return new Response("allowed body")
    },
  })
  secret = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      secretHits++
      return new Response("secret")
    },
  })
  // The check stands in for net-guard: only the allowed server's port passes, as its checked address.
  proxy = await startGuardProxy(async (url) => {
    checked.push(url.toString())
    return url.port === String(allowed.port) ? { addresses: ["127.0.0.1"] } : { refused: `Refused to fetch ${url}: not listed` }
  })
})

afterAll(async () => {
  await proxy.close()
  allowed.stop(true)
  secret.stop(true)
})

/** Writes raw bytes to the proxy and collects everything until it closes (or 3 s). */
function raw(bytes: string): Promise<string> {
  const port = Number(new URL(proxy.url).port)
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port })
    let out = ""
    s.on("data", (d) => {
      out += d.toString("latin1")
    })
    const done = () => resolve(out)
    s.on("close", done)
    s.on("error", done)
    setTimeout(() => {
      s.destroy()
    }, 3000)
    s.write(bytes)
  })
}

describe("guard proxy", () => {
  test("an allowed absolute-form request is sent in origin form with Connection: close", async () => {
    allowedSeen.length = 0
    const out = await raw(`GET http://127.0.0.1:${allowed.port}/page?q=1 HTTP/1.1\r\nHost: 127.0.0.1:${allowed.port}\r\nProxy-Connection: keep-alive\r\n\r\n`)
    expect(out).toStartWith("HTTP/1.1 200")
    expect(out).toContain("allowed body")
    expect(allowedSeen).toEqual([`GET /page host=127.0.0.1:${allowed.port} conn=close`])
  })

  test("a refused request never connects: 403 with the guard's message", async () => {
    secretHits = 0
    const out = await raw(`GET http://127.0.0.1:${secret.port}/admin HTTP/1.1\r\nHost: 127.0.0.1:${secret.port}\r\n\r\n`)
    expect(out).toStartWith("HTTP/1.1 403")
    expect(out).toContain(`Refused to fetch http://127.0.0.1:${secret.port}/admin`)
    expect(secretHits).toBe(0)
  })

  test("a second request pipelined on the same connection cannot reach an unchecked host", async () => {
    secretHits = 0
    allowedSeen.length = 0
    const first = `GET http://127.0.0.1:${allowed.port}/one HTTP/1.1\r\nHost: 127.0.0.1:${allowed.port}\r\n\r\n`
    const second = `GET http://127.0.0.1:${secret.port}/two HTTP/1.1\r\nHost: 127.0.0.1:${secret.port}\r\n\r\n`
    const out = await raw(first + second)
    expect(out).toContain("allowed body")
    expect(secretHits).toBe(0)
    expect(allowedSeen[0]).toStartWith("GET /one")
  })

  test("CONNECT: refused tunnels get 403, allowed ones are spliced to the checked address", async () => {
    secretHits = 0
    expect(await raw(`CONNECT 127.0.0.1:${secret.port} HTTP/1.1\r\nHost: 127.0.0.1:${secret.port}\r\n\r\n`)).toStartWith("HTTP/1.1 403")
    expect(secretHits).toBe(0)
    // Through an allowed tunnel the bytes after the head reach the server unchanged (plain HTTP here, as TLS would be).
    const out = await raw(`CONNECT 127.0.0.1:${allowed.port} HTTP/1.1\r\n\r\nGET /tunnelled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    expect(out).toStartWith("HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.1 200")
    expect(checked).toContain(`https://127.0.0.1:${allowed.port}/`)
  })

  test("malformed or oversized heads are dropped without a connection", async () => {
    expect(await raw("NONSENSE\r\n\r\n")).toStartWith("HTTP/1.1 400")
    expect(await raw(`GET /relative HTTP/1.1\r\nHost: 127.0.0.1:${allowed.port}\r\n\r\n`)).toStartWith("HTTP/1.1 400")
    expect(await raw(`GET http://x/ HTTP/1.1\r\nX: ${"a".repeat(70 * 1024)}`)).toBe("")
  })
})
