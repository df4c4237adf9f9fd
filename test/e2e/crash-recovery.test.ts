/**
 * Crash safety of accepted messages, against the compiled binary: the gateway is killed with SIGKILL at random
 * moments while messages stream into sessions in each queue mode, and restarted on the same state directory.
 * The promise under test: a message the gateway acknowledged (a successful `res` to chat.send) is answered exactly
 * once, whatever the crash cut; one it did not acknowledge is never stored twice.
 *
 * Random but reproducible: a seeded PRNG picks the sessions, the moments and the kill; the seed is printed on
 * failure (CRASH_SEED=<n> replays the same choices; wall-clock timing still varies). The fake model streams
 * slowly (5-15 chunks, 20-60 ms apart), so runs last a few hundred ms and messages land mid-run.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { TestClient } from "../harness/ws-client.ts"
import { providerFor, scriptedFake, type ScriptedFake } from "./agent-helpers.ts"
import { E2E_TOKEN, lastUserText, startBinary, type GatewayProcess } from "./harness.ts"
import { Rng } from "../load/mutate.ts"

const SEED = Number(process.env.CRASH_SEED ?? 20261203)
const ROUNDS = 10
const MODES = ["followup", "collect", "steer"] as const
type Mode = (typeof MODES)[number]
const OPS = { token: E2E_TOKEN, scopes: ["operator.read", "operator.write", "operator.admin"] }

/** A seeded PRNG, uniform in [0, 1) (the load scripts' mulberry32). */
function prng(seed: number): () => number {
  const rng = new Rng(seed >>> 0)
  return () => rng.next()
}

const between = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1))

/** A slow streamed reply: 5-15 chunks, 20-60 ms apart (the chunks carry no message tokens). */
function slowReply(rand: () => number) {
  const n = between(rand, 5, 15)
  return { text: Array.from({ length: n }, (_, i) => `w${i} `), chunkDelayMs: between(rand, 20, 60) }
}

const configFor = (fake: ScriptedFake) => ({ models: { default: "fake/fake-model", providers: { fake: providerFor(fake) } } })
const sessionOf = (mode: Mode) => `crash-${mode}`

/** Text of a chat.history message (a string, or text parts). */
const textOf = (content: unknown) =>
  typeof content === "string" ? content : Array.isArray(content) ? content.map((p: { text?: string }) => p?.text ?? "").join("") : ""

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1
}

interface HistoryMessage {
  role: string
  text: string
}

async function chatHistory(c: TestClient, sessionKey: string): Promise<HistoryMessage[]> {
  const h = await c.call("chat.history", { sessionKey, limit: 1000 })
  return h.messages.map((m: { role: string; content: unknown }) => ({ role: m.role, text: textOf(m.content) }))
}

/** agent.wait until the run reports something other than "timeout", or the deadline passes. */
async function waitTerminal(c: TestClient, runId: string, deadline: number): Promise<{ status: string; error?: string }> {
  for (;;) {
    const left = deadline - Date.now()
    if (left <= 0) return { status: "still-waiting" }
    const asked = Date.now()
    const res = await c.request("agent.wait", { runId, timeoutMs: Math.min(2000, left) }, Math.min(2000, left) + 3000)
    if (!res.ok) return { status: `error-reply ${res.error?.code}`, error: res.error?.message }
    if (res.payload.status !== "timeout") return { status: res.payload.status, error: res.payload.error }
    // A run known only from the database answers "timeout" at once while queued or running: do not spin on it.
    if (Date.now() - asked < 100) await Bun.sleep(100)
  }
}

interface Sent {
  token: string
  mode: Mode
  round: number
  runId: string
  acked: boolean
  /** The ack's mergedInto, when the gateway merged the message into another run (diagnostics only). */
  mergedInto?: string
}

const homes: string[] = []
const fakes: ScriptedFake[] = []
let live: GatewayProcess | undefined

afterAll(async () => {
  if (live && live.proc.exitCode === null) live.proc.kill("SIGKILL")
  await Promise.all(fakes.map((f) => f.server.stop()))
  for (const h of homes) rmSync(h, { recursive: true, force: true })
})

async function start(home: string, fake: ScriptedFake, first: boolean): Promise<GatewayProcess> {
  live = await startBinary({ home, args: ["--token", E2E_TOKEN], ...(first ? { config: configFor(fake) } : {}) })
  return live
}

async function kill9(gw: GatewayProcess): Promise<void> {
  gw.proc.kill("SIGKILL")
  await gw.proc.exited
}

