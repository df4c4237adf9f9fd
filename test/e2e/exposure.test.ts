/**
 * The compiled gateway exposed beyond loopback: TLS (a self-signed certificate pinned by the CLI through the runtime
 * file, or a certificate from files), the browser Origin allowlist before the upgrade, and trusted-proxy auth.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { X509Certificate } from "node:crypto"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { E2E_TOKEN, cliEnv, connectFrame, runCli, startBinary, type GatewayProcess } from "./harness.ts"

const started: GatewayProcess[] = []
afterAll(async () => {
  await Promise.all(started.map((g) => g.stop("SIGKILL")))
})
async function start(...a: Parameters<typeof startBinary>): Promise<GatewayProcess> {
  const gw = await startBinary(...a)
  started.push(gw)
  return gw
}

interface Opened {
  ws?: WebSocket
  status?: number
  frames: Record<string, any>[]
}

/** Opens a WebSocket with Bun's client options (headers, tls); resolves once open, or with the refusal's HTTP status. */
function open(url: string, options: { headers?: Record<string, string>; tls?: { ca?: string } } = {}): Promise<Opened> {
  return new Promise((resolve) => {
    const frames: Record<string, any>[] = []
    const ws = new WebSocket(url, options as unknown as string[])
    ws.onmessage = (ev) => frames.push(JSON.parse(String(ev.data)))
    ws.onopen = () => resolve({ ws, frames })
    ws.onerror = (ev) => {
      // Bun: "Expected 101 status code: 403".
      const status = /status code: (\d{3})/.exec((ev as ErrorEvent).message ?? "")
      resolve({ frames, status: status ? Number(status[1]) : -1 })
    }
  })
}

async function waitFrame(o: Opened, pred: (f: Record<string, any>) => boolean, ms = 5000): Promise<Record<string, any>> {
  const deadline = Date.now() + ms
  for (;;) {
    const f = o.frames.find(pred)
    if (f) return f
    if (Date.now() > deadline) throw new Error(`no matching frame in ${JSON.stringify(o.frames)}`)
    await Bun.sleep(10)
  }
}

async function connect(o: Opened, overrides: Record<string, unknown> = {}): Promise<Record<string, any>> {
  await waitFrame(o, (f) => f.event === "connect.challenge")
  o.ws!.send(JSON.stringify(connectFrame("c1", overrides)))
  return waitFrame(o, (f) => f.type === "res" && f.id === "c1")
}

describe("TLS", () => {
  test("--tls-self-signed: wss:// only, the logged fingerprint is the certificate's, the CLI trusts exactly it, plain ws:// fails", async () => {
    const gw = await start({ args: ["--token", E2E_TOKEN, "--tls-self-signed"] })
    expect(gw.url).toStartWith("wss://")
    const runtime = JSON.parse(readFileSync(join(gw.home, "gateway.runtime.json"), "utf8"))
    const cert = readFileSync(join(gw.home, "tls", "gateway.crt"), "utf8")
    expect(runtime.tls).toEqual({ certPath: join(gw.home, "tls", "gateway.crt"), fingerprint: new X509Certificate(cert).fingerprint256, selfSigned: true })
    expect(gw.stderr()).toContain(runtime.tls.fingerprint)
    // Pinned: the certificate itself is the only trust anchor.
    const pinned = await open(gw.url, { tls: { ca: cert } })
    expect((await connect(pinned, { auth: { token: E2E_TOKEN } })).ok).toBe(true)
    pinned.ws!.close()
    // Unpinned: the self-signed certificate is refused by the client.
    expect((await open(gw.url)).ws).toBeUndefined()
    // Plain text on the TLS port does not upgrade.
    expect((await open(`ws://127.0.0.1:${gw.port}`)).ws).toBeUndefined()
    // HTTPS probes answer on the same port.
    const res = await fetch(`https://127.0.0.1:${gw.port}/healthz`, { tls: { ca: cert } } as RequestInit)
    expect(await res.json()).toEqual({ ok: true, status: "live" })
    // The CLI finds wss:// and the certificate through the runtime file.
    const health = await runCli(["health", "--json"], { ...cliEnv(gw), GATEWAY_PORT: "" })
    expect(health.code).toBe(0)
    expect(JSON.parse(health.out).ok).toBe(true)
  }, 30_000)

  test("--tls-cert without --tls-key exits 2; a key that is not the certificate's refuses to start (78) and says why", async () => {
    const a = await runCli(["run", "--port", "0", "--tls-cert", "/nonexistent.crt"], { GATEWAY_HOME: "/tmp/gw-never" })
    expect(a.code).toBe(2)
    expect(a.err).toContain("--tls-cert and --tls-key go together")
    const gw = await start({ args: ["--token", E2E_TOKEN, "--tls-self-signed"] })
    const other = await start({ args: ["--token", E2E_TOKEN, "--tls-self-signed"] })
    const b = await runCli(["run", "--port", "0", "--tls-cert", join(gw.home, "tls/gateway.crt"), "--tls-key", join(other.home, "tls/gateway.key")], {
      GATEWAY_HOME: mkdtempSync(join(tmpdir(), "gw-e2e-")),
      GATEWAY_TOKEN: E2E_TOKEN,
    })
    expect(b.code).toBe(78)
    expect(b.err).toContain("does not belong to the certificate")
  }, 30_000)
})

