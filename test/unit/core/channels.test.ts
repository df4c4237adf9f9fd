/**
 * The channel core in process, with a scripted adapter: DM pairing (a stranger gets a code and the agent is never
 * called), approval, group mention gating, replies routed back to the chat they came from, chunking, redelivered
 * updates run once, the outbox's retries, order and give-up, streaming previews (throttled edits, the final edit, its
 * fallbacks), files from the message tool, and the ack reaction.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chunkText } from "../../../src/channels/chunk.ts"
import { DeliveryFailed } from "../../../src/channels/events.ts"
import { markdownToTelegramHtml } from "../../../src/channels/telegram/format.ts"
import { FakeChannel } from "../../harness/fake-channel.ts"
import { fakeModel, type FakeModel } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"

let gw: InProcessGateway | undefined

afterEach(async () => {
  await gw?.stop()
  gw = undefined
})

async function start(config: Record<string, unknown> = {}, model: FakeModel = fakeModel((req) => ({ text: `echo: ${req.lastUser}` }))) {
  const tg = new FakeChannel("telegram")
  gw = await startInProcess({
    models: model,
    config: { channels: { telegram: { botToken: "123456:TEST-TOKEN", ...config } } },
    channelAdapters: async () => tg,
  })
  // The adapter starts in the background: wait until it is running.
  const deadline = Date.now() + 3000
  while (!tg.ctx && Date.now() < deadline) await Bun.sleep(5)
  return { tg, model, gw }
}

describe("DM pairing", () => {
  test("a stranger gets a code and nothing reaches the agent; once approved, the next message gets the model's reply", async () => {
    const { tg, model, gw } = await start()
    const c = await gw.connect()
    await tg.push({ senderId: "555", senderName: "Stranger", text: "hi bot" })
    const [codeMsg] = await tg.waitForSent(1)
    const code = /pairing code: ([A-Z0-9]{8})/.exec(codeMsg!.text)?.[1]
    expect(code).toBeDefined()
    expect(codeMsg!.target.to).toBe("555")
    expect(model.calls.length).toBe(0)
    // Asking again shows the same code, and still no model call.
    await tg.push({ senderId: "555", text: "hello??" })
    await tg.waitForSent(2)
    expect(tg.sent[1]!.text).toContain(code!)
    expect(model.calls.length).toBe(0)

    const list = await c.call("channels.pairing.list", {})
    expect(list.requests).toMatchObject([{ channel: "telegram", code, senderId: "555", senderName: "Stranger" }])
    expect(await c.call("channels.pairing.approve", { channel: "telegram", code })).toMatchObject({ ok: true, senderId: "555" })
    await tg.waitForSent(3)
    expect(tg.sent[2]!.text).toContain("approved")
    expect((await c.call("channels.pairing.list", {})).requests).toEqual([])

    await tg.push({ senderId: "555", text: "now answer me", messageId: "77" })
    const sent = await tg.waitForSent(4)
    expect(sent[3]).toMatchObject({ text: "echo: now answer me", target: { to: "555", replyTo: "77" } })
    expect(model.calls.length).toBe(1)
    // An unknown code is a clear error.
    const bad = await c.request("channels.pairing.approve", { channel: "telegram", code: "ZZZZZZZZ" })
    expect(bad.error).toMatchObject({ details: { code: "PAIRING_NOT_FOUND" } })
  })

  test("at most 3 pending requests per channel; dmPolicy allowlist and disabled never pair", async () => {
    const { tg } = await start()
    for (const id of ["1", "2", "3", "4"]) await tg.push({ senderId: id, text: "hey" })
    await tg.waitForSent(3)
    await Bun.sleep(100)
    expect(tg.sent.map((s) => s.target.to)).toEqual(["1", "2", "3"])
  })

  test("allowFrom and open policy reach the agent without pairing", async () => {
    const { tg, model } = await start({ dmPolicy: "allowlist", allowFrom: ["42"] })
    await tg.push({ senderId: "43", text: "not listed" })
    await tg.push({ senderId: "42", text: "listed" })
    await tg.waitForSent(1)
    await Bun.sleep(100)
    expect(tg.sent.map((s) => s.text)).toEqual(["echo: listed"])
    expect(model.calls.length).toBe(1)
  })
})

describe("groups", () => {
  test("only allowed groups, and only when the bot is mentioned; the reply goes to the group, threaded", async () => {
    const { tg, model } = await start({ groups: { allow: ["-100"], requireMention: true } })
    await tg.push({ chatId: "-200", chatType: "group", senderId: "9", text: "@fakebot hello", mentioned: true })
    await tg.push({ chatId: "-100", chatType: "group", senderId: "9", text: "chatter without mention" })
    await tg.push({
      chatId: "-100",
      chatType: "group",
      senderId: "9",
      senderName: "Ann",
      text: "@fakebot what time is it",
      mentioned: true,
      messageId: "5",
      threadId: "3",
    })
    const sent = await tg.waitForSent(1)
    await Bun.sleep(100)
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({ target: { to: "-100", threadId: "3", replyTo: "5" } })
    expect(model.calls).toHaveLength(1)
    // The agent sees who spoke in the group.
    expect(model.calls[0]!.lastUser).toBe("[Ann]\n@fakebot what time is it")
  })
})

describe("delivery", () => {
  test("a long reply is chunked within the platform limit, in order, only the first threaded as a reply", async () => {
    const long = Array.from({ length: 400 }, (_, i) => `Sentence number ${i} of a long answer.`).join(" ")
    const { tg } = await start({ dmPolicy: "open" }, fakeModel([{ text: long }]))
    await tg.push({ senderId: "1", text: "tell me everything", messageId: "9" })
    await Bun.sleep(300)
    const sent = await tg.waitForSent(1)
    expect(sent.length).toBeGreaterThan(3)
    for (const s of sent) expect(s.text.length).toBeLessThanOrEqual(4096)
    expect(sent.map((s) => s.text).join(" ")).toBe(long)
    expect(sent[0]!.target.replyTo).toBe("9")
    expect(sent.slice(1).every((s) => s.target.replyTo === undefined)).toBe(true)
  })

  test("debounce: a burst from one chat becomes one turn with every message, answered once", async () => {
    const { tg, model } = await start({ dmPolicy: "open", debounceMs: 300 })
    await tg.push({ senderId: "1", text: "first", messageId: "11" })
    await tg.push({ senderId: "1", text: "second", messageId: "12" })
    await tg.push({ senderId: "1", text: "third", messageId: "13" })
    await tg.waitForSent(1)
    await Bun.sleep(200)
    expect(model.calls).toHaveLength(1)
    const users = model.calls[0]!.messages.filter((m) => m.role === "user").map((m) => m.content)
    expect(users).toEqual(["first", "second", "third"])
    expect(tg.sent).toHaveLength(1)
    expect(tg.sent[0]!.target).toMatchObject({ to: "1", replyTo: "11" })
  })

  test("a message refused by the daily budget is answered with the reason and does not block the next ones", async () => {
    const tg = new FakeChannel("telegram")
    gw = await startInProcess({
      models: fakeModel((req) => ({ text: `echo: ${req.lastUser}`, usage: { input: 50, output: 50 } })),
      config: { channels: { telegram: { botToken: "123456:TEST-TOKEN", dmPolicy: "open" } }, agents: { defaults: { budget: { dailyTokens: 10 } } } },
      channelAdapters: async () => tg,
    })
    while (!tg.ctx) await Bun.sleep(5)
    await tg.push({ senderId: "1", text: "spend it" })
    await tg.waitForSent(1)
    await tg.push({ senderId: "1", text: "one more", messageId: "901" })
    const sent = await tg.waitForSent(2)
    expect(sent[1]).toMatchObject({ target: { to: "1", replyTo: "901" } })
    expect(sent[1]!.text).toStartWith("Not now: daily token budget exceeded")
  })

  test("a redelivered update (same message id) is stored and answered once", async () => {
    const { tg, model } = await start({ dmPolicy: "open" })
    await tg.push({ senderId: "1", text: "once", messageId: "300" })
    await tg.push({ senderId: "1", text: "once", messageId: "300" })
    await tg.waitForSent(1)
    await Bun.sleep(150)
    expect(tg.sent).toHaveLength(1)
    expect(model.calls).toHaveLength(1)
  })

  test("a passing failure is retried after the platform's retry_after; chunks keep their order", async () => {
    const { tg } = await start({ dmPolicy: "open" }, fakeModel([{ text: "first reply" }, { text: "second reply" }]))
    tg.failures.push({ permanent: false, retryAfterMs: 1200, message: "429 Too Many Requests: retry after 1" })
    const t0 = Date.now()
    await tg.push({ senderId: "1", text: "a" })
    await tg.push({ senderId: "1", text: "b" })
    const sent = await tg.waitForSent(2, 8000)
    expect(sent.map((s) => s.text)).toEqual(["first reply", "second reply"])
    expect(sent[0]!.at - t0).toBeGreaterThanOrEqual(1150)
  })

  test("a permanent failure gives up at once, visible in channels.status and as an event", async () => {
    const { tg, gw } = await start({ dmPolicy: "open" })
    const failed: unknown[] = []
    gw.gateway.services.bus.subscribe(DeliveryFailed, (e) => failed.push(e))
    tg.failures.push({ permanent: true, message: "403 Forbidden: bot was blocked by the user" })
    await tg.push({ senderId: "1", text: "hello" })
    const deadline = Date.now() + 3000
    while (failed.length === 0 && Date.now() < deadline) await Bun.sleep(20)
    expect(failed).toMatchObject([{ channel: "telegram", to: "1", error: "403 Forbidden: bot was blocked by the user", attempts: 1 }])
    const c = await gw.connect()
    const status = await c.call("channels.status", {})
    expect(status.channels.find((s: { channel: string }) => s.channel === "telegram")).toMatchObject({ configured: true, running: true, outbox: { failed: 1 } })
  })

  test("send delivers to a chat with an idempotency key; a retry does not send twice", async () => {
    const { tg, gw } = await start()
    const c = await gw.connect()
    const first = await c.call("send", { to: "777", message: "hello from the CLI", idempotencyKey: "s-1" })
    const firstId = first.messageId
    expect(typeof firstId).toBe("string")
    expect(first).toMatchObject({ runId: "s-1", channel: "telegram", to: "777", status: "sent", chunks: 1 })
    const again = await c.call("send", { to: "777", message: "hello from the CLI", idempotencyKey: "s-1" })
    expect(again.messageId).toBe(firstId)
    expect(tg.sent.filter((s) => s.text === "hello from the CLI")).toHaveLength(1)
  })
})

describe("streaming by editing a preview", () => {
  const words = Array.from({ length: 12 }, (_, i) => `w${i} `)
  const final = words.join("")

  test("a preview after ~1 s, throttled edits, and the final text replaces it: shown exactly once", async () => {
    const { tg } = await start({ dmPolicy: "open" }, fakeModel([{ text: words, chunkDelayMs: 350 }]))
    const t0 = Date.now()
    await tg.push({ senderId: "1", text: "stream it", messageId: "50" })
    const deadline = Date.now() + 10_000
    while (!tg.edits.some((e) => e.text === final) && Date.now() < deadline) await Bun.sleep(20)
    await Bun.sleep(300)
    // One message: the preview, threaded as a reply, with a prefix of the answer, sent after ~1 s.
    expect(tg.sent).toHaveLength(1)
    const preview = tg.sent[0]!
    expect(preview.target).toMatchObject({ to: "1", replyTo: "50" })
    expect(preview.at - t0).toBeGreaterThanOrEqual(950)
    expect(final.startsWith(preview.text)).toBe(true)
    expect(preview.text.length).toBeLessThan(final.length)
    // Every edit is of the preview, grows the text, at most one per ~1.5 s; the last one is the final text.
    expect(tg.edits.length).toBeGreaterThanOrEqual(2)
    for (const e of tg.edits) expect(e.messageId).toBe(preview.messageId)
    const streamed = tg.edits.slice(0, -1)
    for (let i = 1; i < streamed.length; i++) expect(streamed[i]!.at - streamed[i - 1]!.at).toBeGreaterThanOrEqual(1400)
    if (streamed[0]) expect(streamed[0].at - preview.at).toBeGreaterThanOrEqual(1400)
    expect(tg.edits.at(-1)!.text).toBe(final)
    expect(tg.edits.filter((e) => e.text === final)).toHaveLength(1)
  })

  test("a final reply longer than one message: the first chunk edits the preview, the rest are new messages", async () => {
    const long = Array.from({ length: 40 }, (_, i) => `part${i}`)
    const tg = new FakeChannel("telegram", { maxMessageChars: 100 })
    gw = await startInProcess({
      models: fakeModel([{ text: long.map((w) => `${w} `), chunkDelayMs: 60 }]),
      config: { channels: { telegram: { botToken: "123456:TEST-TOKEN", dmPolicy: "open" } } },
      channelAdapters: async () => tg,
    })
    while (!tg.ctx) await Bun.sleep(5)
    await tg.push({ senderId: "1", text: "long one", messageId: "60" })
    const all = long.map((w) => `${w} `).join("")
    const deadline = Date.now() + 10_000
    while (!tg.sent.some((s) => s.text.includes("part39")) && Date.now() < deadline) await Bun.sleep(20)
    await Bun.sleep(200)
    const preview = tg.sent[0]!
    expect(preview.text.length).toBeLessThanOrEqual(100)
    const finalEdit = tg.edits.at(-1)!
    expect(finalEdit.messageId).toBe(preview.messageId)
    const rest = tg.sent.slice(1)
    expect(rest.length).toBeGreaterThan(0)
    expect([finalEdit.text, ...rest.map((s) => s.text)].join(" ")).toBe(all)
    expect(rest.every((s) => s.target.replyTo === undefined)).toBe(true)
  })

  test("when the final edit fails, the reply goes out as a new message", async () => {
    const { tg } = await start({ dmPolicy: "open" }, fakeModel([{ text: ["first half", " and the rest"], chunkDelayMs: 1300 }]))
    tg.editFailures.push({ permanent: true, message: "400 Bad Request: message to edit not found" })
    await tg.push({ senderId: "1", text: "go", messageId: "70" })
    await tg.waitForSent(2, 8000)
    await Bun.sleep(200)
    expect(tg.sent.map((s) => s.text)).toEqual(["first half", "first half and the rest"])
    expect(tg.sent[1]!.target).toMatchObject({ to: "1", replyTo: "70" })
    expect(tg.edits).toHaveLength(0)
  })

  test("a final edit left in the outbox by a stopped gateway goes out as a new message after the restart, once", async () => {
    const home = mkdtempSync(join(tmpdir(), "gw-stream-restart-"))
    const config = { channels: { telegram: { botToken: "123456:TEST-TOKEN", dmPolicy: "open" } } }
    try {
      const tg1 = new FakeChannel("telegram")
      gw = await startInProcess({
        home,
        models: fakeModel([{ text: ["first half", " and the rest"], chunkDelayMs: 1300 }]),
        config,
        channelAdapters: async () => tg1,
      })
      while (!tg1.ctx) await Bun.sleep(5)
      await tg1.push({ senderId: "1", text: "go", messageId: "80" })
      await tg1.waitForSent(1, 5000)
      // The final edit fails, and so does the new message it falls back to: the row waits for a retry.
      tg1.editFailures.push({ permanent: false, message: "network down" })
      tg1.failures.push({ permanent: false, retryAfterMs: 60_000, message: "network down" })
      const deadline = Date.now() + 5000
      while (tg1.failures.length > 0 && Date.now() < deadline) await Bun.sleep(20)
      expect(tg1.failures).toHaveLength(0)
      expect(tg1.sent.map((s) => s.text)).toEqual(["first half"])
      await gw.stop()
      gw = undefined

      const tg2 = new FakeChannel("telegram")
      gw = await startInProcess({ home, models: fakeModel([]), config, channelAdapters: async () => tg2 })
      while (!tg2.ctx) await Bun.sleep(5)
      // Its retry time (60 s) is honoured across the restart: move it due, as time would.
      gw.gateway.services.store.sqlite.run("update outbox set next_attempt_at = 0 where status = 'pending'")
      gw.gateway.services.channels!.sendMessage({ channel: "telegram", to: "99", text: "kick", key: "kick" })
      await tg2.waitForSent(2, 5000)
      await Bun.sleep(200)
      expect(tg2.sent.find((s) => s.text === "first half and the rest")?.target).toMatchObject({ to: "1", replyTo: "80" })
      expect(tg2.sent.filter((s) => s.text === "first half and the rest")).toHaveLength(1)
      expect(tg2.edits).toHaveLength(0)
    } finally {
      await gw?.stop()
      gw = undefined
      rmSync(home, { recursive: true, force: true })
    }
  })

  test("streaming off: no preview, one message at the end", async () => {
    const { tg } = await start({ dmPolicy: "open", streaming: "off" }, fakeModel([{ text: words, chunkDelayMs: 150 }]))
    await tg.push({ senderId: "1", text: "no stream" })
    await tg.waitForSent(1, 8000)
    await Bun.sleep(200)
    expect(tg.sent.map((s) => s.text)).toEqual([final])
    expect(tg.edits).toHaveLength(0)
  })
})

describe("the agent's message tool", () => {
  test("sends only to chats the owner allowed; anything else is refused with the reason", async () => {
    const model = fakeModel([
      { toolCalls: [{ name: "message", input: { channel: "telegram", to: "31337", text: "leak" } }] },
      { toolCalls: [{ name: "message", input: { channel: "telegram", to: "42", text: "**note** for the owner" } }] },
      { text: "done" },
    ])
    const { tg, gw } = await start({ allowFrom: ["42"] }, model)
    const c = await gw.connect()
    const runId = `tool-${crypto.randomUUID()}`
    await c.call("chat.send", { sessionKey: "tools", message: "notify the owner", idempotencyKey: runId })
    expect(await c.call("agent.wait", { runId, timeoutMs: 5000 })).toMatchObject({ status: "ok" })
    expect(model.calls[1]!.lastToolResult).toMatchObject({ toolName: "message", isError: true })
    expect(model.calls[1]!.lastToolResult!.content).toContain("not one the owner allowed")
    expect(model.calls[2]!.lastToolResult).toMatchObject({ toolName: "message", isError: false, content: "Sent to 42 on telegram." })
    expect(tg.sent.map((m) => [m.target.to, m.text])).toEqual([["42", "**note** for the owner"]])
  })
})

describe("the message tool sends files", () => {
  test("a file inside the workspace goes out as a document with its caption, once; a path outside the roots is refused", async () => {
    const outside = join(tmpdir(), `gw-outside-${crypto.randomUUID()}.txt`)
    writeFileSync(outside, "secret")
    const model = fakeModel([
      { toolCalls: [{ name: "message", input: { channel: "telegram", to: "42", text: "steal", file: outside } }] },
      { toolCalls: [{ name: "message", input: { channel: "telegram", to: "42", file: "missing.txt" } }] },
      { toolCalls: [{ name: "message", input: { channel: "telegram", to: "42", text: "the **report**", file: "out/report.txt" } }] },
      { text: "done" },
    ])
    const { tg, gw } = await start({ allowFrom: ["42"] }, model)
    mkdirSync(join(gw.home, "workspace", "out"), { recursive: true })
    writeFileSync(join(gw.home, "workspace", "out", "report.txt"), "numbers")
    const c = await gw.connect()
    const runId = `file-${crypto.randomUUID()}`
    await c.call("chat.send", { sessionKey: "files", message: "send the report", idempotencyKey: runId })
    expect(await c.call("agent.wait", { runId, timeoutMs: 5000 })).toMatchObject({ status: "ok" })
    expect(model.calls[1]!.lastToolResult).toMatchObject({ toolName: "message", isError: true })
    expect(model.calls[1]!.lastToolResult!.content).toContain("outside the allowed directories")
    expect(model.calls[2]!.lastToolResult).toMatchObject({ toolName: "message", isError: true })
    expect(model.calls[2]!.lastToolResult!.content).toContain("does not exist")
    expect(model.calls[3]!.lastToolResult).toMatchObject({ toolName: "message", isError: false, content: "Sent to 42 on telegram." })
    expect(tg.files).toHaveLength(1)
    expect(tg.files[0]).toMatchObject({ target: { to: "42" }, caption: "the **report**" })
    expect(tg.files[0]!.path.endsWith(join("workspace", "out", "report.txt"))).toBe(true)
    expect(tg.sent).toHaveLength(0)
    rmSync(outside, { force: true })
  })

  test("a file row whose file vanished fails at once, visible as a delivery failure", async () => {
    const { tg, gw } = await start({ allowFrom: ["42"] })
    const failed: { error: string }[] = []
    gw.gateway.services.bus.subscribe(DeliveryFailed, (e) => failed.push(e))
    const path = join(gw.home, "gone.txt")
    gw.gateway.services.channels!.sendMessage({ channel: "telegram", to: "42", text: "", key: "k1", file: path })
    const deadline = Date.now() + 3000
    while (failed.length === 0 && Date.now() < deadline) await Bun.sleep(20)
    expect(failed[0]!.error).toContain("no longer exists")
    expect(tg.files).toHaveLength(0)
  })
})

describe("ack reaction", () => {
  test("with ackReaction, an accepted message gets 👀 once (a redelivery does not react again); dropped ones none", async () => {
    const { tg } = await start({ allowFrom: ["42"], ackReaction: true })
    await tg.push({ senderId: "42", text: "hello", messageId: "500" })
    await tg.push({ senderId: "42", text: "hello", messageId: "500" })
    await tg.push({ chatId: "-5", chatType: "group", senderId: "42", text: "not an allowed group", messageId: "501", mentioned: true })
    await tg.waitForSent(1)
    await Bun.sleep(100)
    expect(tg.reactions).toEqual([{ target: { to: "42" }, messageId: "500", emoji: "👀" }])
  })

  test("off by default", async () => {
    const { tg } = await start({ allowFrom: ["42"] })
    await tg.push({ senderId: "42", text: "hello", messageId: "600" })
    await tg.waitForSent(1)
    expect(tg.reactions).toEqual([])
  })
})

describe("text helpers", () => {
  test("chunks never exceed the limit, break at paragraphs or words, and keep code fences renderable", () => {
    const words = Array.from({ length: 300 }, (_, i) => `word${i}`).join(" ")
    for (const piece of chunkText(words, 100)) {
      expect(piece.length).toBeLessThanOrEqual(100)
      expect(piece).not.toMatch(/^\s|\s$/)
    }
    expect(chunkText(words, 100).join(" ")).toBe(words)
    const code = `Intro\n\n\`\`\`ts\n${Array.from({ length: 40 }, (_, i) => `const v${i} = ${i}`).join("\n")}\n\`\`\`\nAfter`
    const pieces = chunkText(code, 200)
    expect(pieces.length).toBeGreaterThan(2)
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(200)
      // Every piece has balanced fences.
      expect((p.match(/```/g) ?? []).length % 2).toBe(0)
    }
    expect(pieces[1]!.startsWith("```ts\n")).toBe(true)
  })

  test("Markdown becomes Telegram HTML with everything else escaped", () => {
    expect(markdownToTelegramHtml("**bold** and *it* and `a<b`")).toBe("<b>bold</b> and <i>it</i> and <code>a&lt;b</code>")
    expect(markdownToTelegramHtml("# Title\n- item <x>")).toBe("<b>Title</b>\n• item &lt;x&gt;")
    expect(markdownToTelegramHtml("```py\nif a < b:\n  pass\n```")).toBe('<pre><code class="language-py">if a &lt; b:\n  pass</code></pre>')
    expect(markdownToTelegramHtml("[docs](https://example.com/a?b=1&c=2)")).toBe('<a href="https://example.com/a?b=1&amp;c=2">docs</a>')
  })
})
