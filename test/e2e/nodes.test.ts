/**
 * Nodes against the compiled binary: a gateway process and a node host process (`gateway node run --url …`) from the
 * same binary. node.list shows the node; node.invoke system.run echoes; a timeout, the node killed mid-invoke and an
 * unknown node give clean errors; the node reconnects by itself after the gateway restarts; the policy of the node's
 * own config refuses what it must; OpenClaw's CLI prints node.list in its shape.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BINARY, connected, E2E_TOKEN, runBinary, startBinary, waitUntil, type GatewayProcess, type RawSocket } from "./harness.ts"
import { openclawAvailable, openclawState, runOpenclaw } from "./openclaw.ts"

interface NodeProcess {
  proc: ReturnType<typeof Bun.spawn>
  home: string
  log(): string
  nodeId(): string
}

function startNode(url: string, opts: { home?: string; name?: string; config?: unknown; token?: string } = {}): NodeProcess {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), "gw-node-"))
  if (opts.config !== undefined) writeFileSync(join(home, "gateway.json"), JSON.stringify(opts.config), { mode: 0o600 })
  const proc = Bun.spawn([BINARY, "node", "run", "--url", url, "--name", opts.name ?? "e2e-node", "--home", home], {
    env: { PATH: process.env.PATH ?? "", HOME: home, GATEWAY_NODE_TOKEN: opts.token ?? E2E_TOKEN },
    stdout: "pipe",
    stderr: "pipe",
  })
  let log = ""
  void (async () => {
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) log += new TextDecoder().decode(chunk)
  })()
  return {
    proc,
    home,
    log: () => log,
    nodeId: () => JSON.parse(readFileSync(join(home, "node-host.json"), "utf8")).nodeId,
  }
}

let gw: GatewayProcess
let op: RawSocket
let node: NodeProcess
const gwHome = mkdtempSync(join(tmpdir(), "gw-e2e-nodes-"))
const cleanup: string[] = [gwHome]

async function opConnect(url: string): Promise<RawSocket> {
  return (await connected(url, { scopes: ["operator.read", "operator.write", "operator.pairing"] })).sock
}

async function listed(nodeId: string, connected = true) {
  return waitUntil(
    async () => {
      const res = await op.request("node.list", {})
      return (res.payload as any).nodes.find((n: any) => n.nodeId === nodeId && n.connected === connected)
    },
    `node ${nodeId} ${connected ? "connected" : "disconnected"} in node.list`,
    15_000,
  )
}

beforeAll(async () => {
  gw = await startBinary({ home: gwHome, args: ["--token", E2E_TOKEN] })
  op = await opConnect(gw.url)
  node = startNode(gw.url, { config: { node: { exec: { mode: "full" } } } })
  cleanup.push(node.home)
  await waitUntil(() => existsSync(join(node.home, "node-host.json")) && node.log().includes("connected to"), "node host connected", 15_000)
})

afterAll(async () => {
  node?.proc.kill("SIGKILL")
  op?.close()
  await gw?.stop()
  for (const d of cleanup) rmSync(d, { recursive: true, force: true })
})

describe("node host from the compiled binary", () => {
  test("node.list shows the node host with its commands", async () => {
    const entry = await listed(node.nodeId())
    expect(entry).toMatchObject({ displayName: "e2e-node", connected: true, paired: true, commands: ["system.run", "system.which"], caps: ["system"] })
  })

  test("node.invoke system.run [echo, hi] → stdout 'hi\\n'; system.which finds sh", async () => {
    const res = await op.request(
      "node.invoke",
      { nodeId: node.nodeId(), command: "system.run", params: { command: ["echo", "hi"] }, idempotencyKey: "e-echo" },
      15_000,
    )
    expect(res.ok).toBe(true)
    expect((res.payload as any).payload).toEqual({ stdout: "hi\n", stderr: "", exitCode: 0, timedOut: false })
    const which = await op.request("node.invoke", {
      nodeId: node.nodeId(),
      command: "system.which",
      params: { bins: ["sh", "no-such-bin-x"] },
      idempotencyKey: "e-which",
    })
    expect(Object.keys((which.payload as any).payload.bins)).toEqual(["sh"])
  })

  test("system.run's own timeout kills the command and says so", async () => {
    const res = await op.request(
      "node.invoke",
      { nodeId: node.nodeId(), command: "system.run", params: { command: ["sleep", "10"], timeoutMs: 300 }, idempotencyKey: "e-to" },
      15_000,
    )
    expect(res.ok).toBe(true)
    expect((res.payload as any).payload).toMatchObject({ timedOut: true })
  })

  test("an invoke past its timeoutMs fails with UNAVAILABLE / TIMEOUT", async () => {
    const t0 = Date.now()
    const res = await op.request(
      "node.invoke",
      { nodeId: node.nodeId(), command: "system.run", params: { command: ["sleep", "5"] }, timeoutMs: 400, idempotencyKey: "e-gto" },
      15_000,
    )
    expect(res.ok).toBe(false)
    expect((res.error as any).code).toBe("UNAVAILABLE")
    expect((res.error as any).details.code).toBe("TIMEOUT")
    expect(Date.now() - t0).toBeLessThan(4000)
  })

  test("an unknown node fails cleanly", async () => {
    const res = await op.request("node.invoke", { nodeId: "no-such-node", command: "system.run", params: { command: ["true"] }, idempotencyKey: "e-unk" })
    expect(res.ok).toBe(false)
    expect((res.error as any).code).toBe("UNAVAILABLE")
    expect((res.error as any).details.code).toBe("NODE_NOT_FOUND")
  })

  test("the gateway restarts: the node host reconnects by itself", async () => {
    const id = node.nodeId()
    op.close()
    const port = gw.port
    await gw.stop()
    // The same port: the node host keeps its --url.
    gw = await startBinary({ home: gwHome, args: ["--token", E2E_TOKEN], port })
    op = await opConnect(gw.url)
    // Known from SQLite at once, connected again once the host's backoff comes round.
    await listed(id, true)
    const res = await op.request("node.invoke", { nodeId: id, command: "system.run", params: { command: ["echo", "back"] }, idempotencyKey: "e-back" }, 15_000)
    expect((res.payload as any).payload.stdout).toBe("back\n")
  }, 40_000)

  test("the node killed mid-invoke: the caller gets NODE_DISCONNECTED at once; node.list keeps it as disconnected", async () => {
    const id = node.nodeId()
    const pending = op.request(
      "node.invoke",
      { nodeId: id, command: "system.run", params: { command: ["sleep", "20"] }, timeoutMs: 20_000, idempotencyKey: "e-kill" },
      25_000,
    )
    // The request is on the node's socket well within this; the command itself runs 20 s.
    await Bun.sleep(500)
    const t0 = Date.now()
    node.proc.kill("SIGKILL")
    const res = await pending
    expect(res.ok).toBe(false)
    expect((res.error as any).details.code).toBe("NODE_DISCONNECTED")
    expect(Date.now() - t0).toBeLessThan(5000)
    const entry = await listed(id, false)
    expect(entry.paired).toBe(true)
  }, 30_000)
})

describe("the node's own policy", () => {
  test("allowlist mode: a listed program runs; others and shell tricks are refused with SYSTEM_RUN_DENIED", async () => {
    const strict = startNode(gw.url, { name: "strict", config: { node: { exec: { mode: "allowlist", allowlist: ["echo"] } } } })
    cleanup.push(strict.home)
    try {
      await waitUntil(() => existsSync(join(strict.home, "node-host.json")) && strict.log().includes("connected to"), "strict node connected", 15_000)
      const id = strict.nodeId()
      const ok = await op.request("node.invoke", { nodeId: id, command: "system.run", params: { command: ["echo", "a;b"] }, idempotencyKey: "s-ok" }, 15_000)
      expect((ok.payload as any).payload.stdout).toBe("a;b\n")
      const denied = await op.request(
        "node.invoke",
        { nodeId: id, command: "system.run", params: { command: ["bash", "-lc", "id"] }, idempotencyKey: "s-no" },
        15_000,
      )
      expect(denied.ok).toBe(false)
      expect((denied.error as any).details.code).toBe("SYSTEM_RUN_DENIED")
      expect((denied.error as any).message).toContain("node.exec.allowlist")
    } finally {
      strict.proc.kill("SIGKILL")
    }
  }, 30_000)
})

describe("gateway node install", () => {
  test("--dry-run --json: a gateway-node user unit running `<binary> node run --url …`, the token only in the 0600 environment file", async () => {
    const token = "node-install-secret-1234"
    const home = mkdtempSync(join(tmpdir(), "gw-node-install-"))
    cleanup.push(home)
    const r = await runBinary(["node", "install", "--url", "ws://gw.example:18789", "--token", token, "--name", "box", "--dry-run", "--json"], {
      home,
      env: { XDG_CONFIG_HOME: join(home, "xdg") },
    })
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.unitPath).toBe(join(home, "xdg", "systemd", "user", "gateway-node.service"))
    expect(out.unit).toContain(`ExecStart=${BINARY} node run --url ws://gw.example:18789 --name box`)
    expect(out.unit).toContain(`EnvironmentFile=${join(home, "xdg", "gateway", "gateway-node.env")}`)
    expect(r.stdout).not.toContain(token)
    expect(out.envFile).toContain("GATEWAY_NODE_TOKEN=********")
    expect(out.commands).toEqual([
      ["systemctl", "--user", "daemon-reload"],
      ["systemctl", "--user", "enable", "--now", "gateway-node.service"],
    ])
    expect(existsSync(out.unitPath)).toBe(false)
  })
})

// OpenClaw's CLI, where it is installed (openclaw.ts).
describe.skipIf(!openclawAvailable)("OpenClaw CLI", () => {
  test("openclaw gateway call node.list --json prints {ts, nodes:[…]} with our node", async () => {
    const state = openclawState()
    cleanup.push(state)
    const { code, out, err } = await runOpenclaw(["gateway", "call", "node.list", "--url", gw.url, "--token", E2E_TOKEN, "--json"], { state })
    expect({ code, err: code === 0 ? "" : err }).toEqual({ code: 0, err: "" })
    const body = JSON.parse(out)
    expect(typeof body.ts).toBe("number")
    expect(Array.isArray(body.nodes)).toBe(true)
    const ours = body.nodes.find((n: any) => n.nodeId === node.nodeId())
    expect(ours).toMatchObject({ displayName: "e2e-node", paired: true, commands: ["system.run", "system.which"] })
    expect(typeof ours.connected).toBe("boolean")
  }, 60_000)
})
