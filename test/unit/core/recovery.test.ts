/**
 * What a restart does with work accepted before a stop. An in-process gateway cannot be killed the hard way (there
 * is no "close the store without aborting runs" door), so the first gateway is stopped with stop() mid-run, with
 * messages queued behind the running turn, and a second gateway is started on the same home with a model that
 * answers at once. Only public methods are used: chat.send, sessions.patch, agent.wait, chat.history.
 * The crash (kill -9) variant against the compiled binary is test/e2e/crash-recovery.test.ts.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fakeModel } from "../../harness/fake-model.ts"
import { startInProcess } from "../../harness/inproc.ts"

type Mode = "followup" | "collect" | "steer"
const MODES: Mode[] = ["followup", "collect", "steer"]
const FIRST = "alpha"
const QUEUED = ["bravo", "charlie", "delta"]
const TERMINAL = ["ok", "error", "aborted", "timeout"]

interface Aftermath {
  /** runId → agent.wait status after the restart. */
  statuses: Record<string, string>
  /** chat.history after the restart, as [role, text]. */
  history: [string, string][]
  /** What the second gateway's model was shown (the user messages of each call). */
  asked: string[]
}

/**
 * Gateway 1: "alpha" starts and streams (its model, and any later call on it, hangs until aborted); the session is
 * switched to `mode`; bravo, charlie and delta arrive mid-run and are acknowledged; stop(). Gateway 2 on the same
 * home answers every call at once; each runId is waited for (bounded), then the history is read.
 */
async function stopMidRunAndRestart(mode: Mode): Promise<Aftermath> {
  const home = mkdtempSync(join(tmpdir(), `gw-recover-${mode}-`))
  try {
    const first = await startInProcess({ home, models: fakeModel((req) => ({ text: ["partial ", req.lastUser], hang: true })) })
    const c1 = await first.connect()
    const sessionKey = `recover-${mode}`
    const ids = [FIRST, ...QUEUED].map((w) => `${mode}-${w}`)
    expect(await c1.call("chat.send", { sessionKey, message: FIRST, idempotencyKey: ids[0] })).toMatchObject({ status: "started" })
    await c1.call("sessions.patch", { key: sessionKey, queueMode: mode })
    await c1.event("chat", (p) => p.runId === ids[0] && p.state === "delta")
    for (const [i, w] of QUEUED.entries())
      expect(await c1.call("chat.send", { sessionKey, message: w, idempotencyKey: ids[i + 1] })).toMatchObject({ status: "started" })
    await first.stop()

    const model = fakeModel((req) => ({ text: `reply to ${req.lastUser}` }))
    const second = await startInProcess({ home, models: model })
    try {
      const c2 = await second.connect()
      const statuses: Record<string, string> = {}
      for (const id of ids) statuses[id] = (await c2.call("agent.wait", { runId: id, timeoutMs: 3000 })).status
      const h = await c2.call("chat.history", { sessionKey, limit: 1000 })
      const history = h.messages.map((m: { role: string; content: unknown }) => [
        m.role,
        typeof m.content === "string" ? m.content : (m.content as { text: string }[]).map((p) => p.text).join(""),
      ])
      const asked = model.calls.map((x) => x.messages.flatMap((m) => (m.role === "user" ? [m.content] : [])).join("\n"))
      return { statuses, history, asked }
    } finally {
      await second.stop()
    }
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}

/** How often `word` occurs across the user messages (collect and steer may merge several into one message). */
const occurrences = (a: Aftermath, word: string) => a.history.filter(([r]) => r === "user").reduce((n, [, t]) => n + (t.split(word).length - 1), 0)

describe.each(MODES)("a stop mid-run with messages queued in %s mode", (mode) => {
  test("after the restart every acknowledged run has a terminal status and no message is stored twice", async () => {
    const a = await stopMidRunAndRestart(mode)
    for (const [id, status] of Object.entries(a.statuses))
      expect({ id, status: TERMINAL.includes(status) ? "terminal" : status }).toEqual({ id, status: "terminal" })
    for (const w of QUEUED) expect({ w, n: occurrences(a, w) <= 1 }).toEqual({ w, n: true })
    expect(occurrences(a, FIRST)).toBe(1)
  })

  /**
   * Once stopping, the lanes start nothing new: runs queued behind the aborted turn (and messages steered into it
   * that it never reached) stay queued in the database and run after the restart.
   */
  test("every message acknowledged behind the running turn is answered after the restart", async () => {
    const a = await stopMidRunAndRestart(mode)
    const summary = JSON.stringify(a, null, 1)
    for (const w of QUEUED) {
      expect({ w, status: a.statuses[`${mode}-${w}`] }).toEqual({ w, status: "ok" })
      expect({ w, n: occurrences(a, w) }).toEqual({ w, n: 1 })
      const at = a.history.findIndex(([r, t]) => r === "user" && t.includes(w))
      // Answered: the next row that is not another user message (collect and steer turns carry several) is a reply.
      const reply = a.history.slice(at + 1).find(([r]) => r !== "user")
      expect({ w, next: reply?.[0], summary }).toMatchObject({ w, next: "assistant" })
    }
    for (const w of QUEUED) expect(a.asked.some((q) => q.includes(w))).toBe(true)
  })
})
