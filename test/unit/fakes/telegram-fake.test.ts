/** The fake Telegram Bot API, driven by grammY itself: what a real client sends and sees must match the real wire. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { Bot, GrammyError, HttpError, InputFile } from "grammy"
import { type FakeTelegram, startFakeTelegram } from "../../fakes/telegram.ts"

let tg: FakeTelegram
let bots: Bot[] = []

beforeEach(() => {
  tg = startFakeTelegram()
  bots = []
})

afterEach(async () => {
  for (const b of bots) if (b.isRunning()) await b.stop().catch(() => {})
  await tg.stop()
})

function newBot(token = tg.token): Bot {
  const b = new Bot(token, { client: { apiRoot: tg.url } })
  bots.push(b)
  return b
}

async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error("expected a rejection")
}

/** A PNG header is enough for anyone reading the dimensions. */
function png(width: number, height: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(33)
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
  const v = new DataView(b.buffer)
  v.setUint32(16, width)
  v.setUint32(20, height)
  return b
}

const CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"

describe("long polling with bot.start()", () => {
  test("grammY's startup calls arrive in order, and the poll is held open for its 30 s timeout", async () => {
    const bot = newBot()
    void bot.start()
    const poll = await tg.waitForPoll()
    expect(tg.sent.map((c) => c.method)).toEqual(["getMe", "deleteWebhook"])
    expect(poll).toMatchObject({ timeout: 30, allowed_updates: [] })
    expect(poll.status).toBeUndefined()
  })

  test("pushed updates reach the handler in order, and each next poll confirms them with offset = last update_id + 1", async () => {
    const bot = newBot()
    const seen: { text: string; chat: number; from?: string }[] = []
    bot.on("message:text", (ctx) => {
      seen.push({ text: ctx.message.text, chat: ctx.chat.id, ...(ctx.from.username ? { from: ctx.from.username } : {}) })
    })
    // Pushed before the bot polls: the first getUpdates answers both, in order.
    tg.pushMessage({ text: "hello" })
    const second = tg.pushMessage({ text: "again", from: { id: 2002, first_name: "Bob", username: "bob" } })
    void bot.start()
    const held = await tg.waitForPoll()
    expect(tg.polls[0]!.updateIds).toEqual([second.update_id - 1, second.update_id])
    expect(held.offset).toBe(second.update_id + 1)
    expect(seen).toEqual([
      { text: "hello", chat: 1001, from: "alice" },
      { text: "again", chat: 2002, from: "bob" },
    ])

    // Pushed while the poll is held: answered at once, then confirmed by the next poll.
    const third = tg.pushMessage({ text: "third" })
    const next = await tg.waitForPoll()
    expect(seen.at(-1)?.text).toBe("third")
    expect(next.offset).toBe(third.update_id + 1)
    expect(tg.pending()).toEqual([])

    await bot.stop()
    // bot.stop() confirms what it handled with one last getUpdates({offset, limit: 1}).
    expect(tg.polls.at(-1)).toMatchObject({ offset: third.update_id + 1, limit: 1, status: 200 })
    expect(tg.offsets).toEqual([1, second.update_id + 1, third.update_id + 1, third.update_id + 1])
  })

  test("409 Conflict stops bot.start() as on the wire", async () => {
    tg.failNext("getUpdates", { status: 409 })
    const err = await rejection(newBot().start())
    expect(err).toBeInstanceOf(GrammyError)
    expect(err.error_code).toBe(409)
    expect(err.description).toBe(CONFLICT)
  })

  test("429 on getUpdates: grammY waits retry_after seconds before polling again", async () => {
    tg.failNext("getUpdates", { status: 429, retryAfter: 1 })
    void newBot().start()
    await tg.waitForPoll(3000)
    const [limited, retried] = tg.polls
    expect(limited!.status).toBe(429)
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(900)
  })

  test("a wrong token is 401 Unauthorized", async () => {
    const err = await rejection(newBot("999:not-the-token").start())
    expect(err).toBeInstanceOf(GrammyError)
    expect(err.error_code).toBe(401)
    expect(err.description).toBe("Unauthorized")
  })
})