describe("browser Origin", () => {
  test("a foreign origin is refused with 403 before the upgrade; loopback and allowlisted origins connect", async () => {
    const gw = await start({ args: ["--token", E2E_TOKEN], config: { gateway: { controlUi: { allowedOrigins: ["https://ops.example.com"] } } } })
    const evil = await open(gw.url, { headers: { Origin: "https://evil.example" } })
    expect(evil.ws).toBeUndefined()
    expect(evil.status).toBe(403)
    for (const origin of [`http://127.0.0.1:${gw.port}`, "http://localhost:3000", "https://ops.example.com"]) {
      const ok = await open(gw.url, { headers: { Origin: origin } })
      expect((await connect(ok, { auth: { token: E2E_TOKEN } })).ok).toBe(true)
      ok.ws!.close()
    }
    // Refusals are logged (rate-limited), with the key to change.
    expect(gw.stderr()).toContain("gateway.controlUi.allowedOrigins")
  }, 30_000)
})

describe("trusted proxy", () => {
  test("refuses to start without gateway.trustedProxies", async () => {
    const gw = startBinary({ config: { gateway: { auth: { mode: "trusted-proxy" } } } })
    await expect(gw).rejects.toThrow(/gateway\.trustedProxies is empty/)
  }, 30_000)

  test("the proxy's user header lets a client in without a token, from a trusted address only; x-openclaw-scopes narrows", async () => {
    const gw = await start({ config: { gateway: { auth: { mode: "trusted-proxy" }, trustedProxies: ["127.0.0.1"] } } })
    const noUser = await open(gw.url)
    expect(noUser.status).toBe(401)
    const proxied = await open(gw.url, { headers: { "x-forwarded-user": "nick@example.com", "x-openclaw-scopes": "operator.read" } })
    const res = await connect(proxied)
    expect(res.ok).toBe(true)
    expect(res.payload.auth.scopes).toEqual(["operator.read"])
    proxied.ws!.close()
    // HTTP APIs take the same identity instead of a bearer token.
    const http = await fetch(`http://127.0.0.1:${gw.port}/v1/models`)
    expect(http.status).toBe(401)
    expect(((await http.json()) as { error: { message: string } }).error.message).toContain("x-forwarded-user")
    const viaProxy = await fetch(`http://127.0.0.1:${gw.port}/v1/models`, { headers: { "x-forwarded-user": "nick@example.com" } })
    expect(viaProxy.status).not.toBe(401)
  }, 30_000)
})
