/**
 * What answers on a port (client/probe.ts), what the client says when it is not a gateway, who holds a port the
 * gateway cannot bind (server/port-holder.ts), and auth refusals in CLI words (client/explain.ts).
 */
import { afterAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { explainAuthError } from "../../src/client/explain.ts"
import { GatewayClient, GatewayRequestError, GatewayUnreachableError } from "../../src/client/index.ts"
import { probeEndpoint } from "../../src/client/probe.ts"
import type { RuntimeInfo } from "../../src/config/runtime.ts"
import { describePortHolder, findListener } from "../../src/server/port-holder.ts"

const stops: (() => void)[] = []
afterAll(() => {
  for (const s of stops) s()
})

/** A raw TCP server doing `onData` with each connection (or nothing). */
function tcp(onOpen?: (s: { write(d: string | Uint8Array): number; end(): void }) => void, onData?: (s: { write(d: Uint8Array): number }) => void): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => onOpen?.(s), data: (s) => onData?.(s) } })
  stops.push(() => l.stop(true))
  return l.port
}

function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  const port = l.port
  l.stop(true)
  return port
}

describe("probeEndpoint", () => {
  test("nothing, HTTP (status and Server), a WebSocket upgrade, TLS, silence, a closed connection", async () => {
    expect((await probeEndpoint("127.0.0.1", freePort())).kind).toBe("nothing")

    const http = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("no", { status: 404, headers: { server: "Test/1" } }) })
    stops.push(() => http.stop(true))
    expect(await probeEndpoint("127.0.0.1", http.port!)).toMatchObject({ kind: "http", status: "HTTP/1.1 404 Not Found", server: "Test/1" })

    const ws = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (r, s) => (s.upgrade(r) ? undefined : new Response("")), websocket: { message() {} } })
    stops.push(() => ws.stop(true))
    expect((await probeEndpoint("127.0.0.1", ws.port!)).kind).toBe("websocket")

    // What a TLS server sends back to plain text: an alert record.
    const tls = tcp(undefined, (s) => void s.write(new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46])))
    expect((await probeEndpoint("127.0.0.1", tls)).kind).toBe("tls")
    expect((await probeEndpoint("127.0.0.1", tcp(), 300)).kind).toBe("silent")
    expect(
      (
        await probeEndpoint(
          "127.0.0.1",
          tcp((s) => s.end()),
        )
      ).kind,
    ).toBe("closed")
    expect(
      await probeEndpoint(
        "127.0.0.1",
        tcp(undefined, (s) => void s.write(new TextEncoder().encode("SSH-2.0-OpenSSH_9\r\n"))),
      ),
    ).toMatchObject({
      kind: "other",
      detail: "SSH-2.0-OpenSSH_9??",
    })
  })
})

describe("GatewayClient where no gateway is", () => {
  test("a WebSocket server that greets with text fails at once, saying so", async () => {
    const ws = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (r, s) => (s.upgrade(r) ? undefined : new Response("")),
      websocket: { open: (w) => void w.send("hi there"), message() {} },
    })
    stops.push(() => ws.stop(true))
    const started = Date.now()
    const err = await GatewayClient.connect({ url: `ws://127.0.0.1:${ws.port}`, timeoutMs: 5000 }).catch((e) => e)
    expect(err).toBeInstanceOf(GatewayUnreachableError)
    expect(err.message).toBe(
      `no gateway at ws://127.0.0.1:${ws.port}: a WebSocket server answers there but does not speak the OpenClaw gateway protocol (its first message was 'hi there')`,
    )
    expect(Date.now() - started).toBeLessThan(2000)
  })

  test("a silent WebSocket server: no challenge within the timeout", async () => {
    const ws = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (r, s) => (s.upgrade(r) ? undefined : new Response("")), websocket: { message() {} } })
    stops.push(() => ws.stop(true))
    const err = await GatewayClient.connect({ url: `ws://127.0.0.1:${ws.port}`, timeoutMs: 300 }).catch((e) => e)
    expect(err.message).toEndWith("(it sent no connect.challenge within 300 ms)")
  })
})

