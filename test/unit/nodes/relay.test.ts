/**
 * The node registry and the node.invoke relay in process: a node connection (role "node", declared commands)
 * answers node.invoke.request frames by hand, so each path of the relay is driven from the wire: result relayed,
 * node error, timeout, the node leaving mid-invoke, unknown and disconnected nodes, idempotent retries, pairing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"
import type { TestClient } from "../../harness/ws-client.ts"

let gw: InProcessGateway
let op: TestClient

beforeAll(async () => {
  gw = await startInProcess()
  op = await gw.connect()
})
afterAll(async () => {
  await gw?.stop()
})

async function connectNode(nodeId: string, commands = ["system.run", "system.which"]): Promise<TestClient> {
  return gw.connect({
    role: "node",
    scopes: [],
    params: {
      client: { id: "node-host", version: "test", platform: "linux", mode: "node", instanceId: nodeId, displayName: `box-${nodeId}` },
      commands,
      caps: ["system"],
    },
  })
}

/** Answers every node.invoke.request with `answer(request)` (or not at all when it returns undefined). */
function serve(node: TestClient, answer: (req: any) => Record<string, unknown> | undefined): void {
  const seen = new Set<string>()
  const poll = setInterval(() => {
    for (const req of node.events("node.invoke.request")) {
      if (seen.has(req.id)) continue
      seen.add(req.id)
      const a = answer(req)
      if (a) node.sendRequest("node.invoke.result", { id: req.id, nodeId: req.nodeId, ...a })
    }
    if (!node.isOpen) clearInterval(poll)
  }, 5)
}

describe("node registry", () => {
  test("a node connection is listed with what it declared, and stays listed (disconnected) after it leaves", async () => {
    const node = await connectNode("n-list")
    const { nodes } = await op.call("node.list")
    const entry = nodes.find((n: any) => n.nodeId === "n-list")
    expect(entry).toMatchObject({
      displayName: "box-n-list",
      platform: "linux",
      connected: true,
      paired: true,
      commands: ["system.run", "system.which"],
      caps: ["system"],
    })
    expect(typeof entry.connectedAtMs).toBe("number")
    node.close()
    await node.closed()
    await Bun.sleep(20)
    const after = (await op.call("node.list")).nodes.find((n: any) => n.nodeId === "n-list")
    expect(after).toMatchObject({ connected: false, paired: true, commands: ["system.run", "system.which"] })
    expect(after.connectedAtMs).toBeUndefined()
    const described = await op.call("node.describe", { nodeId: "n-list" })
    expect(described.nodeId).toBe("n-list")
    expect(typeof described.ts).toBe("number")
  })

  test("node.rename survives the node's own name at its next connect", async () => {
    const node = await connectNode("n-rename")
    expect(await op.call("node.rename", { nodeId: "n-rename", displayName: "Build box" })).toEqual({ nodeId: "n-rename", displayName: "Build box" })
    node.close()
    await node.closed()
    const again = await connectNode("n-rename")
    const entry = (await op.call("node.list")).nodes.find((n: any) => n.nodeId === "n-rename")
    expect(entry.displayName).toBe("Build box")
    again.close()
    const bad = await op.request("node.rename", { nodeId: "nope", displayName: "x" })
    expect(bad.error?.code).toBe("INVALID_REQUEST")
  })

  test("pairing: request → pending (event) → approve → paired; reject and remove", async () => {
    const req = await op.call("node.pair.request", { nodeId: "n-pair", displayName: "Phone", platform: "ios" })
    expect(req.status).toBe("pending")
    expect(req.created).toBe(true)
    const ev = await op.event("node.pair.requested", (p) => p.nodeId === "n-pair")
    expect(ev.requestId).toBe(req.request.requestId)
    const list = await op.call("node.pair.list")
    expect(list.pending.map((p: any) => p.nodeId)).toContain("n-pair")
    // Pending nodes are not in node.list.
    expect((await op.call("node.list")).nodes.some((n: any) => n.nodeId === "n-pair")).toBe(false)
    const approved = await op.call("node.pair.approve", { requestId: req.request.requestId })
    expect(approved.node).toMatchObject({ nodeId: "n-pair", displayName: "Phone" })
    expect((await op.event("node.pair.resolved", (p) => p.nodeId === "n-pair")).decision).toBe("approved")
    expect((await op.call("node.list")).nodes.find((n: any) => n.nodeId === "n-pair")).toMatchObject({ paired: true, connected: false })

    const r2 = await op.call("node.pair.request", { nodeId: "n-pair-2" })
    expect(await op.call("node.pair.reject", { requestId: r2.request.requestId })).toEqual({ requestId: r2.request.requestId, nodeId: "n-pair-2" })
    expect((await op.call("node.pair.list")).pending.some((p: any) => p.nodeId === "n-pair-2")).toBe(false)
    expect((await op.request("node.pair.approve", { requestId: r2.request.requestId })).error?.code).toBe("INVALID_REQUEST")

    expect(await op.call("node.pair.remove", { nodeId: "n-pair" })).toEqual({ nodeId: "n-pair", removed: true })
    expect((await op.call("node.list")).nodes.some((n: any) => n.nodeId === "n-pair")).toBe(false)
  })

  test("an operator may not send node.invoke.result; a node may not call operator methods", async () => {
    const res = await op.request("node.invoke.result", { id: "x", nodeId: "y", ok: true })
    expect(res.error?.message).toContain("unauthorized role")
    const node = await connectNode("n-roles")
    const denied = await node.request("node.list")
    expect(denied.error?.code).toBe("FORBIDDEN")
    expect(await node.call("node.event", { event: "exec.finished", payloadJSON: "{}" })).toEqual({ ok: true })
    expect((await op.request("node.event", { event: "x" })).error?.message).toContain("unauthorized role")
    node.close()
  })
})