describe("getUpdates semantics", () => {
  test("an empty long poll is held until its timeout and answers []", async () => {
    const bot = newBot()
    const t0 = Date.now()
    expect(await bot.api.getUpdates({ timeout: 1 })).toEqual([])
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
  })

  test("a held poll is answered as soon as an update arrives", async () => {
    const bot = newBot()
    const t0 = Date.now()
    const answer = bot.api.getUpdates({ timeout: 10 })
    await tg.waitForPoll()
    const u = tg.pushMessage({ text: "now" })
    const got = await answer
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(got.map((x) => x.update_id)).toEqual([u.update_id])
  })

  test("offset confirms, limit caps, updates come in order; a negative offset keeps the tail", async () => {
    const bot = newBot()
    const ids = [1, 2, 3, 4].map((n) => tg.pushMessage({ text: `m${n}` }).update_id)
    expect((await bot.api.getUpdates({ limit: 2 })).map((u) => u.update_id)).toEqual(ids.slice(0, 2))
    // Without an offset nothing is confirmed: the same updates come again.
    expect((await bot.api.getUpdates({ limit: 2 })).map((u) => u.update_id)).toEqual(ids.slice(0, 2))
    expect((await bot.api.getUpdates({ offset: ids[1]! + 1 })).map((u) => u.update_id)).toEqual(ids.slice(2))
    expect(tg.pending().map((u) => u.update_id)).toEqual(ids.slice(2))
    expect((await bot.api.getUpdates({ offset: -1 })).map((u) => u.update_id)).toEqual([ids[3]!])
    expect(tg.offsets).toEqual([undefined, undefined, ids[1]! + 1, -1])
  })

  test("a second poll answers the one already held with 409", async () => {
    const bot = newBot()
    const first = bot.api.getUpdates({ timeout: 5 })
    await tg.waitForPoll()
    const second = bot.api.getUpdates({ timeout: 0 })
    const err = await rejection(first)
    expect(err.error_code).toBe(409)
    expect(err.description).toBe(CONFLICT)
    expect(await second).toEqual([])
  })

  test("polling with a webhook set is a 409; deleteWebhook clears it; http:// webhooks are refused", async () => {
    const bot = newBot()
    expect(await bot.api.setWebhook("https://example.org/hook")).toBe(true)
    expect((await bot.api.getWebhookInfo()).url).toBe("https://example.org/hook")
    const err = await rejection(bot.api.getUpdates())
    expect(err.error_code).toBe(409)
    expect(err.description).toBe("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
    expect(await bot.api.deleteWebhook()).toBe(true)
    expect(await bot.api.getUpdates()).toEqual([])
    const refused = await rejection(bot.api.setWebhook("http://example.org/hook"))
    expect(refused.description).toBe("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
  })

  test("stallPolls hangs getUpdates without an answer; after the stall the poll is answered", async () => {
    const bot = newBot()
    tg.pushMessage({ text: "waiting" })
    tg.stallPolls(Number.POSITIVE_INFINITY)
    const err = await rejection(bot.api.getUpdates({ timeout: 0 }, AbortSignal.timeout(300) as Parameters<typeof bot.api.getUpdates>[1]))
    expect(err).toBeInstanceOf(HttpError)
    await Bun.sleep(50)
    expect(tg.polls[0]).toMatchObject({ stalled: true, status: 499 })

    tg.stallPolls(300)
    const t0 = Date.now()
    const got = await bot.api.getUpdates({ timeout: 0 })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
    expect(got.map((u) => u.message?.text)).toEqual(["waiting"])
  })

  test("message_reaction updates are only created when allowed_updates asks for them", async () => {
    const bot = newBot()
    const reaction = { chat: { id: 1001, type: "private" as const, first_name: "Alice" }, message_id: 1, date: 1, old_reaction: [], new_reaction: [] }
    tg.pushUpdate({ message_reaction: reaction })
    expect(tg.filtered).toHaveLength(1)
    await bot.api.getUpdates({ allowed_updates: ["message", "message_reaction"] })
    tg.pushUpdate({ message_reaction: reaction })
    expect((await bot.api.getUpdates()).map((u) => Object.keys(u)[1])).toEqual(["message_reaction"])
  })
})

describe("sending", () => {
  test("sendMessage, sendChatAction, setMessageReaction and editMessageText are recorded and answered like Telegram", async () => {
    const bot = newBot()
    const incoming = tg.pushMessage({ text: "hi bot" }).message
    const chat = incoming.chat.id

    expect(await bot.api.sendChatAction(chat, "typing")).toBe(true)
    expect(await bot.api.setMessageReaction(chat, incoming.message_id, [{ type: "emoji", emoji: "👍" }])).toBe(true)
    expect(tg.reactionsOn(chat, incoming.message_id)).toEqual([{ type: "emoji", emoji: "👍" }])

    const sent = await bot.api.sendMessage(chat, "  <b>Hello</b> &amp; welcome  ", {
      parse_mode: "HTML",
      reply_parameters: { message_id: incoming.message_id },
    })
    expect(sent.message_id).toBe(incoming.message_id + 1)
    expect(sent.from?.id).toBe(tg.bot.id)
    expect(sent.text).toBe("Hello & welcome")
    expect(sent.entities).toEqual([{ type: "bold", offset: 0, length: 5 }])
    expect(sent.reply_to_message?.message_id).toBe(incoming.message_id)

    const edited = await bot.api.editMessageText(chat, sent.message_id, "Hello again")
    expect(edited).toMatchObject({ message_id: sent.message_id, text: "Hello again" })
    expect(typeof (edited as { edit_date?: number }).edit_date).toBe("number")
    expect(tg.botMessages(chat).map((m) => m.text)).toEqual(["Hello again"])

    const same = await rejection(bot.api.editMessageText(chat, sent.message_id, "Hello again"))
    expect(same.description).toStartWith("Bad Request: message is not modified")
    const gone = await rejection(bot.api.editMessageText(chat, 999, "x"))
    expect(gone.description).toBe("Bad Request: message to edit not found")

    expect(tg.sent.map((c) => [c.method, c.status])).toEqual([
      ["sendChatAction", 200],
      ["setMessageReaction", 200],
      ["sendMessage", 200],
      ["editMessageText", 200],
      ["editMessageText", 400],
      ["editMessageText", 400],
    ])
    expect(tg.sentOf("sendMessage")[0]!.params).toMatchObject({ chat_id: chat, parse_mode: "HTML", reply_parameters: { message_id: incoming.message_id } })
    expect(tg.sentOf("sendChatAction")[0]!.params.action).toBe("typing")
  })

  test("Telegram's refusals: unknown reply target, empty and overlong text, an emoji bots may not react with", async () => {
    const bot = newBot()
    const chat = tg.pushMessage({ text: "x" }).message.chat.id
    expect((await rejection(bot.api.sendMessage(chat, "r", { reply_parameters: { message_id: 77 } }))).description).toBe(
      "Bad Request: message to be replied not found",
    )
    const loose = await bot.api.sendMessage(chat, "r", { reply_parameters: { message_id: 77, allow_sending_without_reply: true } })
    expect(loose.reply_to_message).toBeUndefined()
    expect((await rejection(bot.api.sendMessage(chat, "   "))).description).toBe("Bad Request: message text is empty")
    expect((await rejection(bot.api.sendMessage(chat, "a".repeat(4097)))).description).toBe("Bad Request: message is too long")
    expect((await bot.api.sendMessage(chat, "a".repeat(4096))).text).toHaveLength(4096)
    expect((await rejection(bot.api.setMessageReaction(chat, 1, [{ type: "emoji", emoji: "✅" as "👍" }]))).description).toBe("Bad Request: REACTION_INVALID")
    expect((await rejection(bot.api.sendChatAction(chat, "dancing" as "typing"))).description).toBe("Bad Request: wrong parameter action in request")
  })

  test("group and forum messages: @mentions become entities, replies in a topic stay in the topic", async () => {
    const bot = newBot()
    const update = tg.pushMessage({ chatType: "supergroup", threadId: 7, text: "hey @fake_bot, /status please" })
    const m = update.message
    expect(m.chat).toMatchObject({ type: "supergroup", is_forum: true })
    expect(m).toMatchObject({ message_thread_id: 7, is_topic_message: true })
    expect(m.entities).toEqual([
      { type: "mention", offset: 4, length: 9 },
      { type: "bot_command", offset: 15, length: 7 },
    ])
    const inTopic = await bot.api.sendMessage(m.chat.id, "on it", { message_thread_id: 7 })
    expect(inTopic).toMatchObject({ message_thread_id: 7, is_topic_message: true })
    const reply = await bot.api.sendMessage(m.chat.id, "done", { reply_parameters: { message_id: m.message_id } })
    expect(reply.message_thread_id).toBe(7)
    const follow = tg.pushMessage({ chatType: "supergroup", threadId: 7, text: "thanks", replyTo: reply.message_id })
    expect(follow.message.reply_to_message?.from?.id).toBe(tg.bot.id)
    expect(tg.messages(m.chat.id).map((x) => x.message_id)).toEqual([1, 2, 3, 4])
  })

  test("sendDocument and sendPhoto upload multipart; the bytes are kept and can be downloaded again", async () => {
    const bot = newBot()
    const chat = tg.pushMessage({ text: "send me files" }).message.chat.id
    const bytes = new TextEncoder().encode("line one\nline two\n")
    const doc = await bot.api.sendDocument(chat, new InputFile(bytes, "notes.txt"), { caption: "<i>your notes</i>", parse_mode: "HTML" })
    expect(doc.document).toMatchObject({ file_name: "notes.txt", mime_type: "text/plain", file_size: bytes.byteLength })
    expect(doc.caption).toBe("your notes")
    expect(doc.caption_entities).toEqual([{ type: "italic", offset: 0, length: 10 }])
    const call = tg.sentOf("sendDocument")[0]!
    expect(call.files.document!.fileName).toBe("notes.txt")
    expect(call.files.document!.bytes).toEqual(bytes)
    expect(tg.uploads[0]).toMatchObject({ method: "sendDocument", fileName: "notes.txt", chatId: chat, messageId: doc.message_id })

    const file = await bot.api.getFile(doc.document!.file_id)
    const res = await fetch(`${tg.url}/file/bot${tg.token}/${file.file_path}`)
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes)

    const photo = await bot.api.sendPhoto(chat, new InputFile(png(2000, 1000), "chart.png"))
    expect(photo.photo!.map((p) => [p.width, p.height])).toEqual([
      [90, 45],
      [320, 160],
      [800, 400],
      [1280, 640],
    ])
    expect(tg.uploads[1]!.bytes).toEqual(png(2000, 1000))
  })
})

describe("files from users", () => {
  test("a user's photo: getFile gives a file_path whose download returns the registered bytes", async () => {
    const bot = newBot()
    const image = png(640, 480)
    const m = tg.pushMessage({ photo: image, caption: "look" }).message
    expect(m.caption).toBe("look")
    const largest = m.photo!.at(-1)!
    expect([largest.width, largest.height]).toEqual([640, 480])
    const file = await bot.api.getFile(largest.file_id)
    expect(file.file_path).toMatch(/^photos\/file_\d+\.jpg$/)
    const res = await fetch(`${tg.url}/file/bot${tg.token}/${file.file_path}`)
    expect(res.status).toBe(200)
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(image)
  })

  test("a user's document and an addFile registration; unknown ids and paths are refused", async () => {
    const bot = newBot()
    const m = tg.pushMessage({ document: { bytes: new Uint8Array([1, 2, 3]), fileName: "data.bin" } }).message
    expect(m.document).toMatchObject({ file_name: "data.bin", mime_type: "application/octet-stream", file_size: 3 })
    const extra = tg.addFile(new TextEncoder().encode("{}"), { fileName: "a.json" })
    expect((await bot.api.getFile(extra.file_id)).file_path).toBe(extra.file_path)
    expect((await rejection(bot.api.getFile("nope"))).description).toBe("Bad Request: invalid file_id")
    expect((await fetch(`${tg.url}/file/bot${tg.token}/documents/none.bin`)).status).toBe(404)
    expect((await fetch(`${tg.url}/file/bot1:other/${extra.file_path}`)).status).toBe(401)
  })
})

describe("injected failures", () => {
  test("429 is answered exactly as Telegram does: status, Retry-After, body; grammY exposes retry_after", async () => {
    const bot = newBot()
    tg.failNext("sendMessage", { status: 429, retryAfter: 7 })
    const err = await rejection(bot.api.sendMessage(1001, "hi"))
    expect(err).toBeInstanceOf(GrammyError)
    expect(err.error_code).toBe(429)
    expect(err.description).toBe("Too Many Requests: retry after 7")
    expect(err.parameters.retry_after).toBe(7)

    tg.failNext("sendMessage", { status: 429, retryAfter: 3 })
    const res = await fetch(`${tg.url}/bot${tg.token}/sendMessage`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"chat_id":1,"text":"x"}',
    })
    expect(res.status).toBe(429)
    expect(res.headers.get("retry-after")).toBe("3")
    expect(await res.json()).toEqual({ ok: false, error_code: 429, description: "Too Many Requests: retry after 3", parameters: { retry_after: 3 } })

    // The failure is used up: the retry goes through.
    expect((await bot.api.sendMessage(1001, "hi")).text).toBe("hi")
    expect(tg.sentOf("sendMessage").map((c) => c.status)).toEqual([429, 429, 200])
  })

  test("a dropped connection closes the socket without a response", async () => {
    const bot = newBot()
    tg.failNext("sendMessage", "drop")
    const err = await rejection(bot.api.sendMessage(1001, "hi"))
    expect(err).toBeInstanceOf(HttpError)
    tg.failNext("getMe", "drop")
    const raw = await rejection(fetch(`${tg.url}/bot${tg.token}/getMe`))
    expect(raw.code).toBe("ECONNRESET")
    expect(tg.sent.map((c) => [c.method, c.status])).toEqual([
      ["sendMessage", 0],
      ["getMe", 0],
    ])
  })

  test("400 and 409 with their descriptions", async () => {
    const bot = newBot()
    tg.failNext("sendMessage", { status: 400, description: "Bad Request: chat not found" })
    const e400 = await rejection(bot.api.sendMessage(5, "x"))
    expect([e400.error_code, e400.description]).toEqual([400, "Bad Request: chat not found"])
    tg.failNext("*", { status: 409 })
    const e409 = await rejection(bot.api.getMe())
    expect([e409.error_code, e409.description]).toEqual([409, CONFLICT])
  })

  test("waitFor resolves on a future call and times out naming what was seen", async () => {
    const bot = newBot()
    const waiting = tg.waitFor((c) => c.method === "sendMessage" && c.params.text === "later")
    await bot.api.sendMessage(1001, "sooner")
    await bot.api.sendMessage(1001, "later")
    expect((await waiting).params.text).toBe("later")
    const err = await rejection(tg.waitFor("deleteMessage", 50))
    expect(err.message).toContain("sendMessage, sendMessage")
  })
})

