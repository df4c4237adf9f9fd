/**
 * The node host: its system.run policy (deny / allowlist / ask / full through the exec tool's matcher, argv quoted
 * so nothing in an argument reads as shell) and, in process against a real gateway, ask mode going through the
 * gateway's exec approvals, and reconnecting after the connection drops.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseCommand } from "../../../src/agent/tools/shell-words.ts"
import { ConfigSchema } from "../../../src/config/schema.ts"
import { systemRun } from "../../../src/nodes/host/commands.ts"
import { NodeHost } from "../../../src/nodes/host/host.ts"
import { NodeRunPolicy, shellQuote, type NodeExecConfig } from "../../../src/nodes/host/policy.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"
import type { TestClient } from "../../harness/ws-client.ts"

const dirs: string[] = []
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "gw-node-unit-"))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function policy(exec: Partial<NodeExecConfig>): { p: NodeRunPolicy; workspace: string } {
  const home = tempDir()
  const workspace = join(home, "workspace")
  mkdirSync(workspace)
  const cfg = { ...ConfigSchema.parse({}).node.exec, ...exec }
  return { p: new NodeRunPolicy(() => cfg, workspace), workspace }
}

describe("system.run policy", () => {
  test("an argv survives quoting word for word (operators and expansions stay literal)", () => {
    const argv = ["echo", "a;b", "$(id)", "it's", "", "x y", "`z`", "~", "*"]
    const words = parseCommand(argv.map(shellQuote).join(" "))
    expect(words.operators).toEqual([])
    expect(words.expansions).toEqual([])
    expect(words.words.map((w) => w.text)).toEqual(argv)
  })

  test("deny refuses everything, naming the key", () => {
    const d = policy({ mode: "deny" }).p.decide({ argv: ["echo", "hi"] })
    expect(d).toMatchObject({ decision: "deny" })
    expect(d.reason).toContain("node.exec.mode")
  })

  test("full runs the argv as given, in any existing directory; a missing one is refused", () => {
    const { p, workspace } = policy({ mode: "full" })
    expect(p.decide({ argv: ["sh", "-c", "echo hi | wc -c"] })).toMatchObject({ decision: "allow", argv: ["sh", "-c", "echo hi | wc -c"], cwd: workspace })
    expect(p.decide({ argv: ["true"], cwd: "/" })).toMatchObject({ decision: "allow", cwd: "/" })
    expect(p.decide({ argv: ["true"], cwd: "/no/such/dir" })).toMatchObject({ decision: "deny" })
  })

  test("allowlist: a listed program runs (resolved on PATH); unlisted, refused switches and paths outside the roots are refused", () => {
    const { p } = policy({ mode: "allowlist", allowlist: ["echo", "bash", "cat"] })
    const ok = p.decide({ argv: ["echo", "a;b"] })
    expect(ok.decision).toBe("allow")
    if (ok.decision === "allow") expect(ok.argv.slice(1)).toEqual(["a;b"])
    const unlisted = p.decide({ argv: ["ls"] })
    expect(unlisted).toMatchObject({ decision: "deny" })
    expect(unlisted.reason).toContain("node.exec.allowlist")
    expect(p.decide({ argv: ["bash", "-c", "id"] }).reason).toContain("-c is refused")
    expect(p.decide({ argv: ["cat", "/etc/passwd"] }).reason).toContain("outside the allowed directories")
    expect(p.decide({ argv: ["echo", "hi"], cwd: "/" })).toMatchObject({ decision: "deny" })
    expect(p.decide({ argv: ["echo"], env: { LD_PRELOAD: "/tmp/x.so" } }).decision).toBe("deny")
  })

  test("ask: allowlisted commands run, anything else asks with the command as the operator will see it", () => {
    const { p } = policy({ mode: "ask", allowlist: ["echo"] })
    expect(p.decide({ argv: ["echo", "hi"] }).decision).toBe("allow")
    const d = p.decide({ argv: ["rm", "-rf", "x y"], env: { A: "1" } })
    expect(d).toMatchObject({ decision: "ask", text: "A=1 rm -rf 'x y'" })
    expect(p.decide({ argv: ["echo"], cwd: "/" }).decision).toBe("ask")
  })
})

describe("system.run time limits", () => {
  test("the caller's timeoutMs cannot exceed the node's limit (node.exec.timeoutSeconds / the invoke's wait)", async () => {
    const { p } = policy({ mode: "full" })
    const t0 = Date.now()
    const res = await systemRun(
      { command: ["sleep", "5"], timeoutMs: 60_000 },
      { policy: p, limits: () => ({ timeoutMs: 300, maxOutputBytes: 1000 }), approve: async () => true },
    )
    expect(res.timedOut).toBe(true)
    expect(Date.now() - t0).toBeLessThan(3000)
  })

  test("an approval that comes after the invoke's deadline does not run the command", async () => {
    const { p } = policy({ mode: "ask" })
    const marker = join(tempDir(), "ran")
    const deadline = Date.now() + 100
    const run = systemRun(
      { command: ["touch", marker] },
      {
        policy: p,
        limits: () => ({ timeoutMs: Math.min(10_000, deadline - Date.now()), maxOutputBytes: 1000 }),
        approve: async () => {
          await Bun.sleep(200)
          return true
        },
      },
    )
    await expect(run).rejects.toMatchObject({ code: "TIMEOUT" })
    expect(existsSync(marker)).toBe(false)
  })
})

describe("node host against an in-process gateway", () => {
  let gw: InProcessGateway
  let op: TestClient
  let host: NodeHost
  let running: Promise<void>
  const lines: string[] = []

  beforeAll(async () => {
    gw = await startInProcess({ config: { tools: { exec: { approvalTimeoutMs: 5000 } } } })
    op = await gw.connect()
    const home = tempDir()
    writeFileSync(join(home, "gateway.json"), JSON.stringify({ node: { exec: { mode: "ask", allowlist: ["echo"] } } }))
    host = new NodeHost({ url: gw.url, token: gw.token, home, name: "unit-node", log: (l) => lines.push(l), backoff: { initialMs: 50, maxMs: 200 } })
    running = host.run()
    await waitFor(async () => (await op.call("node.list")).nodes.some((n: any) => n.nodeId === host.nodeId && n.connected))
  })
  afterAll(async () => {
    host?.stop()
    await running
    await gw?.stop()
  })

  async function waitFor(check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out; host log: ${lines.join(" | ")}`)
      await Bun.sleep(20)
    }
  }

  const invoke = (argv: string[], key: string) =>
    op.request("node.invoke", { nodeId: host.nodeId, command: "system.run", params: { command: argv }, idempotencyKey: key, timeoutMs: 10_000 }, 12_000)

  test("an allowlisted command runs without asking", async () => {
    const res = await invoke(["echo", "plain"], "h-plain")
    expect(res.payload.payload).toEqual({ stdout: "plain\n", stderr: "", exitCode: 0, timedOut: false })
  })

  test("ask mode: the gateway's operators see the node's request; allow runs it, deny refuses it", async () => {
    const allowed = invoke(["printf", "%s", "approved"], "h-ask-1")
    const ev = await op.event("exec.approval.requested", (p) => p.request.command.includes("printf"))
    expect(ev.request.command).toBe("[node unit-node] printf %s approved")
    await op.call("exec.approval.resolve", { id: ev.id, decision: "allow-once" })
    expect((await allowed).payload.payload).toMatchObject({ stdout: "approved", exitCode: 0 })

    const denied = invoke(["printf", "no"], "h-ask-2")
    const ev2 = await op.event("exec.approval.requested", (p) => p.request.command.includes("printf no"))
    await op.call("exec.approval.resolve", { id: ev2.id, decision: "deny" })
    const res = await denied
    expect(res.error?.code).toBe("UNAVAILABLE")
    expect(res.error?.details?.code).toBe("SYSTEM_RUN_DENIED")
  })

  test("ask mode: the approval waits only as long as the invoke; approving after its TIMEOUT runs nothing", async () => {
    const marker = join(tempDir(), "late-approval")
    const res = op.request(
      "node.invoke",
      { nodeId: host.nodeId, command: "system.run", params: { command: ["touch", marker] }, idempotencyKey: "h-late", timeoutMs: 400 },
      5000,
    )
    const ev = await op.event("exec.approval.requested", (p) => p.request.command.includes("late-approval"))
    expect((await res).error?.details?.code).toBe("TIMEOUT")
    await Bun.sleep(300)
    await op.request("exec.approval.resolve", { id: ev.id, decision: "allow-once" })
    await Bun.sleep(500)
    expect(existsSync(marker)).toBe(false)
  })

  test("bad params come back as the node's INVALID_PARAMS", async () => {
    const res = await op.request("node.invoke", { nodeId: host.nodeId, command: "system.run", params: { command: [] }, idempotencyKey: "h-bad" })
    expect(res.error?.details?.code).toBe("INVALID_PARAMS")
  })
})
