/**
 * The compiled binary's agent CLI against a running compiled gateway and a fake model: `gateway agent` (streamed
 * text on stdout, tool activity on stderr, --json, failures), `gateway sessions list|show|export|reset`,
 * `gateway call status` (lean system prompt, workspace files) and the daily token budget.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { startFakeOpenAI, type FakeServer } from "../fakes/openai.ts"
import {
  BINARY,
  cliEnv,
  connected,
  directedModel,
  E2E_TOKEN,
  fakeModelConfig,
  lastUserText,
  runCli,
  startBinary,
  waitUntil,
  type GatewayProcess,
} from "./harness.ts"

let fake: FakeServer
let gw: GatewayProcess
let gwBudget: GatewayProcess
let env: Record<string, string>

beforeAll(async () => {
  fake = startFakeOpenAI(directedModel)
  ;[gw, gwBudget] = await Promise.all([
    startBinary({ args: ["--token", E2E_TOKEN], config: fakeModelConfig(fake.url, { tools: { exec: { mode: "full" } } }) }),
    startBinary({ args: ["--token", E2E_TOKEN], config: fakeModelConfig(fake.url, { agents: { defaults: { budget: { dailyTokens: 5 } } } }) }),
  ])
  env = cliEnv(gw)
})

afterAll(async () => {
  await Promise.all([gw?.stop(), gwBudget?.stop()])
  await fake?.stop()
})

/** sessions.transcript over a WebSocket (to check what the CLI did). */
async function transcript(key: string): Promise<{ sessionId: string; messages: { role: string; content: string }[] }> {
  const { sock } = await connected(gw.url, { scopes: ["operator.read"] })
  try {
    const res = await sock.request("sessions.transcript", { key })
    if (!res.ok) throw new Error(JSON.stringify(res.error))
    return res.payload as { sessionId: string; messages: { role: string; content: string }[] }
  } finally {
    sock.close()
  }
}

describe("gateway agent", () => {
  test("streams the model's text to stdout and exits 0 (main session by default)", async () => {
    const r = await runCli(["agent", "--message", "hi"], env)
    expect(r.err).toBe("")
    expect(r.code).toBe(0)
    expect(r.out).toBe("echo: hi\n")
    const t = await transcript("agent:main:main")
    expect(t.messages).toEqual([
      { role: "user", content: "hi" },
      { role: "assistant", content: "echo: hi" },
    ])
  })

  test("tool activity goes to stderr, the reply to stdout", async () => {
    const r = await runCli(["agent", "--session", "cli-tools", "--message", `CALL exec ${JSON.stringify({ command: "echo from-the-tool" })}`], env)
    expect(r.code).toBe(0)
    expect(r.out).toStartWith("tool result: from-the-tool\n")
    expect(r.out).not.toContain("tool exec")
    const lines = r.err.trim().split("\n")
    expect(lines.some((l) => l.includes("tool exec") && l.includes("echo from-the-tool"))).toBe(true)
    expect(lines.some((l) => l.includes("tool exec:") && l.includes("from-the-tool"))).toBe(true)
  })

  test("--json prints the final payload only", async () => {
    const r = await runCli(["agent", "--session", "cli-json", "--message", "as json", "--json"], env)
    expect(r.code).toBe(0)
    const final = JSON.parse(r.out)
    expect(final.status).toBe("ok")
    expect(final.result.payloads).toEqual([{ text: "echo: as json", mediaUrl: null }])
    expect(final.result.meta.agentMeta.sessionKey).toBe("agent:main:cli-json")
    expect(final.result.meta.agentMeta.model).toBe("fake-model")
    expect(final.result.meta.agentMeta.usage.total).toBeGreaterThan(0)
  })

  test("a failing model (401): exit 1 with a one-line reason on stderr", async () => {
    const r = await runCli(["agent", "--session", "cli-fail", "--message", "FAIL 401"], env)
    expect(r.code).toBe(1)
    const lines = r.err.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain("agent run failed")
    expect(lines[0]).toContain("fake/fake-model")
    expect(lines[0]).toContain("fake error 401")
    expect(r.out.trim()).toBe("")
    const j = await runCli(["agent", "--session", "cli-fail", "--message", "FAIL 401", "--json"], env)
    expect(j.code).toBe(1)
    const err = JSON.parse(j.out)
    expect(err.ok).toBe(false)
    expect(err.error.message).toContain("agent run failed")
  })
})

