/**
 * Exec approvals against the compiled binary (tools.exec.mode "ask"): a model's exec call, or an exec.bash request,
 * is broadcast as exec.approval.requested to operator.approvals clients; exec.approval.resolve decides; no answer
 * within tools.exec.approvalTimeoutMs denies.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { startFakeOpenAI, type FakeServer } from "../fakes/openai.ts"
import { connected, directedModel, E2E_TOKEN, fakeModelConfig, startBinary, type GatewayProcess, type RawSocket, ok } from "./harness.ts"

const APPROVAL_TIMEOUT_MS = 1000

let fake: FakeServer
let gw: GatewayProcess
let writer: RawSocket
let approver: RawSocket
let reader: RawSocket

let seq = 0
/** Sends `agent` and resolves with the final payload (skipping the "accepted" interim response). */
function startAgent(message: string): Promise<Record<string, any>> {
  const id = `agent-${++seq}`
  writer.send({ type: "req", id, method: "agent", params: { message, idempotencyKey: crypto.randomUUID(), sessionKey: `approvals-${seq}` } })
  return writer.waitFor((f) => f.type === "res" && f.id === id && !(f.ok && (f.payload as { status?: string })?.status === "accepted"), 15_000).then(ok)
}

/** The exec.approval.requested event for `command`, as the approver received it. */
async function requested(command: string): Promise<{ id: string; request: Record<string, any>; createdAtMs: number; expiresAtMs: number }> {
  const ev = await approver.waitFor(
    (f) => f.type === "event" && f.event === "exec.approval.requested" && (f.payload as { request: { command: string } }).request.command === command,
  )
  return ev.payload as { id: string; request: Record<string, any>; createdAtMs: number; expiresAtMs: number }
}

const resolvedEvent = (id: string) =>
  approver.waitFor((f) => f.type === "event" && f.event === "exec.approval.resolved" && (f.payload as { id: string }).id === id)

beforeAll(async () => {
  fake = startFakeOpenAI(directedModel)
  gw = await startBinary({
    args: ["--token", E2E_TOKEN],
    config: fakeModelConfig(fake.url, { tools: { exec: { mode: "ask", approvalTimeoutMs: APPROVAL_TIMEOUT_MS } } }),
  })
  ;[writer, approver, reader] = await Promise.all([
    connected(gw.url, { scopes: ["operator.read", "operator.write"] }).then((c) => c.sock),
    connected(gw.url, { scopes: ["operator.approvals"], minProtocol: 3, maxProtocol: 3 }).then((c) => c.sock),
    connected(gw.url, { scopes: ["operator.read"] }).then((c) => c.sock),
  ])
})

afterAll(async () => {
  for (const s of [writer, approver, reader]) s?.close()
  await gw?.stop()
  await fake?.stop()
})

describe("exec approvals (tools.exec.mode ask)", () => {
  test("a model's exec call waits for the operator; allow-once runs it and the tool result has its output", async () => {
    const command = "echo approved-output-1"
    const final = startAgent(`CALL exec ${JSON.stringify({ command })}`)
    const req = await requested(command)
    expect(req.id).toBeString()
    expect(req.request.sessionKey).toBe(`agent:main:approvals-${seq}`)
    expect(req.request.cwd).toEndWith("/workspace")
    expect(req.expiresAtMs - req.createdAtMs).toBe(APPROVAL_TIMEOUT_MS)
    const pending = ok(await approver.request("exec.approval.list", {})).approvals as { id: string; command: string }[]
    expect(pending).toContainEqual(expect.objectContaining({ id: req.id, command }))

    expect(ok(await approver.request("exec.approval.resolve", { id: req.id, decision: "allow-once" }))).toMatchObject({
      ok: true,
      id: req.id,
      decision: "allow-once",
    })
    expect((await resolvedEvent(req.id)).payload).toMatchObject({ id: req.id, decision: "allow-once" })
    const out = await final
    expect(out.status).toBe("ok")
    expect(out.result.payloads[0].text).toStartWith("tool result: approved-output-1\n")
    expect(out.result.payloads[0].text).toContain("[exit code 0")
    // Only clients holding operator.approvals see approval requests.
    expect(reader.events("exec.approval.requested")).toEqual([])
    expect(writer.events("exec.approval.requested")).toEqual([])
    // A decided request is gone; deciding it again fails.
    const again = await approver.request("exec.approval.resolve", { id: req.id, decision: "allow-once" })
    expect(again.ok).toBe(false)
    expect((again.error as { code: string }).code).toBe("APPROVAL_NOT_FOUND")
  })

  test("deny: the command does not run and the tool result says it was denied", async () => {
    const marker = join(gw.home, "workspace", "denied-marker")
    const command = `touch ${marker}`
    const final = startAgent(`CALL exec ${JSON.stringify({ command })}`)
    const req = await requested(command)
    ok(await approver.request("exec.approval.resolve", { id: req.id, decision: "deny" }))
    const out = await final
    expect(out.status).toBe("ok")
    expect(out.result.payloads[0].text).toContain("tool result: ")
    expect(out.result.payloads[0].text).toContain("denied by the operator")
    expect(existsSync(marker)).toBe(false)
  })

  test("no answer: denied once approvalTimeoutMs has passed", async () => {
    const marker = join(gw.home, "workspace", "timeout-marker")
    const command = `touch ${marker}`
    const final = startAgent(`CALL exec ${JSON.stringify({ command })}`)
    const req = await requested(command)
    const t0 = Date.now()
    const out = await final
    expect(Date.now() - t0).toBeGreaterThanOrEqual(APPROVAL_TIMEOUT_MS - 200)
    expect(out.result.payloads[0].text).toContain("denied by the operator (or the approval request timed out)")
    expect(existsSync(marker)).toBe(false)
    expect((await resolvedEvent(req.id)).payload).toMatchObject({ id: req.id, decision: "deny" })
    expect(ok(await approver.request("exec.approval.list", {})).approvals).toEqual([])
  })

  test("exec.bash waits for approval the same way: allow-once runs it, deny is FORBIDDEN", async () => {
    const bash = (command: string) => {
      const id = `bash-${++seq}`
      writer.send({ type: "req", id, method: "exec.bash", params: { command } })
      return writer.response(id, 10_000)
    }
    const allowed = bash("echo via-bash")
    const req = await requested("echo via-bash")
    expect(req.request.cwd).toEndWith("/workspace")
    ok(await approver.request("exec.approval.resolve", { id: req.id, decision: "allow-once" }))
    expect(ok(await allowed)).toEqual({ stdout: "via-bash\n", stderr: "", exitCode: 0 })

    const marker = join(gw.home, "workspace", "bash-denied")
    const denied = bash(`touch ${marker}`)
    const req2 = await requested(`touch ${marker}`)
    ok(await approver.request("exec.approval.resolve", { id: req2.id, decision: "deny" }))
    const res = await denied
    expect(res.ok).toBe(false)
    expect((res.error as { code: string }).code).toBe("FORBIDDEN")
    expect(existsSync(marker)).toBe(false)
  })

  test("allow-always: the same command later runs without asking", async () => {
    const command = "echo always-ok"
    const first = writer.request("exec.bash", { command }, 10_000)
    const req = await requested(command)
    ok(await approver.request("exec.approval.resolve", { id: req.id, decision: "allow-always" }))
    expect(ok(await first).stdout).toBe("always-ok\n")
    const before = approver.events("exec.approval.requested").length
    expect(ok(await writer.request("exec.bash", { command }, 3000)).stdout).toBe("always-ok\n")
    expect(approver.events("exec.approval.requested").length).toBe(before)
  })
})
