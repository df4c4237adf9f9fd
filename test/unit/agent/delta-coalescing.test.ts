/**
 * Streamed text is coalesced by time and size, so the bytes a client receives stay a small multiple of the reply
 * whatever its length and speed (every wire event carries the whole reply so far, as OpenClaw's clients expect).
 */
import { describe, expect, test } from "bun:test"
import { ChatUpdate, RunProgress } from "../../../src/agent/events.ts"
import { RunEmitter } from "../../../src/agent/run-events.ts"
import { Bus } from "../../../src/bus/index.ts"

const id = { runId: "r", sessionKey: "agent:main:main", sessionId: "s", agentId: "main" }

function recorder() {
  const bus = new Bus()
  const events: { kind: "agent" | "chat"; payload: Record<string, unknown>; bytes: number }[] = []
  bus.subscribe(RunProgress, (p) => events.push({ kind: "agent", payload: p as never, bytes: JSON.stringify(p).length }))
  bus.subscribe(ChatUpdate, (p) => events.push({ kind: "chat", payload: p as never, bytes: JSON.stringify(p).length }))
  return { bus, events, bytes: () => events.reduce((n, e) => n + e.bytes, 0) }
}

/** Streams `n` one-character chunks over `durationMs` of simulated time, then ends the step and the run. */
function stream(n: number, durationMs: number) {
  const r = recorder()
  let now = 0
  const em = new RunEmitter(r.bus, id, { now: () => now })
  for (let i = 0; i < n; i++) {
    now = (i * durationMs) / n
    em.delta(String.fromCharCode(97 + (i % 26)))
  }
  em.endStep()
  em.final("x".repeat(n), "stop", {})
  return r
}

describe("delta coalescing", () => {
  test("a 100,000-character reply in 1-character chunks costs under 20x its size, fast or slow", () => {
    for (const durationMs of [500, 17_000, 120_000]) {
      const r = stream(100_000, durationMs)
      expect({ durationMs, ratio: r.bytes() / 100_000 < 20 }).toEqual({ durationMs, ratio: true })
    }
  })

  test("nothing is lost: the published deltas add up to the text, and the last snapshot is the whole text", () => {
    const r = stream(5000, 3000)
    const assistant = r.events
      .filter((e) => e.kind === "agent" && e.payload.stream === "assistant")
      .map((e) => e.payload.data as { text: string; delta: string })
    const text = assistant.map((d) => d.delta).join("")
    expect(text.length).toBe(5000)
    expect(assistant.at(-1)!.text).toBe(text)
    const chatDeltas = r.events.filter((e) => e.kind === "chat" && e.payload.state === "delta")
    expect(chatDeltas.length).toBe(assistant.length)
    expect(r.events.at(-1)!.payload.state).toBe("final")
  })

  test("short replies stream promptly: the first piece at once, a quiet model's last piece after the interval", async () => {
    const r = recorder()
    const em = new RunEmitter(r.bus, id, { intervalMs: 30 })
    em.delta("Hel")
    expect(r.events.filter((e) => e.kind === "agent").map((e) => (e.payload.data as { text: string }).text)).toEqual(["Hel"])
    em.delta("lo")
    expect(r.events.filter((e) => e.kind === "agent").length).toBe(1)
    await Bun.sleep(60)
    expect(r.events.filter((e) => e.kind === "agent").map((e) => (e.payload.data as { delta: string }).delta)).toEqual(["Hel", "lo"])
  })

  test("pending text goes out before a tool event, and a retry's first event carries replace", () => {
    const r = recorder()
    let now = 0
    const em = new RunEmitter(r.bus, id, { now: () => now })
    em.delta("Let me check")
    em.delta(" the file")
    em.agent("tool", { phase: "start", name: "read", toolCallId: "c1" })
    const agent = r.events.filter((e) => e.kind === "agent").map((e) => e.payload as { stream: string; seq: number; data: Record<string, unknown> })
    expect(agent.map((a) => a.stream)).toEqual(["assistant", "assistant", "tool"])
    expect(agent[1]!.data).toMatchObject({ text: "Let me check the file", delta: " the file" })
    expect(agent.map((a) => a.seq)).toEqual([1, 2, 3])
    now = 1000
    em.endStep()
    em.delta("Half")
    em.restartText()
    em.delta("Whole")
    em.endStep()
    const last = r.events.filter((e) => e.kind === "agent").at(-1)!.payload as { data: Record<string, unknown> }
    expect(last.data).toEqual({ text: "Whole", delta: "Whole", replace: true })
  })
})
