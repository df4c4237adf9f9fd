/**
 * "Tools for other agents" against the compiled binary: exec.bash, sessions.spawn + agent.wait + sessions.transcript,
 * tools.invoke (WebSocket) and POST /tools/invoke (HTTP), tools.catalog, the exec policy modes and tools.deny, over
 * protocol-3 and protocol-4 connections alike; and a sub-agent whose result is announced back to its parent.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { startFakeOpenAI, type FakeServer } from "../fakes/openai.ts"
import {
  connected,
  directedModel,
  E2E_TOKEN,
  fakeModelConfig,
  httpUrl,
  lastUserText,
  startBinary,
  waitUntil,
  type GatewayProcess,
  type RawFrame,
  type RawSocket,
  ok,
} from "./harness.ts"

let fake: FakeServer
let gwFull: GatewayProcess
let gwAllow: GatewayProcess
let gwDeny: GatewayProcess
let gwNoExec: GatewayProcess
const sockets: RawSocket[] = []

const WRITER = { scopes: ["operator.read", "operator.write"] }

async function open(gw: GatewayProcess, protocol: 3 | 4 = 4): Promise<RawSocket> {
  const { sock, hello } = await connected(gw.url, { ...WRITER, minProtocol: protocol, maxProtocol: protocol })
  expect(hello.protocol).toBe(protocol)
  sockets.push(sock)
  return sock
}

function errorOf(res: RawFrame): { code: string; message: string; details?: Record<string, any> } {
  expect(res.ok).toBe(false)
  return res.error as { code: string; message: string; details?: Record<string, any> }
}

/** POST /tools/invoke; token null sends no Authorization header. */
function invokeHttp(gw: GatewayProcess, body: unknown, token: string | null = E2E_TOKEN): Promise<Response> {
  return fetch(`${httpUrl(gw)}/tools/invoke`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  })
}

beforeAll(async () => {
  fake = startFakeOpenAI(directedModel)
  ;[gwFull, gwAllow, gwDeny, gwNoExec] = await Promise.all([
    startBinary({ args: ["--token", E2E_TOKEN], config: fakeModelConfig(fake.url, { tools: { exec: { mode: "full" } } }) }),
    startBinary({ args: ["--token", E2E_TOKEN], config: fakeModelConfig(fake.url, { tools: { exec: { mode: "allowlist", allowlist: ["echo", "sed"] } } }) }),
    startBinary({ args: ["--token", E2E_TOKEN], config: fakeModelConfig(fake.url, { tools: { exec: { mode: "deny" } } }) }),
    startBinary({ args: ["--token", E2E_TOKEN], config: fakeModelConfig(fake.url, { tools: { deny: ["exec"], exec: { mode: "full" } } }) }),
  ])
})

afterAll(async () => {
  for (const s of sockets) s.close()
  await Promise.all([gwFull, gwAllow, gwDeny, gwNoExec].map((g) => g?.stop()))
  await fake?.stop()
})