describe("gateway agent interrupted", () => {
  test("Ctrl-C (SIGINT) aborts the run on the gateway and exits 130", async () => {
    const key = "agent:main:cli-sigint"
    const message = "SLOW 5000 never finishes in time"
    const proc = Bun.spawn([BINARY, "agent", "--session", key, "--message", message], {
      env: { PATH: process.env.PATH ?? "", HOME: gw.home, ...env },
      stdout: "pipe",
      stderr: "pipe",
    })
    await waitUntil(() => fake.requests.some((b) => lastUserText(b) === message), "the model call", 5000)
    const t0 = Date.now()
    proc.kill("SIGINT")
    expect(await proc.exited).toBe(130)
    expect(Date.now() - t0).toBeLessThan(3000)
    const { sock } = await connected(gw.url, { scopes: ["operator.read"] })
    const entry = await waitUntil(async () => {
      const e = ((await sock.request("sessions.get", { key })).payload as { entry: { hasActiveRun: boolean } }).entry
      return e.hasActiveRun ? undefined : e
    }, "the run to end")
    expect(entry.hasActiveRun).toBe(false)
    const list = (await sock.request("chat.history", { sessionKey: key })).payload as { messages: { role: string }[] }
    expect(list.messages.map((m) => m.role)).toEqual(["user"])
    sock.close()
  })
})

describe("gateway sessions", () => {
  test("list shows the sessions the agent used", async () => {
    await runCli(["agent", "--session", "cli-list", "--message", "for the list"], env)
    const r = await runCli(["sessions", "list"], env)
    expect(r.code).toBe(0)
    const line = r.out.split("\n").find((l) => l.startsWith("agent:main:cli-list "))
    expect(line).toBeDefined()
    expect(line).toMatch(/agent:main:cli-list\s+named\s+\d+s ago\s+\d+ tok/)
    expect(r.out).toContain("agent:main:main ")
    const j = await runCli(["sessions", "list", "--json"], env)
    const keys = (JSON.parse(j.out).sessions as { key: string }[]).map((s) => s.key)
    expect(keys).toContain("agent:main:cli-list")
  })

  test("show prints the messages; export prints JSONL (a session line, then one line per message)", async () => {
    const key = "agent:main:cli-export"
    expect((await runCli(["agent", "--session", key, "--message", "first message"], env)).code).toBe(0)
    expect((await runCli(["agent", "--session", key, "--message", `CALL exec ${JSON.stringify({ command: "echo exported" })}`], env)).code).toBe(0)

    const show = await runCli(["sessions", "show", key], env)
    expect(show.code).toBe(0)
    expect(show.out).toContain(key)
    expect(show.out).toContain("[user] first message")
    expect(show.out).toContain("[assistant] echo: first message")
    expect(show.out).toContain("[tool] [exec] exported")

    const exp = await runCli(["sessions", "export", key], env)
    expect(exp.code).toBe(0)
    expect(exp.out.endsWith("\n")).toBe(true)
    const lines = exp.out
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, any>)
    expect(lines[0]).toMatchObject({ type: "session", key })
    expect(lines[0]!.sessionId).toBeString()
    const msgs = lines.slice(1)
    expect(msgs.every((m) => m.type === "message")).toBe(true)
    // user, assistant, user, assistant (tool call), tool, assistant
    expect(msgs.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "tool", "assistant"])
    expect(msgs[0]!.content).toBe("first message")
    expect(msgs[4]!.content).toStartWith("exported\n[exit code 0 · ")
    expect(msgs[5]!.content).toEqual([{ type: "text", text: `tool result: ${msgs[4]!.content}` }])

    // The main session also exports by its short name.
    const main = await runCli(["sessions", "export", "main"], env)
    expect(main.code).toBe(0)
    expect(JSON.parse(main.out.split("\n")[0]!).key).toBe("agent:main:main")
  })

  test("reset starts a new sessionId with an empty transcript; the next turn does not see the old one", async () => {
    const key = "agent:main:cli-reset"
    await runCli(["agent", "--session", key, "--message", "before reset"], env)
    const before = await transcript(key)
    expect(before.messages.length).toBe(2)
    const r = await runCli(["sessions", "reset", key], env)
    expect(r.code).toBe(0)
    expect(r.out).toContain(`reset: ${key} ok`)
    const after = await transcript(key)
    expect(after.sessionId).not.toBe(before.sessionId)
    expect(after.messages).toEqual([])
    await runCli(["agent", "--session", key, "--message", "after reset"], env)
    const call = fake.requests.find((b) => lastUserText(b) === "after reset")!
    expect(JSON.stringify(call.messages)).not.toContain("before reset")
  })

  test("show / export / reset of an unknown session fail with one line", async () => {
    for (const sub of ["show", "export", "reset"]) {
      const r = await runCli(["sessions", sub, "agent:main:does-not-exist"], env)
      expect(r.code).toBe(1)
      expect(r.err.trim().split("\n")).toHaveLength(1)
      expect(r.err).toContain("no session agent:main:does-not-exist")
    }
  })
})