describe("kill -9 at random moments", () => {
  test(`every acknowledged message is answered exactly once across ${ROUNDS} crashes (seed ${SEED})`, async () => {
    const rand = prng(SEED)
    const modelRand = prng(SEED ^ 0x5eed)
    const fake = scriptedFake("openai")
    fakes.push(fake)
    fake.script(() => slowReply(modelRand))
    const home = mkdtempSync(join(tmpdir(), "gw-e2e-crash-rounds-"))
    homes.push(home)

    const sent: Sent[] = []
    const counters = new Map<string, number>()
    let cutMidStream = 0

    const sendOne = (c: TestClient, round: number, mode: Mode): Promise<void> => {
      const key = `${round}-${mode}`
      const n = counters.get(key) ?? 0
      counters.set(key, n + 1)
      const token = `m-r${round}-${mode}-${String(n).padStart(2, "0")}`
      const entry: Sent = { token, mode, round, runId: `run-${token}`, acked: false }
      sent.push(entry)
      let reply: Promise<{ ok?: boolean; payload?: any }>
      try {
        reply = c.request("chat.send", { sessionKey: sessionOf(mode), message: `please answer ${token}`, idempotencyKey: entry.runId }, 5000)
      } catch {
        return Promise.resolve() // the socket is already gone: never sent, never acknowledged
      }
      return reply.then(
        (res) => {
          entry.acked = res.ok === true
          entry.mergedInto = res.payload?.mergedInto
        },
        () => {}, // the gateway died before answering: unacknowledged
      )
    }

    for (let round = 1; round <= ROUNDS; round++) {
      const gw = await start(home, fake, round === 1)
      const c = await TestClient.connect(gw.url, OPS)
      if (round === 1) {
        // Each session is created by its first message, then put in its queue mode.
        for (const mode of MODES) {
          await sendOne(c, round, mode)
          expect(await c.call("sessions.patch", { key: sessionOf(mode), queueMode: mode })).toMatchObject({ ok: true })
        }
      }
      const killAt = between(rand, 150, 1100)
      const offsets = Array.from({ length: between(rand, 5, 10) }, () => between(rand, 0, killAt + 80)).sort((x, y) => x - y)
      const modes = offsets.map(() => MODES[between(rand, 0, 2)]!)
      const t0 = Date.now()
      const killed = (async () => {
        await Bun.sleep(killAt)
        // Mid-stream: a run streamed a delta and had no terminal event yet when the process died.
        const ended = new Set(
          c
            .events("chat")
            .filter((p) => ["final", "aborted", "error"].includes(p.state))
            .map((p) => p.runId),
        )
        if (c.events("chat").some((p) => p.state === "delta" && !ended.has(p.runId))) cutMidStream++
        await kill9(gw)
      })()
      const replies: Promise<void>[] = []
      for (const [i, at] of offsets.entries()) {
        const wait = t0 + at - Date.now()
        if (wait > 0) await Bun.sleep(wait)
        replies.push(sendOne(c, round, modes[i]!))
      }
      await killed
      await Promise.all(replies)
      c.close()
    }

    // The last start: replies come fast now, and every acknowledged run must reach an end.
    fake.script(() => ({ text: ["final ", "answer"] }))
    const gw = await start(home, fake, false)
    const c = await TestClient.connect(gw.url, OPS)
    const deadline = Date.now() + 25_000
    const acked = sent.filter((s) => s.acked)
    const waits = await Promise.all(acked.map((s) => waitTerminal(c, s.runId, deadline)))

    const history = new Map<Mode, HistoryMessage[]>()
    for (const mode of MODES) history.set(mode, await chatHistory(c, sessionOf(mode)))
    await kill9(gw)

    const userText = (mode: Mode) =>
      history
        .get(mode)!
        .filter((m) => m.role === "user")
        .map((m) => m.text)
        .join("\n")
    const count = (s: Sent) => occurrences(userText(s.mode), s.token)
    const lost = acked.filter((s) => count(s) === 0)
    const duplicated = sent.filter((s) => count(s) > 1)
    const notOk = acked.map((s, i) => ({ s, w: waits[i]! })).filter(({ w }) => w.status !== "ok")
    // "ok" must mean answered: the user message holding the token is followed by an assistant reply. In followup
    // mode directly (each message is its own turn); in collect and steer mode after the other user messages of
    // the same turn (collected or steered messages may be stored one after the other).
    const unanswered = acked.filter((s, i) => {
      if (waits[i]!.status !== "ok") return false
      const msgs = history.get(s.mode)!
      const at = msgs.findIndex((m) => m.role === "user" && m.text.includes(s.token))
      if (at < 0) return true
      let next = at + 1
      if (s.mode !== "followup") while (msgs[next]?.role === "user") next++
      return msgs[next]?.role !== "assistant"
    })

    const statusCounts: Record<string, number> = {}
    for (const w of waits) statusCounts[w.status] = (statusCounts[w.status] ?? 0) + 1
    const facts = {
      lost: lost.length,
      duplicated: duplicated.length,
      notOk: notOk.length,
      okButUnanswered: unanswered.length,
    }
    if (Object.values(facts).some((n) => n > 0)) {
      const perMode = (list: Sent[]) => Object.fromEntries(MODES.map((m) => [m, list.filter((s) => s.mode === m).length]))
      const errors: Record<string, number> = {}
      for (const { w } of notOk) errors[`${w.status}: ${w.error ?? ""}`] = (errors[`${w.status}: ${w.error ?? ""}`] ?? 0) + 1
      console.log(
        [
          `crash-recovery summary (seed ${SEED}, replay with CRASH_SEED=${SEED})`,
          `  sent ${sent.length}, acknowledged ${acked.length} ${JSON.stringify(perMode(acked))}, acked as merged ${acked.filter((s) => s.mergedInto).length}; rounds cut mid-stream ${cutMidStream}/${ROUNDS}`,
          `  lost (acked, not in history) ${lost.length} ${JSON.stringify(perMode(lost))}: ${lost.map((s) => s.token).join(" ")}`,
          `  duplicated ${duplicated.length}: ${duplicated.map((s) => `${s.token}${s.acked ? "" : " (unacked)"} x${count(s)}`).join(" ")}`,
          `  agent.wait statuses of acked runs ${JSON.stringify(statusCounts)}`,
          `  not ok by cause ${JSON.stringify(errors)}`,
          `  not ok per mode ${JSON.stringify(perMode(notOk.map(({ s }) => s)))}`,
          `  ok but without an assistant reply after the message ${unanswered.length}: ${unanswered.map((s) => s.token).join(" ")}`,
        ].join("\n"),
      )
    }
    // The scenario really happened: many messages acknowledged, crashes that cut runs mid-stream.
    expect(acked.length).toBeGreaterThanOrEqual(30)
    expect(cutMidStream).toBeGreaterThanOrEqual(3)
    expect(facts).toEqual({ lost: 0, duplicated: 0, notOk: 0, okButUnanswered: 0 })
  }, 55_000)
})