describe("formatting", () => {
  test("the default HTML check rejects malformed HTML with Telegram's text", async () => {
    const bot = newBot()
    const err = await rejection(bot.api.sendMessage(1001, "<b>open", { parse_mode: "HTML" }))
    expect(err.error_code).toBe(400)
    expect(err.description).toBe(`Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`)
    const tag = await rejection(bot.api.sendMessage(1001, "a <br> b", { parse_mode: "HTML" }))
    expect(tag.description).toBe(`Bad Request: can't parse entities: Unsupported start tag "br" at byte offset 2`)
    const ok = await bot.api.sendMessage(1001, '<a href="https://x.org">x</a> <pre><code class="language-ts">let a</code></pre>', { parse_mode: "HTML" })
    expect(ok.entities).toEqual([
      { type: "text_link", offset: 0, length: 1, url: "https://x.org" },
      { type: "pre", offset: 2, length: 5, language: "ts" },
    ])
  })

  test("a custom validator decides; 'off' accepts anything", async () => {
    const bot = newBot()
    tg.setHtmlValidator((html) => (html.includes("<i>") ? 'Unsupported start tag "i" at byte offset 0' : undefined))
    const err = await rejection(bot.api.sendMessage(1001, "<i>x</i>", { parse_mode: "HTML" }))
    expect(err.description).toBe(`Bad Request: can't parse entities: Unsupported start tag "i" at byte offset 0`)
    expect((await bot.api.sendMessage(1001, "<b>fine</b>", { parse_mode: "HTML" })).entities).toEqual([{ type: "bold", offset: 0, length: 4 }])
    tg.setHtmlValidator("off")
    expect((await bot.api.sendMessage(1001, "<b>never closed", { parse_mode: "HTML" })).text).toBe("never closed")
  })

  test("MarkdownV2 is parsed too, reserved characters included", async () => {
    const bot = newBot()
    const err = await rejection(bot.api.sendMessage(1001, "Done.", { parse_mode: "MarkdownV2" }))
    expect(err.description).toBe("Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'")
    const ok = await bot.api.sendMessage(1001, "*Done*\\.", { parse_mode: "MarkdownV2" })
    expect([ok.text, ok.entities]).toEqual(["Done.", [{ type: "bold", offset: 0, length: 4 }]])
  })
})

test("standalone mode prints {url, port} and serves the API and the control routes", async () => {
  const proc = Bun.spawn(["bun", `${import.meta.dir}/../../fakes/telegram.ts`, "--port", "0"], { stdout: "pipe", stderr: "ignore" })
  try {
    const reader = proc.stdout.getReader()
    let line = ""
    while (!line.includes("\n")) {
      const { value, done } = await reader.read()
      if (done) break
      line += new TextDecoder().decode(value)
    }
    const info = JSON.parse(line)
    expect(info.url).toBe(`http://127.0.0.1:${info.port}`)
    const bot = new Bot(info.token, { client: { apiRoot: info.url } })
    expect((await bot.api.getMe()).is_bot).toBe(true)
    await fetch(`${info.url}/__fake/message`, { method: "POST", body: JSON.stringify({ text: "from outside" }) })
    expect((await bot.api.getUpdates()).map((u) => u.message?.text)).toEqual(["from outside"])
    const sent = (await (await fetch(`${info.url}/__fake/sent`)).json()) as { method: string }[]
    expect(sent.map((c) => c.method)).toEqual(["getMe"])
  } finally {
    proc.kill()
    await proc.exited
  }
})