describe("describePortHolder", () => {
  test("an HTTP server, named by its answer and (Linux) its process", async () => {
    const child = Bun.spawn(
      ["bun", "-e", "const s = Bun.serve({hostname: '127.0.0.1', port: 0, fetch: () => new Response('x', {status: 403})}); console.log(s.port)"],
      {
        stdout: "pipe",
      },
    )
    stops.push(() => child.kill())
    const reader = child.stdout.getReader()
    const port = Number(new TextDecoder().decode((await reader.read()).value).trim())
    const message = await describePortHolder({ host: "127.0.0.1", port, home: "/nonexistent" })
    expect(message).toMatch(
      new RegExp(
        `^port ${port} on 127\\.0\\.0\\.1 is in use by an HTTP server, not a gateway \\((bun, pid ${child.pid}; )?it answers "HTTP/1\\.1 403 Forbidden"\\)\\. Stop it, or run this gateway on another port: --port \\d+ \\(or gateway\\.port\\)$`,
      ),
    )
    if (process.platform === "linux") expect(findListener(port)).toEqual({ pid: child.pid, name: "bun" })
  })

  test("nothing on the port any more: 'another program'", async () => {
    const port = freePort()
    expect(await describePortHolder({ host: "127.0.0.1", port, home: "/x" })).toStartWith(`port ${port} on 127.0.0.1 is in use by another program. Stop it`)
  })
})

describe("explainAuthError", () => {
  const refusal = (code: string, extra: Record<string, unknown> = {}) =>
    new GatewayRequestError({ code: "INVALID_REQUEST", message: "unauthorized: … (set auth.token in connect params)", details: { code, ...extra } })
  const rt = (authSource: RuntimeInfo["authSource"]) => ({ authSource, home: "/h", configPath: "/h/gateway.json" }) as RuntimeInfo
  const url = "ws://127.0.0.1:1"

  test("names flags, variables and files instead of connect params", () => {
    expect(explainAuthError(refusal("AUTH_TOKEN_MISMATCH"), { url, tokenSource: "GATEWAY_TOKEN" })).toBe(
      "the gateway at ws://127.0.0.1:1 rejected the token from GATEWAY_TOKEN: pass its token with --token or GATEWAY_TOKEN (a local gateway's is gateway.auth.token in its gateway.json, else the gateway.token file in its state home; 'gateway token new --write' makes a new one) [AUTH_TOKEN_MISMATCH]",
    )
    expect(explainAuthError(refusal("AUTH_TOKEN_MISMATCH"), { url, tokenSource: "--token", runtime: rt("generated") })).toBe(
      `the gateway at ws://127.0.0.1:1 rejected the token from --token: it uses the token in ${join("/h", "gateway.token")}; drop --token and GATEWAY_TOKEN to use it, or make a new one with 'gateway token new --write' [AUTH_TOKEN_MISMATCH]`,
    )
    expect(explainAuthError(refusal("AUTH_TOKEN_MISSING"), { url, runtime: rt("env") })).toBe(
      "the gateway at ws://127.0.0.1:1 needs a token and none was sent: it was started with --token or GATEWAY_TOKEN; pass that token with --token or GATEWAY_TOKEN [AUTH_TOKEN_MISSING]",
    )
    expect(explainAuthError(refusal("AUTH_PASSWORD_MISSING"), { url })).toBe(
      "the gateway at ws://127.0.0.1:1 needs a password and none was sent: pass it with --password or GATEWAY_PASSWORD (gateway.auth.password in its gateway.json) [AUTH_PASSWORD_MISSING]",
    )
    expect(explainAuthError(refusal("AUTH_RATE_LIMITED", { retryAfterMs: 61_000 }), { url })).toBe(
      "the gateway at ws://127.0.0.1:1 refuses this address for 61 s after too many failed attempts; wait, then retry with the right --token or --password [AUTH_RATE_LIMITED]",
    )
    expect(explainAuthError(new GatewayRequestError({ code: "UNAVAILABLE", message: "x" }), { url })).toBeUndefined()
  })
})