for (const protocol of [3, 4] as const) {
  describe(`tools for other agents over protocol ${protocol}`, () => {
    test("exec.bash runs a command in the workspace: stdout, stderr and exit code apart; workdir inside it", async () => {
      const sock = await open(gwFull, protocol)
      const r = ok(await sock.request("exec.bash", { command: `echo out-${protocol}; echo err-${protocol} >&2; exit 3` }))
      expect(r).toEqual({ stdout: `out-${protocol}\n`, stderr: `err-${protocol}\n`, exitCode: 3 })
      expect(ok(await sock.request("exec.bash", { command: "pwd" })).stdout.trim()).toEndWith("/workspace")
      ok(await sock.request("exec.bash", { command: `mkdir -p sub${protocol}` }))
      const sub = ok(await sock.request("exec.bash", { command: "pwd", workdir: `sub${protocol}` }))
      expect(sub.stdout.trim()).toEndWith(`/workspace/sub${protocol}`)
      expect(sub.exitCode).toBe(0)
      // A workdir that is missing or a file is refused with a clear reason (not a spawn error about /bin/sh).
      for (const workdir of [`missing-${protocol}`, "AGENTS.md"]) {
        const e = errorOf(await sock.request("exec.bash", { command: "pwd", workdir }))
        expect(e.code).toBe("FORBIDDEN")
        expect(e.message).toContain(`Working directory ${workdir} does not exist or is not a directory`)
      }
    })

    test("sessions.spawn runs a sub-agent; agent.wait ends ok; sessions.transcript has the task and the reply as plain text", async () => {
      const sock = await open(gwFull, protocol)
      const task = `summarise the plan (p${protocol})`
      const spawned = ok(await sock.request("sessions.spawn", { task, label: `planner-${protocol}` }))
      expect(spawned.runId).toBeString()
      expect(spawned.sessionKey).toMatch(/^agent:main:subagent:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      const waited = ok(await sock.request("agent.wait", { runId: spawned.runId, timeoutMs: 10_000 }, 12_000))
      expect(waited.status).toBe("ok")
      expect(waited.runId).toBe(spawned.runId)
      const t = ok(await sock.request("sessions.transcript", { key: spawned.sessionKey }))
      expect(t.key).toBe(spawned.sessionKey)
      expect(t.messages).toEqual([
        { role: "user", content: task },
        { role: "assistant", content: `echo: ${task}` },
      ])
      // The child's own model call saw only its task: nothing of any other session.
      const call = fake.requests.find((b) => lastUserText(b) === task)!
      expect(call.messages.filter((m: { role: string }) => m.role === "user")).toHaveLength(1)
      const listed = ok(await sock.request("sessions.list", { search: `planner-${protocol}` }))
      expect(listed.sessions.map((s: { key: string; kind: string }) => [s.key, s.kind])).toEqual([[spawned.sessionKey, "subagent"]])
    })

    test("agent.wait with a short timeout reports timeout while the sub-agent still runs, then ok", async () => {
      const sock = await open(gwFull, protocol)
      const task = `SLOW 700 slow child ${protocol}`
      const spawned = ok(await sock.request("sessions.spawn", { task }))
      const early = ok(await sock.request("agent.wait", { runId: spawned.runId, timeoutMs: 50 }))
      expect(early.status).toBe("timeout")
      const entry = ok(await sock.request("sessions.get", { key: spawned.sessionKey })).entry
      expect(entry.hasActiveRun).toBe(true)
      expect(entry.activeRunIds).toEqual([spawned.runId])
      const late = ok(await sock.request("agent.wait", { runId: spawned.runId, timeoutMs: 10_000 }, 12_000))
      expect(late.status).toBe("ok")
      expect(late.terminalReply).toEqual({ disposition: "visible", text: `echo: ${task}` })
      // Unknown runs are an error, not a timeout.
      const unknown = errorOf(await sock.request("agent.wait", { runId: "no-such-run", timeoutMs: 50 }))
      expect(unknown.code).toBe("AGENT_RESULT_NOT_FOUND")
    })

    test("several sub-agents spawned at once each answer their own task", async () => {
      const sock = await open(gwFull, protocol)
      const tasks = [1, 2, 3].map((i) => `parallel task ${i} (p${protocol})`)
      const spawned = await Promise.all(tasks.map((task) => sock.request("sessions.spawn", { task }).then(ok)))
      expect(new Set(spawned.map((s) => s.sessionKey)).size).toBe(3)
      const waited = await Promise.all(spawned.map((s) => sock.request("agent.wait", { runId: s.runId, timeoutMs: 10_000 }, 12_000).then(ok)))
      expect(waited.map((w) => w.status)).toEqual(["ok", "ok", "ok"])
      for (const [i, s] of spawned.entries()) {
        const t = ok(await sock.request("sessions.transcript", { key: s.sessionKey }))
        expect(t.messages).toEqual([
          { role: "user", content: tasks[i] },
          { role: "assistant", content: `echo: ${tasks[i]}` },
        ])
      }
    })

    test("tools.invoke writes then reads a file in the workspace", async () => {
      const sock = await open(gwFull, protocol)
      const path = `notes/ws-${protocol}.txt`
      const w = ok(await sock.request("tools.invoke", { name: "write", args: { path, content: `alpha ${protocol}\nbeta\n` } }))
      expect(w.ok).toBe(true)
      expect(w.isError).toBe(false)
      expect(readFileSync(join(gwFull.home, "workspace", path), "utf8")).toBe(`alpha ${protocol}\nbeta\n`)
      const r = ok(await sock.request("tools.invoke", { name: "read", args: { path } }))
      expect(r.ok).toBe(true)
      expect(r.result).toContain(`alpha ${protocol}`)
      expect(r.result).toContain("beta")
      // A tool failure is a result (ok:false, isError), not a request error.
      const missing = ok(await sock.request("tools.invoke", { name: "read", args: { path: "no/such/file.txt" } }))
      expect(missing.ok).toBe(false)
      expect(missing.isError).toBe(true)
      expect(missing.result).toContain("no/such/file.txt")
    })

    test("tools.invoke in a new session gives it the kind its key says; its runs do not see the main session's MEMORY.md", async () => {
      const sock = await open(gwFull, protocol)
      const key = `agent:main:scratch-${protocol}`
      expect(ok(await sock.request("tools.invoke", { name: "ls", args: {}, sessionKey: key })).ok).toBe(true)
      const entry = ok(await sock.request("sessions.get", { key })).entry
      expect(entry.kind).toBe("other")
      const res = await runAgent(sock, `after invoke ${protocol}`, key)
      expect(res.status).toBe("ok")
      const system = fake.requests.find((b) => lastUserText(b) === `after invoke ${protocol}`)!.messages[0].content as string
      expect(system).toContain("## AGENTS.md")
      expect(system).not.toContain("## MEMORY.md")
    })

    test("tools.invoke of an unknown tool is INVALID_REQUEST", async () => {
      const sock = await open(gwFull, protocol)
      const e = errorOf(await sock.request("tools.invoke", { name: "no_such_tool", args: {} }))
      expect(e.code).toBe("INVALID_REQUEST")
      expect(e.message).toContain("no_such_tool")
      expect(e.details?.code).toBe("TOOL_NOT_AVAILABLE")
    })

    test("tools.catalog lists every tool with a JSON Schema for its parameters", async () => {
      const sock = await open(gwFull, protocol)
      const tools = ok(await sock.request("tools.catalog", {})).tools as { name: string; description: string; parameters: Record<string, any> }[]
      const names = tools.map((t) => t.name)
      for (const n of ["read", "write", "edit", "ls", "exec", "process", "sessions_spawn"]) expect(names).toContain(n)
      for (const t of tools) {
        expect(t.description.length).toBeGreaterThan(0)
        expect(t.parameters.type).toBe("object")
        expect(typeof t.parameters.properties).toBe("object")
      }
      const exec = tools.find((t) => t.name === "exec")!
      expect(exec.parameters.properties.command.type).toBe("string")
      expect(exec.parameters.required).toContain("command")
    })

    test("exec.bash with tools.exec.mode deny is FORBIDDEN", async () => {
      const sock = await open(gwDeny, protocol)
      const e = errorOf(await sock.request("exec.bash", { command: "echo hi" }))
      expect(e.code).toBe("FORBIDDEN")
      expect(e.message).toContain("deny")
      expect(e.details?.code).toBe("EXEC_DENIED")
    })

    test("allowlist mode: an allowlisted program runs; chaining, other programs and a workdir outside the roots do not", async () => {
      const sock = await open(gwAllow, protocol)
      expect(ok(await sock.request("exec.bash", { command: "echo hi" }))).toEqual({ stdout: "hi\n", stderr: "", exitCode: 0 })
      const victim = join(gwAllow.home, "workspace", `x${protocol}`)
      writeFileSync(victim, "keep me")
      const chained = errorOf(await sock.request("exec.bash", { command: `echo hi; rm x${protocol}` }))
      expect(chained.code).toBe("FORBIDDEN")
      expect(chained.message).toContain("operators")
      expect(existsSync(victim)).toBe(true)
      const cat = errorOf(await sock.request("exec.bash", { command: "cat /etc/passwd" }))
      expect(cat.code).toBe("FORBIDDEN")
      expect(cat.message).toContain('"cat" is not on tools.exec.allowlist')
      const outside = errorOf(await sock.request("exec.bash", { command: "echo hi", workdir: "/etc" }))
      expect(outside.code).toBe("FORBIDDEN")
      expect(outside.message).toContain("outside the allowed directories")
      const upAndOut = errorOf(await sock.request("exec.bash", { command: "echo hi", workdir: "../.." }))
      expect(upAndOut.code).toBe("FORBIDDEN")
    })

    test("allowlist mode: a listed program's code-execution switch is refused (sed's e command runs nothing)", async () => {
      const sock = await open(gwAllow, protocol)
      const marker = join(gwAllow.home, "workspace", `pwned-sed-${protocol}`)
      const e = errorOf(await sock.request("exec.bash", { command: `sed -n '1e touch pwned-sed-${protocol}' AGENTS.md` }))
      expect(e.code).toBe("FORBIDDEN")
      expect(e.details?.code).toBe("EXEC_DENIED")
      expect(e.message).toContain("sed")
      expect(e.message).toContain("`e`")
      expect(existsSync(marker)).toBe(false)
      // The same program without the switch runs.
      expect(ok(await sock.request("exec.bash", { command: "sed -n 1p AGENTS.md" })).exitCode).toBe(0)
    })

    test("tools.deny [exec]: absent from the catalog, not invokable, exec.bash forbidden", async () => {
      const sock = await open(gwNoExec, protocol)
      const names = (ok(await sock.request("tools.catalog", {})).tools as { name: string }[]).map((t) => t.name)
      expect(names).not.toContain("exec")
      expect(names).toContain("read")
      const e = errorOf(await sock.request("tools.invoke", { name: "exec", args: { command: "echo hi" } }))
      expect(e.code).toBe("INVALID_REQUEST")
      expect(e.details?.code).toBe("TOOL_NOT_AVAILABLE")
      const bash = errorOf(await sock.request("exec.bash", { command: "echo hi" }))
      expect(bash.code).toBe("FORBIDDEN")
    })
  })
}

describe("POST /tools/invoke", () => {
  test("with the bearer token: write then read a file", async () => {
    const w = await invokeHttp(gwFull, { tool: "write", args: { path: "http/one.txt", content: "over http" } })
    expect(w.status).toBe(200)
    const wb = (await w.json()) as Record<string, any>
    expect(wb.ok).toBe(true)
    expect(typeof wb.result).toBe("string")
    expect(readFileSync(join(gwFull.home, "workspace", "http/one.txt"), "utf8")).toBe("over http")
    const r = await invokeHttp(gwFull, { tool: "read", args: { path: "http/one.txt" } })
    expect(r.status).toBe(200)
    const rb = (await r.json()) as Record<string, any>
    expect(rb.ok).toBe(true)
    expect(rb.result).toContain("over http")
  })

  test("without a bearer or with a wrong one: 401, and the tool does not run", async () => {
    const none = await invokeHttp(gwFull, { tool: "write", args: { path: "http/nope.txt", content: "x" } }, null)
    expect(none.status).toBe(401)
    const wrong = await invokeHttp(gwFull, { tool: "write", args: { path: "http/nope.txt", content: "x" } }, "wrong-token-xyz")
    expect(wrong.status).toBe(401)
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe("unauthorized")
    expect(existsSync(join(gwFull.home, "workspace", "http/nope.txt"))).toBe(false)
  })

  test("an unknown tool is 404; a tool denied by config is 404; a bad body is 400", async () => {
    const unknown = await invokeHttp(gwFull, { tool: "no_such_tool", args: {} })
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { ok: boolean }).ok).toBe(false)
    const denied = await invokeHttp(gwNoExec, { tool: "exec", args: { command: "touch pwned" } })
    expect(denied.status).toBe(404)
    expect(existsSync(join(gwNoExec.home, "workspace", "pwned"))).toBe(false)
    const bad = await invokeHttp(gwFull, { args: {} })
    expect(bad.status).toBe(400)
  })
})

