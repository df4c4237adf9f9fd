import { describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ApprovalRegistry } from "../../../src/agent/approvals.ts"
import { contextOf, planCompaction, serializeForSummary, totalTokens, type Stored } from "../../../src/agent/compaction.ts"
import { Semaphore } from "../../../src/agent/lanes.ts"
import { buildSystemPrompt, capText, ensureWorkspace } from "../../../src/agent/prompt.ts"
import { RunEmitter } from "../../../src/agent/run-events.ts"
import { agentIdOf, kindOf, normalizeSessionKey } from "../../../src/agent/session-key.ts"
import type { TranscriptMessage } from "../../../src/agent/types.ts"
import { ApprovalRequested, ChatUpdate, RunProgress } from "../../../src/agent/events.ts"
import { Bus, type BusPayload } from "../../../src/bus/index.ts"

const rows = (msgs: TranscriptMessage[]): Stored[] => msgs.map((message, i) => ({ id: i + 1, message }))

describe("session keys", () => {
  test("normalise like OpenClaw", () => {
    expect(normalizeSessionKey("main")).toBe("agent:main:main")
    expect(normalizeSessionKey("agent:ops:main")).toBe("agent:ops:main")
    expect(normalizeSessionKey("work", "ops")).toBe("agent:ops:work")
    expect(agentIdOf("agent:ops:subagent:x")).toBe("ops")
    expect(kindOf("agent:main:subagent:x")).toBe("subagent")
    expect(kindOf("agent:main:telegram:group:1")).toBe("group")
  })
})

describe("compaction planning", () => {
  const long = "x".repeat(4000)
  const transcript: TranscriptMessage[] = [
    { role: "user", content: `first ${long}` },
    { role: "assistant", content: [{ type: "tool-call", toolCallId: "c1", toolName: "ls", input: {} }] },
    { role: "tool", toolCallId: "c1", toolName: "ls", content: "a\nb", isError: false },
    { role: "assistant", content: [{ type: "text", text: `answer ${long}` }] },
    { role: "user", content: "second" },
    { role: "assistant", content: [{ type: "text", text: "ok" }] },
  ]

  test("cuts at a user message so tool calls keep their results", () => {
    const plan = planCompaction(rows(transcript), 10)
    expect(plan?.keepFromId).toBe(5)
    expect(plan?.summarize.map((r) => r.message.role)).toEqual(["user", "assistant", "tool", "assistant"])
  })

  test("nothing to do for a single turn", () => {
    expect(planCompaction(rows(transcript.slice(0, 4)), 10)).toBeUndefined()
  })

  test("the context after a summary is the summary plus the kept turns", () => {
    const stored = rows(transcript)
    stored.push({ id: 7, message: { role: "summary", content: "## Goal\nx", tokensBefore: 2000, keepFromId: 5 } })
    stored.push({ id: 8, message: { role: "user", content: "third" } })
    const ctx = contextOf(stored)
    expect(ctx.map((m) => m.role)).toEqual(["summary", "user", "assistant", "user"])
    expect(totalTokens(ctx)).toBeLessThan(totalTokens(transcript))
  })

  test("the summariser input names tool calls and cuts long results", () => {
    const text = serializeForSummary(
      rows([...transcript, { role: "tool", toolCallId: "c2", toolName: "read", content: "y".repeat(5000), isError: true }]),
      "old summary",
    )
    expect(text).toContain("[Previous summary]\nold summary")
    expect(text).toContain("[Tool call]: ls {}")
    expect(text).toContain("[Tool result (error)]")
    expect(text.length).toBeLessThan(4000 * 2 + 3000)
  })
})