describe("a run cut by kill -9 mid-stream", () => {
  test("is answered after the restart, and a client connected after the restart sees its final chat event", async () => {
    const fake = scriptedFake("openai")
    fakes.push(fake)
    const home = mkdtempSync(join(tmpdir(), "gw-e2e-crash-cut-"))
    homes.push(home)
    fake.script([{ text: ["Half ", "a ", "reply"], hangUntilAborted: true }])

    const gw = await start(home, fake, true)
    const c = await TestClient.connect(gw.url, OPS)
    const sessionKey = "cut-followup"
    const runId = "run-m-cut-01"
    const message = "please answer m-cut-01"
    expect(await c.call("chat.send", { sessionKey, message, idempotencyKey: runId })).toEqual({ runId, status: "started" })
    await c.call("sessions.patch", { key: sessionKey, queueMode: "followup" })
    await c.event("chat", (p) => p.runId === runId && p.state === "delta" && textOf(p.message?.content) === "Half a reply")
    await kill9(gw)
    c.close()

    // After the restart the model answers at once, but only once the new client is connected: the final event
    // must reach a client that connected after the crash, whenever the gateway resumes the run.
    let release!: () => void
    const connectedNow = new Promise<void>((r) => (release = r))
    const from = fake.mark()
    fake.script(async () => {
      await connectedNow
      return { text: ["Resumed ", "reply"] }
    })
    const gw2 = await start(home, fake, false)
    const c2 = await TestClient.connect(gw2.url, OPS)
    release()

    const waited = await waitTerminal(c2, runId, Date.now() + 8000)
    const end =
      waited.status === "ok"
        ? await c2.chatEnd(runId, 3000).catch(() => undefined)
        : c2.runEvents(runId).find((p) => ["final", "aborted", "error"].includes(p.state))
    const msgs = await chatHistory(c2, sessionKey)
    const at = msgs.findIndex((m) => m.role === "user" && m.text === message)
    await kill9(gw2)

    const facts = {
      waitStatus: waited.status,
      chatEnd: end ? { state: end.state, text: textOf(end.message?.content) } : "no terminal chat event",
      userMessages: msgs.filter((m) => m.role === "user" && m.text.includes("m-cut-01")).length,
      replyAfterIt: msgs[at + 1] ?? "none",
      modelAskedAgain: fake.since(from).some((b) => lastUserText(b) === message),
    }
    if (waited.status !== "ok") console.log(`cut-run summary: agent.wait said ${JSON.stringify(waited)}; history ${JSON.stringify(msgs)}`)
    expect(facts).toEqual({
      waitStatus: "ok",
      chatEnd: { state: "final", text: "Resumed reply" },
      userMessages: 1,
      replyAfterIt: { role: "assistant", text: "Resumed reply" },
      modelAskedAgain: true,
    })
  }, 20_000)
})
