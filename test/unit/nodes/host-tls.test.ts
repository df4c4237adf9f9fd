/**
 * The node host's reach: it trusts a wss:// gateway's self-signed certificate when given it (NodeHostOptions.ca, from
 * `--tls-ca` / GATEWAY_TLS_CA), and `gateway node install` carries the password into the 0600 environment file.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeHost } from "../../../src/nodes/host/host.ts"
import { nodeServiceFiles } from "../../../src/nodes/host/service.ts"
import { parseEnvironmentFile } from "../../../src/service/systemd-unit.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "gw-node-tls-"))
  dirs.push(d)
  return d
}

describe("node host over wss:// with a self-signed certificate", () => {
  let gw: InProcessGateway | undefined
  afterAll(async () => {
    await gw?.stop()
  })

  test("connects when given the certificate as ca", async () => {
    gw = await startInProcess({ config: { gateway: { tls: { enabled: true, autoGenerate: true } } } })
    expect(gw.url.startsWith("wss://")).toBe(true)
    const certFile = readdirSync(join(gw.home, "tls")).find((f) => f.endsWith(".crt"))!
    const ca = readFileSync(join(gw.home, "tls", certFile), "utf8")
    const lines: string[] = []
    const host = new NodeHost({ url: gw.url, token: gw.token, ca, home: tempDir(), log: (l) => lines.push(l), backoff: { initialMs: 50, maxMs: 100 } })
    const running = host.run()
    const op = await connectOperator(gw, ca)
    try {
      const end = Date.now() + 5000
      let connected = false
      while (!connected && Date.now() < end) {
        connected = (await op.request("node.list")).nodes.some((n) => n.nodeId === host.nodeId && n.connected)
        if (!connected) await Bun.sleep(30)
      }
      if (!connected) throw new Error(`the node host did not connect; its log: ${lines.join(" | ")}`)
    } finally {
      op.close()
      host.stop()
      await running
    }
  })
})

async function connectOperator(gw: InProcessGateway, ca: string) {
  const { GatewayClient } = await import("../../../src/client/index.ts")
  return GatewayClient.connect({ url: gw.url, token: gw.token, ca })
}

describe("gateway node install files", () => {
  test("token and password go into the environment file (masked when shown); --tls-ca is on the command line", () => {
    const home = tempDir()
    const files = nodeServiceFiles({
      url: "wss://gw.example:18789",
      token: "tok-123",
      password: 'pa"ss $word',
      tlsCa: "/etc/gateway/gw.crt",
      env: { HOME: home, XDG_CONFIG_HOME: join(home, "xdg") },
    })
    expect(parseEnvironmentFile(files.envFile)).toMatchObject({ GATEWAY_NODE_TOKEN: "tok-123", GATEWAY_NODE_PASSWORD: 'pa"ss $word' })
    expect(files.envFileShown).not.toContain("tok-123")
    expect(files.envFileShown).not.toContain("word")
    expect(parseEnvironmentFile(files.envFileShown)).toMatchObject({ GATEWAY_NODE_TOKEN: "********", GATEWAY_NODE_PASSWORD: "********" })
    expect(files.unit).toContain("--tls-ca /etc/gateway/gw.crt")
    expect(files.unit).not.toContain("$word")
  })
})