describe("the model's tools follow the policy", () => {
  test("tools.deny [exec]: the model is not offered exec, and a call to it anyway does not run", async () => {
    const { sock } = await connected(gwNoExec.url, WRITER)
    sockets.push(sock)
    const marker = join(gwNoExec.home, "workspace", "ran-anyway")
    const res = await runAgent(sock, `CALL exec {"command":"touch ${marker}"}`)
    expect(res.status).toBe("ok")
    const call = fake.requests.find((b) => lastUserText(b).includes("ran-anyway"))!
    const offered = (call.tools ?? []).map((t: { function: { name: string } }) => t.function.name)
    expect(offered).toContain("read")
    expect(offered).not.toContain("exec")
    expect(res.result.payloads[0].text).toContain("tool result:")
    expect(res.result.payloads[0].text).toContain("Unknown tool 'exec'")
    expect(existsSync(marker)).toBe(false)
  })
})

let agentSeq = 0
/** Sends `agent` and returns the final payload (after the "accepted" interim response). */
async function runAgent(sock: RawSocket, message: string, sessionKey?: string): Promise<Record<string, any>> {
  const id = `agent-${++agentSeq}`
  sock.send({ type: "req", id, method: "agent", params: { message, idempotencyKey: crypto.randomUUID(), ...(sessionKey ? { sessionKey } : {}) } })
  const final = await sock.waitFor((f) => f.type === "res" && f.id === id && !(f.ok && (f.payload as { status?: string })?.status === "accepted"), 15_000)
  return ok(final)
}

