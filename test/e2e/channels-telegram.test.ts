/**
 * The compiled binary's Telegram bot against a loopback Bot API (test/fakes/telegram.ts) and a fake model: pairing end
 * to end, group mention gating, a long reply chunked at 4,096 characters, Telegram rejecting the HTML (plain-text
 * fallback), a 429 storm, a cut connection mid-poll, a streamed reply (preview, throttled edits, final text once), a file
 * sent by the message tool, the 👀 ack reaction, and a `kill -9` while a reply is queued or mid-stream: delivered exactly once
 * after the restart.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startFakeTelegram, type ApiCall, type FakeTelegram } from "../fakes/telegram.ts"
import { providerFor, scriptedFake, toolResultsOf, type ScriptedFake } from "./agent-helpers.ts"
import { E2E_TOKEN, cliEnv, runCli, startBinary, type GatewayProcess } from "./harness.ts"

const OWNER = { id: 4242, first_name: "Owner", username: "owner" }
const GROUP = -1001000000777

let tg: FakeTelegram
let model: ScriptedFake
let gw: GatewayProcess
let home: string

const sends = () => tg.sentOf("sendMessage") as ApiCall[]
const textOf = (c: ApiCall) => String((c.params as { text?: unknown }).text ?? "")

function config() {
  return {
    models: { default: "fake/fake-model", providers: { fake: providerFor(model) } },
    channels: {
      telegram: { botToken: tg.token, apiRoot: tg.url, pollTimeoutSeconds: 2, ackReaction: true, groups: { allow: [String(GROUP)], requireMention: true } },
    },
  }
}

beforeAll(async () => {
  tg = startFakeTelegram()
  model = scriptedFake("openai")
  model.script((body) => {
    const last = (body.messages as { role: string; content: string }[]).filter((m) => m.role === "user").at(-1)?.content ?? ""
    const said = last.split("\n").at(-1) ?? ""
    if (said.includes("essay")) return { text: Array.from({ length: 300 }, (_, i) => `Paragraph ${i}: gateways keep messages safe.`).join("\n\n") }
    if (said.includes("markup")) return { text: "**bold** and a <tag> that is fine" }
    if (said.includes("send me the report")) {
      if (toolResultsOf("openai", body).length > 0) return { text: "sent you the report" }
      return { toolCalls: [{ name: "message", args: { channel: "telegram", to: String(OWNER.id), text: "your *report*", file: "out/report.csv" } }] }
    }
    if (said.includes("stream slowly")) return { text: Array.from({ length: 14 }, (_, i) => `word${i} `), chunkDelayMs: 350 }
    return { text: `model says: ${said}` }
  })
  home = mkdtempSync(join(tmpdir(), "gw-tg-"))
  gw = await startBinary({ home, args: ["--token", E2E_TOKEN], config: config() })
  await tg.waitForPoll()
}, 30_000)

afterAll(async () => {
  await gw?.stop()
  await tg?.stop()
  await model?.server.stop()
})

describe("Telegram", () => {
  test("pairing end to end: the stranger gets a code and the model is never called; approved, the next message is answered", async () => {
    const before = model.mark()
    tg.pushMessage({ text: "hi there", from: OWNER })
    const codeMsg = await tg.waitFor((c) => c.method === "sendMessage" && textOf(c).includes("pairing code"), 10_000)
    const code = /pairing code: ([A-Z0-9]{8})/.exec(textOf(codeMsg))![1]!
    expect(model.since(before)).toHaveLength(0)

    const listed = await runCli(["pairing", "list", "--json"], cliEnv(gw))
    expect(JSON.parse(listed.out).requests).toMatchObject([{ channel: "telegram", code, senderId: String(OWNER.id), senderName: "Owner" }])
    const approve = await runCli(["pairing", "approve", "telegram", code], cliEnv(gw))
    expect(approve.code).toBe(0)

    const asked = tg.pushMessage({ text: "what is the plan", from: OWNER })
    const reply = await tg.waitFor((c) => c.method === "sendMessage" && textOf(c) === "model says: what is the plan", 10_000)
    expect((reply.params as { reply_parameters?: { message_id: number } }).reply_parameters?.message_id).toBe(asked.message.message_id)
    expect(model.since(before)).toHaveLength(1)
    // The accepted message got the 👀 acknowledgement (the stranger's, before pairing, did not).
    const reactions = tg.sentOf("setMessageReaction").filter((c) => c.ok)
    expect(reactions.map((c) => [Number(c.params.message_id), c.params.reaction])).toEqual([[asked.message.message_id, [{ type: "emoji", emoji: "👀" }]]])
    // Typing was shown while the run worked.
    expect(tg.sentOf("sendChatAction").length).toBeGreaterThan(0)
  }, 30_000)

  test("gateway message send delivers through the bot, and says so", async () => {
    const r = await runCli(["message", "send", "--channel", "telegram", "--to", String(OWNER.id), "from the **CLI**"], cliEnv(gw))
    expect(r.code).toBe(0)
    expect(r.out).toBe(`sent to ${OWNER.id} on telegram\n`)
    const sent = await tg.waitFor((c) => c.method === "sendMessage" && textOf(c) === "from the <b>CLI</b>", 10_000)
    expect((sent.params as { parse_mode?: string }).parse_mode).toBe("HTML")
  }, 20_000)

  test("groups: only when the bot is mentioned", async () => {
    const before = model.mark()
    tg.pushMessage({ text: "just chatting", chatId: GROUP, chatType: "supergroup", from: { id: 7, first_name: "Bea" } })
    tg.pushMessage({ text: `@${tg.bot.username} hello group`, chatId: GROUP, chatType: "supergroup", from: { id: 7, first_name: "Bea" } })
    await tg.waitFor((c) => c.method === "sendMessage" && textOf(c).endsWith("hello group"), 10_000)
    expect(model.since(before)).toHaveLength(1)
  }, 20_000)

  test("a long reply is chunked at 4,096 characters; HTML Telegram rejects goes out as plain text", async () => {
    const from = sends().length
    tg.pushMessage({ text: "write an essay", from: OWNER })
    await tg.waitFor((c) => c.method === "sendMessage" && textOf(c).includes("Paragraph 299"), 15_000)
    const essay = sends()
      .slice(from)
      .filter((c) => textOf(c).includes("Paragraph"))
    expect(essay.length).toBeGreaterThan(2)
    for (const c of essay) expect(textOf(c).length).toBeLessThanOrEqual(4096)

    // Telegram refuses this message's HTML: the same words go out without parse_mode.
    tg.setHtmlValidator(() => "Can't find end tag corresponding to start tag b")
    tg.pushMessage({ text: "show markup", from: OWNER })
    const plain = await tg.waitFor((c) => c.method === "sendMessage" && c.ok && textOf(c).includes("that is fine"), 10_000)
    expect((plain.params as { parse_mode?: string }).parse_mode).toBeUndefined()
    expect(textOf(plain)).toBe("**bold** and a <tag> that is fine")
    tg.setHtmlValidator("telegram")
  }, 30_000)

  test("a 429 storm is waited out (retry_after honoured), and the reply still arrives once", async () => {
    tg.failNext("sendMessage", { status: 429, retryAfter: 1 }, 3)
    const t0 = Date.now()
    tg.pushMessage({ text: "storm please", from: OWNER })
    await tg.waitFor((c) => c.method === "sendMessage" && c.ok && textOf(c) === "model says: storm please", 20_000)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2500)
    expect(sends().filter((c) => c.ok && textOf(c) === "model says: storm please")).toHaveLength(1)
  }, 30_000)

  test("a connection cut mid-poll is recovered; no update is lost", async () => {
    tg.failNext("getUpdates", "drop")
    tg.pushMessage({ text: "after the cut", from: OWNER })
    await tg.waitFor((c) => c.method === "sendMessage" && textOf(c) === "model says: after the cut", 20_000)
    const status = JSON.parse((await runCli(["channels", "status", "--json"], cliEnv(gw))).out)
    expect(status.channels.find((c: { channel: string }) => c.channel === "telegram")).toMatchObject({ configured: true, running: true })
  }, 30_000)

  test("a 409 conflict (another poller) and a stalled poll are recovered", async () => {
    tg.failNext("getUpdates", { status: 409, description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running" })
    tg.pushMessage({ text: "after the conflict", from: OWNER })
    await tg.waitFor((c) => c.method === "sendMessage" && textOf(c) === "model says: after the conflict", 20_000)
    // A poll that never answers is cut off after its timeout (2 s) plus the stall grace (5.5 s), and polled again.
    await tg.waitForPoll()
    const polls = tg.pollCount
    tg.stallPolls(Number.POSITIVE_INFINITY)
    await Bun.sleep(9000)
    expect(tg.pollCount).toBeGreaterThanOrEqual(polls + 1)
    tg.stallPolls(0)
    tg.pushMessage({ text: "after the stall", from: OWNER })
    await tg.waitFor((c) => c.method === "sendMessage" && textOf(c) === "model says: after the stall", 20_000)
  }, 45_000)

  test("a photo with a caption reaches the agent as a file saved in the state home", async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0])
    const before = model.mark()
    tg.pushMessage({ caption: "what is in this picture", photo: png, from: OWNER })
    await tg.waitFor((c) => (c.method === "sendMessage" && textOf(c) === "model says: what is in this picture") || textOf(c).includes("Attachment"), 15_000)
    const sentToModel = model
      .since(before)
      .map((b) => JSON.stringify(b.messages))
      .join("\n")
    const path = /saved at ([^\]"]+)/.exec(sentToModel)?.[1]
    expect(path).toBeDefined()
    expect(path!.startsWith(join(home, "media", "telegram"))).toBe(true)
    expect(new Uint8Array(readFileSync(path!))).toEqual(png)
  }, 30_000)

  test("a streamed reply: a preview after ~1 s, throttled edits, then the final text in place, exactly once", async () => {
    const final = Array.from({ length: 14 }, (_, i) => `word${i} `)
      .join("")
      .trim()
    const from = tg.sent.length
    const t0 = Date.now()
    const asked = tg.pushMessage({ text: "please stream slowly", from: OWNER })
    const preview = await tg.waitFor((c, i) => i >= from && c.method === "sendMessage" && c.ok && textOf(c).startsWith("word0"), 10_000)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
    expect(textOf(preview).length).toBeLessThan(final.length)
    expect((preview.params as { reply_parameters?: { message_id: number } }).reply_parameters?.message_id).toBe(asked.message.message_id)
    const previewId = (preview.result as { message_id: number }).message_id
    await tg.waitFor((c, i) => i >= from && c.method === "editMessageText" && c.ok && textOf(c).trim() === final, 15_000)
    await Bun.sleep(1500)
    const edits = tg.sent.slice(from).filter((c) => c.method === "editMessageText")
    expect(edits.length).toBeGreaterThanOrEqual(2)
    for (const e of edits) expect(Number((e.params as { message_id: unknown }).message_id)).toBe(previewId)
    // The chat holds one message for the answer, and it shows the final text.
    const answers = tg.messages(OWNER.id).filter((m) => m.text?.startsWith("word0"))
    expect(answers.map((m) => m.text?.trim())).toEqual([final])
    // Nothing sent it again as a new message.
    expect(tg.sent.slice(from).filter((c) => c.method === "sendMessage" && textOf(c).startsWith("word0"))).toHaveLength(1)
    expect(edits.filter((e) => e.ok && textOf(e).trim() === final)).toHaveLength(1)
  }, 30_000)

  test("the message tool sends a workspace file as a document, once", async () => {
    mkdirSync(join(home, "workspace", "out"), { recursive: true })
    writeFileSync(join(home, "workspace", "out", "report.csv"), "a,b\n1,2\n")
    const from = tg.sent.length
    tg.pushMessage({ text: "send me the report", from: OWNER })
    const doc = await tg.waitFor((c, i) => i >= from && c.method === "sendDocument" && c.ok, 15_000)
    expect(String((doc.params as { chat_id: unknown }).chat_id)).toBe(String(OWNER.id))
    expect((doc.params as { caption?: string }).caption).toBe("your *report*")
    expect(doc.files.document?.fileName).toBe("report.csv")
    expect(new TextDecoder().decode(doc.files.document!.bytes)).toBe("a,b\n1,2\n")
    await tg.waitFor((c, i) => i >= from && c.method === "sendMessage" && textOf(c) === "sent you the report", 15_000)
    expect(tg.sent.slice(from).filter((c) => c.method === "sendDocument")).toHaveLength(1)
  }, 30_000)

  test("kill -9 while a reply is queued: after the restart it is delivered exactly once", async () => {
    // The reply is ready while Telegram refuses to take it; the gateway dies with it in the outbox.
    tg.failNext("sendMessage", { status: 429, retryAfter: 3 }, 1)
    const pushed = tg.pushMessage({ text: "remember to reply", from: OWNER })
    await tg.waitFor((c) => c.method === "sendMessage" && !c.ok && textOf(c) === "model says: remember to reply", 15_000)
    gw.proc.kill("SIGKILL")
    await gw.proc.exited
    gw = await startBinary({ home, args: ["--token", E2E_TOKEN], config: config() })
    // The pending row (and its retry_after) survived the crash; the new process sends it once it is due.
    await tg.waitFor((c) => c.method === "sendMessage" && c.ok && textOf(c) === "model says: remember to reply", 20_000)
    await Bun.sleep(1500)
    const delivered = sends().filter((c) => c.ok && textOf(c) === "model says: remember to reply")
    expect(delivered).toHaveLength(1)
    expect((delivered[0]!.params as { reply_parameters?: { message_id: number } }).reply_parameters?.message_id).toBe(pushed.message.message_id)
  }, 60_000)

  test("kill -9 mid-stream (a preview shown): after the restart the final reply arrives as a new message, once", async () => {
    const final = Array.from({ length: 14 }, (_, i) => `word${i} `)
      .join("")
      .trim()
    const from = tg.sent.length
    const asked = tg.pushMessage({ text: "again stream slowly", from: OWNER })
    await tg.waitFor((c, i) => i >= from && c.method === "sendMessage" && c.ok && textOf(c).startsWith("word0"), 10_000)
    gw.proc.kill("SIGKILL")
    await gw.proc.exited
    gw = await startBinary({ home, args: ["--token", E2E_TOKEN], config: config() })
    const reply = await tg.waitFor((c, i) => i >= from && c.method === "sendMessage" && c.ok && textOf(c).trim() === final, 30_000)
    expect((reply.params as { reply_parameters?: { message_id: number } }).reply_parameters?.message_id).toBe(asked.message.message_id)
    await Bun.sleep(1500)
    const finals = tg.sent.slice(from).filter((c) => c.ok && (c.method === "sendMessage" || c.method === "editMessageText") && textOf(c).trim() === final)
    expect(finals).toHaveLength(1)
  }, 60_000)
})