describe("prompt", () => {
  test("the workspace is created once with the bootstrap files", () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-ws-"))
    expect(ensureWorkspace(dir)).toContain("AGENTS.md")
    writeFileSync(join(dir, "USER.md"), "Name: Ada")
    expect(ensureWorkspace(dir)).toEqual([])
    expect(readFileSync(join(dir, "USER.md"), "utf8")).toBe("Name: Ada")
  })

  test("files are capped per file and in total; MEMORY.md only in the main session; lean by default", () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-ws-"))
    ensureWorkspace(dir)
    writeFileSync(join(dir, "AGENTS.md"), `START${"a".repeat(50_000)}END`)
    writeFileSync(join(dir, "MEMORY.md"), "secret memory")
    const opts = { workspace: dir, tools: [], sessionKey: "agent:main:main", isSubagent: false, model: "x/y", perFileMax: 1000, totalMax: 3000 }
    const main = buildSystemPrompt({ ...opts, isMainSession: true })
    expect(main.prompt).toContain("START")
    expect(main.prompt).toContain("END")
    expect(main.prompt).toContain("truncated")
    expect(main.report.files.find((f) => f.name === "AGENTS.md")?.truncated).toBe(true)
    expect(main.prompt).toContain("secret memory")
    expect(buildSystemPrompt({ ...opts, isMainSession: false }).prompt).not.toContain("secret memory")
    const fresh = mkdtempSync(join(tmpdir(), "gw-ws-"))
    ensureWorkspace(fresh)
    expect(buildSystemPrompt({ ...opts, workspace: fresh, isMainSession: true, perFileMax: 12_000, totalMax: 40_000 }).report.chars).toBeLessThan(4000)
  })

  test("capText keeps head and tail", () => {
    const r = capText(`${"h".repeat(100)}${"t".repeat(100)}`, 100, "F")
    expect(r.truncated).toBe(true)
    expect(r.text.startsWith("h".repeat(70))).toBe(true)
    expect(r.text.endsWith("t".repeat(20))).toBe(true)
  })
})

describe("run events", () => {
  test("per-run seq, snapshots, replace after a retry, tool events need the cap", () => {
    const bus = new Bus({ validate: true })
    const agentEvents: BusPayload<typeof RunProgress>[] = []
    const chat: BusPayload<typeof ChatUpdate>[] = []
    bus.subscribe(RunProgress, (p) => agentEvents.push(p))
    bus.subscribe(ChatUpdate, (p) => chat.push(p))
    const em = new RunEmitter(bus, { runId: "r", sessionKey: "agent:main:main", sessionId: "s", agentId: "main" })
    em.delta("Hel")
    em.delta("lo")
    em.restartText()
    em.delta("Hi")
    em.agent("tool", { phase: "start", name: "ls", toolCallId: "c1" })
    expect(agentEvents.map((e) => e.seq)).toEqual([1, 2, 3, 4])
    expect(agentEvents[1]!.data).toMatchObject({ text: "Hello" })
    expect(agentEvents[2]!.data).toMatchObject({ text: "Hi", replace: true })
    expect(agentEvents.map((e) => e.tool)).toEqual([false, false, false, true])
    expect(chat.map((c) => c.seq)).toEqual([1, 2, 3])
  })
})

describe("concurrency and approvals", () => {
  test("the semaphore never exceeds its limit", async () => {
    const sem = new Semaphore(() => 2)
    let active = 0
    let peak = 0
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const release = await sem.acquire()
        peak = Math.max(peak, ++active)
        await Bun.sleep(5)
        active--
        release()
      }),
    )
    expect(peak).toBe(2)
  })

  test("approvals: allow, deny, timeout and allow-always", async () => {
    const bus = new Bus()
    const requested: string[] = []
    bus.subscribe(ApprovalRequested, (p) => requested.push(p.id))
    const reg = new ApprovalRegistry(bus, () => 50)
    const p1 = reg.request({ command: "ls" })
    expect(reg.resolve(requested[0]!, "allow-once")).toBe(true)
    expect(await p1).toBe(true)
    const p2 = reg.request({ command: "rm -rf /" })
    reg.resolve(requested[1]!, "deny")
    expect(await p2).toBe(false)
    expect(await reg.request({ command: "sleep" })).toBe(false)
    expect(reg.resolve("nope", "deny")).toBe(false)
    const p4 = reg.request({ command: "date" })
    reg.resolve(requested[3]!, "allow-always")
    expect(await p4).toBe(true)
    expect(await reg.request({ command: "date" })).toBe(true)
    expect(requested.length).toBe(4)
  })
})