describe("sub-agent announce", () => {
  test("the parent's sessions_spawn runs a child; its reply comes back to the parent as a [Sub-agent …] turn", async () => {
    const { sock } = await connected(gwFull.url, WRITER)
    sockets.push(sock)
    const parent = `agent:main:parent-${crypto.randomUUID().slice(0, 8)}`
    const task = "child: count the apples"
    const first = await runAgent(sock, `CALL sessions_spawn ${JSON.stringify({ task, label: "apples" })}`, parent)
    expect(first.status).toBe("ok")
    // The spawn tool answered with the child's session key.
    const spawnResult = first.result.payloads[0].text as string
    expect(spawnResult).toContain("accepted")
    const childKey = /agent:main:subagent:[0-9a-f-]{36}/.exec(spawnResult)![0]

    const announce = await waitUntil(
      async () => {
        const got = ok(await sock.request("sessions.get", { key: parent }))
        const msgs = got.messages as { role: string; content: unknown }[]
        const user = msgs.find((m) => m.role === "user" && typeof m.content === "string" && m.content.startsWith("[Sub-agent"))
        // Wait for the parent's answer to the announcement too, so its turn is complete.
        return user && msgs.at(-1)?.role === "assistant" && msgs.indexOf(user) < msgs.length - 1 ? { user, msgs } : undefined
      },
      "the sub-agent announcement in the parent session",
      10_000,
    )
    const text = announce.user.content as string
    expect(text).toContain(childKey)
    expect(text).toContain('"apples"')
    expect(text).toContain("status ok")
    expect(text).toContain(`echo: ${task}`)

    // The child session: its parent is recorded, its transcript is the task and the reply.
    const child = ok(await sock.request("sessions.get", { key: childKey }))
    expect(child.entry.parentKey).toBe(parent)
    expect(child.entry.kind).toBe("subagent")
    const t = ok(await sock.request("sessions.transcript", { key: childKey }))
    expect(t.messages).toEqual([
      { role: "user", content: task },
      { role: "assistant", content: `echo: ${task}` },
    ])
    // The child (depth 1 of maxDepth 1) was offered no session tools: it cannot spawn or message further.
    const childCall = fake.requests.find((b) => lastUserText(b) === task)!
    const childTools = (childCall.tools ?? []).map((t: { function: { name: string } }) => t.function.name)
    expect(childTools).toContain("read")
    expect(childTools.filter((n: string) => n.startsWith("sessions_"))).toEqual([])
    // chat.history of the parent shows the same turn.
    const h = ok(await sock.request("chat.history", { sessionKey: parent }))
    const histUser = (h.messages as { role: string; content: unknown }[]).filter((m) => m.role === "user").map((m) => JSON.stringify(m.content))
    expect(histUser.some((c) => c.includes("[Sub-agent") && c.includes(`echo: ${task}`))).toBe(true)
  })

  test("a failed child is announced to the parent as failed, with the reason", async () => {
    const { sock } = await connected(gwFull.url, WRITER)
    sockets.push(sock)
    const parent = `agent:main:parent-${crypto.randomUUID().slice(0, 8)}`
    const first = await runAgent(sock, `CALL sessions_spawn ${JSON.stringify({ task: "FAIL 401" })}`, parent)
    expect(first.status).toBe("ok")
    const user = await waitUntil(
      async () => {
        const msgs = ok(await sock.request("sessions.get", { key: parent })).messages as { role: string; content: unknown }[]
        return msgs.find((m) => m.role === "user" && typeof m.content === "string" && m.content.startsWith("[Sub-agent"))
      },
      "the failed sub-agent's announcement",
      10_000,
    )
    expect(user.content).toContain("finished with status error")
    expect(user.content).toContain("failed: ")
    expect(user.content).toContain("401")
  })
})