describe("gateway call status", () => {
  test("reports a lean system prompt; the workspace files exist after first start", async () => {
    const r = await runCli(["call", "status", "--json"], env)
    expect(r.code).toBe(0)
    const s = JSON.parse(r.out)
    expect(s.agent.systemPrompt.chars).toBeGreaterThan(0)
    expect(s.agent.systemPrompt.chars).toBeLessThan(8000)
    const injected = (s.agent.systemPrompt.files as { name: string }[]).map((f) => f.name)
    expect(injected).toContain("AGENTS.md")
    for (const name of ["AGENTS.md", "SOUL.md", "USER.md", "IDENTITY.md", "TOOLS.md", "MEMORY.md", "HEARTBEAT.md"]) {
      const file = join(gw.home, "workspace", name)
      expect(existsSync(file)).toBe(true)
      expect(readFileSync(file, "utf8")).toStartWith(`# ${name}`)
    }
    // The prompt the model actually got matches the reported size class.
    const sys = fake.requests.find((b) => lastUserText(b) === "hi")!.messages[0]
    expect(sys.role).toBe("system")
    expect(sys.content.length).toBeLessThan(8000)
    expect(sys.content).toContain("## AGENTS.md")
  })
})

describe("daily token budget", () => {
  test("after a run that used more than agents.defaults.budget.dailyTokens, the next agent call is rejected and says why", async () => {
    const budgetEnv = cliEnv(gwBudget)
    const first = await runCli(["agent", "--message", "spend"], budgetEnv)
    expect(first.code).toBe(0)
    expect(first.out).toBe("echo: spend\n")
    const calls = fake.requests.length

    const second = await runCli(["agent", "--message", "spend more"], budgetEnv)
    expect(second.code).toBe(1)
    expect(second.err.trim().split("\n")).toHaveLength(1)
    expect(second.err).toContain("daily token budget exceeded")
    expect(second.err).toContain("dailyTokens")
    expect(second.err).toContain("BUDGET_EXCEEDED")
    expect(fake.requests.length).toBe(calls)

    // The same over the protocol, and for sub-agents spawned by other processes.
    const { sock } = await connected(gwBudget.url, { scopes: ["operator.write"] })
    const res = await sock.request("agent", { message: "ws", idempotencyKey: crypto.randomUUID() })
    expect(res.ok).toBe(false)
    expect(res.error).toMatchObject({ code: "UNAVAILABLE", details: { code: "BUDGET_EXCEEDED" } })
    expect((res.error as { message: string }).message).toContain("budget")
    const spawn = await sock.request("sessions.spawn", { task: "sub" })
    expect(spawn.ok).toBe(false)
    expect((spawn.error as { details: { code: string } }).details.code).toBe("BUDGET_EXCEEDED")
    sock.close()
    expect(fake.requests.length).toBe(calls)
  })
})