describe("node.invoke relay", () => {
  test("the node gets node.invoke.request with paramsJSON and its result is relayed", async () => {
    const node = await connectNode("n-echo")
    serve(node, (req) => ({ ok: true, payload: { echoed: JSON.parse(req.paramsJSON), command: req.command } }))
    const res = await op.call("node.invoke", { nodeId: "n-echo", command: "system.run", params: { command: ["echo", "hi"] }, idempotencyKey: "k-echo" })
    expect(res).toEqual({
      ok: true,
      nodeId: "n-echo",
      command: "system.run",
      payload: { echoed: { command: ["echo", "hi"] }, command: "system.run" },
      payloadJSON: JSON.stringify({ echoed: { command: ["echo", "hi"] }, command: "system.run" }),
    })
    const req = node.events("node.invoke.request")[0]
    expect(req).toMatchObject({ nodeId: "n-echo", command: "system.run", idempotencyKey: "k-echo", timeoutMs: 30_000 })
    expect(typeof node.frames.find((f) => f.event === "node.invoke.request")?.seq).toBe("number")
    node.close()
  })

  test("a retry with the same idempotencyKey is answered once by the node; another key runs again", async () => {
    const node = await connectNode("n-idem")
    let runs = 0
    serve(node, () => ({ ok: true, payload: { run: ++runs } }))
    const p = { nodeId: "n-idem", command: "system.run", params: { command: ["true"] }, idempotencyKey: "k-idem" }
    const [a, b] = await Promise.all([op.call("node.invoke", p), op.call("node.invoke", p)])
    const c = await op.call("node.invoke", p)
    expect(a.payload).toEqual({ run: 1 })
    expect(b.payload).toEqual({ run: 1 })
    expect(c.payload).toEqual({ run: 1 })
    expect(runs).toBe(1)
    expect((await op.call("node.invoke", { ...p, idempotencyKey: "k-idem-2" })).payload).toEqual({ run: 2 })
    const conflict = await op.request("node.invoke", { ...p, params: { command: ["false"] } })
    expect(conflict.error?.details?.code).toBe("IDEMPOTENCY_CONFLICT")
    node.close()
  })

  test("a node's error result comes back as UNAVAILABLE carrying the node's error", async () => {
    const node = await connectNode("n-err")
    serve(node, () => ({ ok: false, error: { code: "SYSTEM_RUN_DENIED", message: "denied by policy" } }))
    const res = await op.request("node.invoke", { nodeId: "n-err", command: "system.run", params: {}, idempotencyKey: "k-err" })
    expect(res.error?.code).toBe("UNAVAILABLE")
    expect(res.error?.message).toContain("denied by policy")
    expect(res.error?.details).toMatchObject({ code: "SYSTEM_RUN_DENIED", nodeError: { code: "SYSTEM_RUN_DENIED" } })
    node.close()
  })

  test("timeout, node leaving mid-invoke, unknown node, disconnected node, undeclared command", async () => {
    const node = await connectNode("n-slow")
    serve(node, () => undefined) // never answers
    const t0 = Date.now()
    const timedOut = await op.request("node.invoke", { nodeId: "n-slow", command: "system.run", timeoutMs: 200, idempotencyKey: "k-t" })
    expect(timedOut.error?.code).toBe("UNAVAILABLE")
    expect(timedOut.error?.details?.code).toBe("TIMEOUT")
    expect(Date.now() - t0).toBeLessThan(3000)
    // A late answer is accepted by the gateway but relayed to nobody.
    const late = await node.call("node.invoke.result", { id: node.events("node.invoke.request")[0].id, nodeId: "n-slow", ok: true })
    expect(late).toEqual({ ok: true, accepted: false })

    const pending = op.request("node.invoke", { nodeId: "n-slow", command: "system.run", timeoutMs: 10_000, idempotencyKey: "k-gone" })
    await node.event("node.invoke.request", (p) => p.idempotencyKey === "k-gone")
    node.close()
    const gone = await pending
    expect(gone.error?.code).toBe("UNAVAILABLE")
    expect(gone.error?.details?.code).toBe("NODE_DISCONNECTED")

    const offline = await op.request("node.invoke", { nodeId: "n-slow", command: "system.run", idempotencyKey: "k-off" })
    expect(offline.error?.details?.code).toBe("NODE_NOT_CONNECTED")
    const unknown = await op.request("node.invoke", { nodeId: "no-such-node", command: "system.run", idempotencyKey: "k-unk" })
    expect(unknown.error?.code).toBe("UNAVAILABLE")
    expect(unknown.error?.details?.code).toBe("NODE_NOT_FOUND")

    const other = await connectNode("n-cmds", ["system.which"])
    const unsupported = await op.request("node.invoke", { nodeId: "n-cmds", command: "system.run", idempotencyKey: "k-cmd" })
    expect(unsupported.error?.code).toBe("INVALID_REQUEST")
    expect(unsupported.error?.details?.code).toBe("COMMAND_NOT_SUPPORTED")
    other.close()
  })

  test("a node reconnecting before its old socket closed: invokes sent on the old socket fail when it closes", async () => {
    const oldSocket = await connectNode("n-twice")
    serve(oldSocket, () => undefined) // never answers
    const t0 = Date.now()
    const pending = op.request("node.invoke", { nodeId: "n-twice", command: "system.run", timeoutMs: 8000, idempotencyKey: "k-twice" }, 10_000)
    await oldSocket.event("node.invoke.request", (p) => p.idempotencyKey === "k-twice")
    const newSocket = await connectNode("n-twice")
    oldSocket.close()
    const res = await pending
    expect(res.error?.details?.code).toBe("NODE_DISCONNECTED")
    expect(Date.now() - t0).toBeLessThan(4000)
    // New invokes go to the new socket.
    serve(newSocket, () => ({ ok: true, payload: { from: "new" } }))
    expect((await op.call("node.invoke", { nodeId: "n-twice", command: "system.run", idempotencyKey: "k-twice-2" })).payload).toEqual({ from: "new" })
    newSocket.close()
  })

  test("a caller that disconnects cancels its invoke: nothing waits for the node's late answer", async () => {
    const node = await connectNode("n-cancel")
    serve(node, () => undefined)
    const caller = await gw.connect()
    caller.sendRequest("node.invoke", { nodeId: "n-cancel", command: "system.run", timeoutMs: 20_000, idempotencyKey: "k-cancel" })
    const req = await node.event("node.invoke.request", (p) => p.idempotencyKey === "k-cancel")
    caller.close()
    await caller.closed()
    await Bun.sleep(50)
    expect(await node.call("node.invoke.result", { id: req.id, nodeId: "n-cancel", ok: true })).toEqual({ ok: true, accepted: false })
    node.close()
  })

  test("failures that never reached a node are not kept: the retry with the same key runs once the node is there", async () => {
    const first = await op.request("node.invoke", { nodeId: "n-late", command: "system.run", idempotencyKey: "k-late" })
    expect(first.error?.details?.code).toBe("NODE_NOT_FOUND")
    const node = await connectNode("n-late", ["system.which"])
    const unsupported = await op.request("node.invoke", { nodeId: "n-late", command: "system.run", idempotencyKey: "k-late" })
    expect(unsupported.error?.details?.code).toBe("COMMAND_NOT_SUPPORTED")
    node.close()
    await node.closed()
    const again = await connectNode("n-late")
    serve(again, () => ({ ok: true, payload: { ran: true } }))
    expect((await op.call("node.invoke", { nodeId: "n-late", command: "system.run", idempotencyKey: "k-late" })).payload).toEqual({ ran: true })
    again.close()
  })

  test("node.list survives a restart of the gateway (paired nodes are in SQLite)", async () => {
    const home = gw.home
    const node = await connectNode("n-persist")
    node.close()
    await gw.gateway.stop()
    const again = await startInProcess({ home })
    try {
      const c = await again.connect()
      const entry = (await c.call("node.list")).nodes.find((n: any) => n.nodeId === "n-persist")
      expect(entry).toMatchObject({ connected: false, paired: true, displayName: "box-n-persist" })
    } finally {
      await again.stop()
    }
  })
})
