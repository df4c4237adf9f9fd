/**
 * The fake Discord (test/fakes/discord.ts) driven by discord.js itself: a real Client with rest.api pointed at the
 * fake logs in over REST + gateway, receives MESSAGE_CREATE, sends, replies, edits, types, reacts and uploads, is
 * rate limited, loses its socket and resumes, and re-identifies after a non-resumable INVALID_SESSION. Loopback only.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { ChannelType, Client, type ClientOptions, GatewayIntentBits as Bits, type Message, Partials, type TextChannel } from "discord.js"
import { type FakeDiscord, Intent, intentNames, startFakeDiscord } from "../../fakes/discord.ts"

const GUILD = "900000000000000001"
const TEXT = "900000000000000010"
const THREAD = "900000000000000011"
const ann = { id: "800000000000000001", username: "ann" }

const INTENTS = [Bits.Guilds, Bits.GuildMessages, Bits.DirectMessages, Bits.MessageContent, Bits.GuildMessageReactions]

let fake: FakeDiscord | undefined
let client: Client | undefined

afterEach(async () => {
  await client?.destroy()
  await fake?.stop()
  client = undefined
  fake = undefined
})

function start(): FakeDiscord {
  fake = startFakeDiscord({
    heartbeatIntervalMs: 250,
    guilds: [
      {
        id: GUILD,
        name: "Fake Guild",
        channels: [
          { id: TEXT, name: "general" },
          { id: THREAD, name: "a thread", type: ChannelType.PublicThread, parentId: TEXT },
        ],
      },
    ],
    log: () => {},
  })
  return fake
}

/** A real discord.js Client against the fake; resolves once `clientReady` fired. Messages land in `inbox`. */
async function login(f: FakeDiscord, opts: Partial<ClientOptions> = {}): Promise<{ client: Client; inbox: Message[] }> {
  const c = new Client({
    intents: INTENTS,
    // Discord sends no CHANNEL_CREATE for DMs: without Partials.Channel discord.js drops a DM's MESSAGE_CREATE.
    partials: [Partials.Channel],
    rest: { api: f.api, cdn: f.cdn },
    ...opts,
  })
  client = c
  const inbox: Message[] = []
  c.on("messageCreate", (m) => void inbox.push(m))
  const ready = new Promise<void>((resolve) => c.once("clientReady", () => resolve()))
  await c.login(f.token)
  await ready
  return { client: c, inbox }
}

const fromAnn = (inbox: Message[], content: string) => () => inbox.find((m) => m.author.id === ann.id && m.content === content)

describe("fake Discord with discord.js", () => {
  test("login: GET /gateway/bot, gateway v10 json, IDENTIFY with the asked intents, READY + GUILD_CREATE, heartbeats acked", async () => {
    const f = start()
    const { client: c } = await login(f)
    expect(c.user?.id).toBe(f.botUser.id)
    expect(c.user?.bot).toBe(true)
    const guild = c.guilds.cache.get(GUILD)!
    expect(guild.name).toBe("Fake Guild")
    expect(guild.members.me?.id).toBe(f.botUser.id)
    expect(guild.channels.cache.get(TEXT)?.type).toBe(ChannelType.GuildText)
    const thread = c.channels.cache.get(THREAD)
    expect(thread?.isThread() && thread.parentId).toBe(TEXT)

    expect(f.sent.map((x) => x.route)).toEqual(["GET /gateway/bot"])
    expect(f.sent[0]!.headers.authorization).toBe(`Bot ${f.token}`)
    expect(f.unknownRoutes).toEqual([])
    expect(f.connections[0]).toMatchObject({ path: "/gateway", query: { v: "10", encoding: "json" } })
    expect(f.identifies).toHaveLength(1)
    expect(f.identifies[0]!.token).toBe(f.token)
    expect(f.identifies[0]!.intents).toBe(Intent.Guilds | Intent.GuildMessages | Intent.DirectMessages | Intent.MessageContent | Intent.GuildMessageReactions)
    expect(intentNames(f.identifies[0]!.intents)).toEqual(["Guilds", "GuildMessages", "GuildMessageReactions", "DirectMessages", "MessageContent"])
    await f.waitFor(() => f.heartbeats >= 2, 2000)
    await f.waitFor(() => c.ws.ping >= 0)
  })

  test("MESSAGE_CREATE reaches messageCreate with content: guild channel, thread and DM (channel type 1)", async () => {
    const f = start()
    const { inbox } = await login(f)
    const sent = f.userMessage({ channelId: TEXT, author: ann, content: "hello guild" })
    const inGuild = await f.waitFor(fromAnn(inbox, "hello guild"))
    expect(inGuild.id).toBe(sent.id)
    expect(inGuild.guildId).toBe(GUILD)
    expect(inGuild.channelId).toBe(TEXT)
    expect(inGuild.author.username).toBe("ann")
    expect(inGuild.member?.id).toBe(ann.id)
    expect(inGuild.createdTimestamp).toBeGreaterThan(Date.now() - 60_000)

    f.userMessage({ channelId: TEXT, threadId: THREAD, author: ann, content: "in the thread" })
    const inThread = await f.waitFor(fromAnn(inbox, "in the thread"))
    expect(inThread.channel.isThread()).toBe(true)
    expect(inThread.channelId).toBe(THREAD)

    const dmChannel = "900000000000000099"
    f.userMessage({ channelId: dmChannel, author: ann, content: "hello dm" })
    const dm = await f.waitFor(fromAnn(inbox, "hello dm"))
    expect(dm.guildId).toBeNull()
    expect(dm.channel.type).toBe(ChannelType.DM)
    expect(dm.channelId).toBe(dmChannel)
    expect(f.channels.get(dmChannel)?.type).toBe(1)
  })

  test("without MessageContent, guild content is blank unless the bot is mentioned; DMs keep it", async () => {
    const f = start()
    const { inbox } = await login(f, { intents: [Bits.Guilds, Bits.GuildMessages, Bits.DirectMessages] })
    expect(f.identifies[0]!.intents & Intent.MessageContent).toBe(0)
    const plain = f.userMessage({ channelId: TEXT, author: ann, content: "secret" })
    const mention = f.userMessage({ channelId: TEXT, author: ann, content: `<@${f.botUser.id}> hi` })
    f.userMessage({ channelId: "900000000000000098", author: ann, content: "dm text" })
    await f.waitFor(() => inbox.length >= 3)
    expect(inbox.find((m) => m.id === plain.id)?.content).toBe("")
    const mentioned = inbox.find((m) => m.id === mention.id)!
    expect(mentioned.content).toBe(`<@${f.botUser.id}> hi`)
    expect(mentioned.mentions.users.has(f.botUser.id)).toBe(true)
    expect(inbox.find((m) => m.guildId === null)?.content).toBe("dm text")
  })

  test("channel.send, message.reply, edit, sendTyping and react are recorded with Discord's bodies", async () => {
    const f = start()
    const { client: c, inbox } = await login(f)
    f.userMessage({ channelId: TEXT, author: ann, content: "ping" })
    const ping = await f.waitFor(fromAnn(inbox, "ping"))

    const channel = c.channels.cache.get(TEXT) as TextChannel
    const hello = await channel.send("hello")
    expect(hello.author.id).toBe(f.botUser.id)
    expect(hello.id).toMatch(/^\d{17,20}$/)
    const reply = await ping.reply("pong")
    expect(reply.reference?.messageId).toBe(ping.id)
    const edited = await hello.edit("hello, edited")
    expect(edited.content).toBe("hello, edited")
    expect(edited.editedTimestamp).not.toBeNull()
    await channel.sendTyping()
    await ping.react("👍")
    await ping.react("<:party:123456789012345678>")

    const rest = f.sent.filter((x) => x.route !== "GET /gateway/bot")
    expect(rest.map((x) => `${x.route} ${x.status}`)).toEqual([
      "POST /channels/:id/messages 200",
      "POST /channels/:id/messages 200",
      "PATCH /channels/:id/messages/:mid 200",
      "POST /channels/:id/typing 204",
      "PUT /channels/:id/messages/:mid/reactions/:emoji/@me 204",
      "PUT /channels/:id/messages/:mid/reactions/:emoji/@me 204",
    ])
    expect(rest[0]).toMatchObject({ path: `/channels/${TEXT}/messages`, body: { content: "hello" } })
    expect(rest[1]!.body).toMatchObject({ content: "pong", message_reference: { message_id: ping.id } })
    expect(rest[2]).toMatchObject({ path: `/channels/${TEXT}/messages/${hello.id}`, body: { content: "hello, edited" } })
    expect(rest[3]!.path).toBe(`/channels/${TEXT}/typing`)
    expect(decodeURIComponent(rest[4]!.path)).toBe(`/channels/${TEXT}/messages/${ping.id}/reactions/👍/@me`)
    expect(decodeURIComponent(rest[5]!.path)).toBe(`/channels/${TEXT}/messages/${ping.id}/reactions/party:123456789012345678/@me`)

    // The fake's state follows: the reply is type 19 with the referenced message, reactions are counted.
    expect(f.messages.get(reply.id)).toMatchObject({ type: 19, message_reference: { message_id: ping.id }, referenced_message: { id: ping.id } })
    expect(f.messages.get(ping.id)?.reactions?.map((r) => r.emoji.name)).toEqual(["👍", "party"])
    // Discord echoes the bot's own messages over the gateway.
    await f.waitFor(() => inbox.find((m) => m.id === hello.id))
    // And refuses what it would refuse: over 2000 characters, an empty message.
    await expect(channel.send("x".repeat(2001))).rejects.toMatchObject({ code: 50035, status: 400 })
    await expect(channel.send({ content: "" })).rejects.toMatchObject({ code: 50006 })
  })

  test("guilds, channels and threads added later arrive as GUILD_CREATE, CHANNEL_CREATE and THREAD_CREATE", async () => {
    const f = start()
    const { client: c, inbox } = await login(f)
    const joined = new Promise<string>((resolve) => c.once("guildCreate", (g) => resolve(g.name)))
    f.guild({ id: "900000000000000002", name: "Second", channels: [{ id: "900000000000000020", name: "lobby" }] })
    expect(await joined).toBe("Second")
    const created = new Promise<string>((resolve) => c.once("channelCreate", (ch) => resolve(ch.name)))
    f.channel(GUILD, { id: "900000000000000012", name: "news" })
    expect(await created).toBe("news")
    const thread = new Promise<boolean>((resolve) => c.once("threadCreate", (_t, newlyCreated) => resolve(newlyCreated)))
    f.channel(GUILD, { id: "900000000000000013", name: "side talk", type: ChannelType.PublicThread, parentId: TEXT })
    expect(await thread).toBe(true)

    f.userMessage({ channelId: TEXT, author: ann, content: "start a thread here" })
    const starter = await f.waitFor(fromAnn(inbox, "start a thread here"))
    const started = await starter.startThread({ name: "follow-up" })
    expect(started.id).toBe(starter.id) // Discord gives a thread started from a message the message's id
    expect(f.calls("POST /channels/:id/messages/:mid/threads")[0]!.body).toMatchObject({ name: "follow-up" })
    await started.send("in the new thread")
    expect(f.calls("POST /channels/:id/messages")[0]!.path).toBe(`/channels/${starter.id}/messages`)
  })

  test("a DM opened from REST (POST /users/@me/channels) can be sent to", async () => {
    const f = start()
    const { client: c } = await login(f)
    const bob = "800000000000000002"
    const dm = await c.users.send(bob, "hello in private")
    expect(dm.channel.type).toBe(ChannelType.DM)
    expect(f.calls("POST /users/@me/channels")[0]?.body).toEqual({ recipient_id: bob })
    expect(f.calls("POST /channels/:id/messages")[0]!.path).toBe(`/channels/${dm.channelId}/messages`)
    expect(f.channels.get(dm.channelId)).toMatchObject({ type: 1, recipients: [{ id: bob }] })
  })

  test("attachments round-trip: user upload served from the fake CDN, bot upload as multipart files[n] + payload_json", async () => {
    const f = start()
    const { client: c, inbox } = await login(f)
    const bytes = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 1, 2, 3])
    f.userMessage({ channelId: TEXT, author: ann, content: "see file", attachments: [{ filename: "pic.png", data: bytes }] })
    const received = await f.waitFor(fromAnn(inbox, "see file"))
    const att = received.attachments.first()!
    expect(att.name).toBe("pic.png")
    expect(att.contentType).toBe("image/png")
    expect(att.size).toBe(bytes.byteLength)
    expect(att.url.startsWith(f.cdn)).toBe(true)
    const download = await fetch(att.url)
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes)

    const channel = c.channels.cache.get(TEXT) as TextChannel
    const out = await channel.send({
      content: "here you go",
      files: [{ attachment: Buffer.from("report body"), name: "report.txt", description: "the report" }],
    })
    const call = f.calls("POST /channels/:id/messages")[0]!
    expect(call.headers["content-type"]).toStartWith("multipart/form-data")
    expect(call.body).toMatchObject({ content: "here you go", attachments: [{ id: "0", description: "the report" }] })
    expect(call.files).toHaveLength(1)
    expect(call.files[0]!.field).toBe("files[0]")
    expect(call.files[0]!.filename).toBe("report.txt")
    expect(new TextDecoder().decode(call.files[0]!.data)).toBe("report body")
    const sentAtt = out.attachments.first()!
    expect(sentAtt.name).toBe("report.txt")
    expect(sentAtt.description).toBe("the report")
    expect(await (await fetch(sentAtt.url)).text()).toBe("report body")
  })

  test("a 429 is waited out for retry_after and retried; 500 and a dropped connection are retried too", async () => {
    const f = start()
    const { client: c } = await login(f)
    const channel = c.channels.cache.get(TEXT) as TextChannel
    f.failNext("POST /channels/:id/messages", { status: 429, retryAfter: 0.3 })
    const t0 = Date.now()
    await channel.send("after the limit")
    const [limited, ok] = f.calls("POST /channels/:id/messages")
    expect(limited!.status).toBe(429)
    expect(ok!.status).toBe(200)
    expect(ok!.body.content).toBe("after the limit")
    expect(ok!.at - limited!.at).toBeGreaterThanOrEqual(290)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290)

    f.failNext(`POST /channels/${TEXT}/typing`, { status: 500 })
    f.failNext("POST /channels/:id/typing", "drop")
    await channel.sendTyping()
    expect(f.calls("POST /channels/:id/typing").map((x) => x.status)).toEqual([500, 0, 204])
  })

  test("a global 429 carries X-RateLimit-Global and Discord's body, and discord.js waits it out", async () => {
    const f = start()
    f.failNext("GET /users/@me", { status: 429, retryAfter: 0.25, global: true })
    const res = await fetch(`${f.api}/v10/users/@me`, { headers: { authorization: `Bot ${f.token}` } })
    expect(res.status).toBe(429)
    expect(res.headers.get("x-ratelimit-global")).toBe("true")
    expect(res.headers.get("x-ratelimit-scope")).toBe("global")
    expect(Number(res.headers.get("retry-after"))).toBe(0.25)
    expect(await res.json()).toEqual({ message: "You are being rate limited.", retry_after: 0.25, global: true })

    const { client: c } = await login(f)
    f.failNext("POST /channels/:id/messages", { status: 429, retryAfter: 0.25, global: true })
    await (c.channels.cache.get(TEXT) as TextChannel).send("after the global limit")
    const [limited, ok] = f.calls("POST /channels/:id/messages")
    expect([limited!.status, ok!.status]).toEqual([429, 200])
    expect(ok!.at - limited!.at).toBeGreaterThanOrEqual(240)
  })

  test("unanswered heartbeats: discord.js declares a zombie connection and resumes", async () => {
    const f = start()
    await login(f)
    f.ackHeartbeats = false
    await f.waitFor(() => f.connections[0]!.closeCode !== undefined, 2000)
    f.ackHeartbeats = true
    await f.waitFor(() => f.resumes.find((r) => r.ok), 3000)
    expect(f.identifies).toHaveLength(1)
  })

  for (const code of [1006, 4000]) {
    test(`a socket dropped with ${code} is resumed: RESUME with the session id and seq, missed dispatches replayed`, async () => {
      const f = start()
      const { inbox } = await login(f)
      const [session] = f.sessions()
      expect(session).toBeDefined()
      const resumed = new Promise<void>((resolve) => client!.ws.shards.first()!.once("resumed", () => resolve()))
      f.dropConnection(code)
      expect(f.connections[0]!.closeCode).toBe(code)
      // Sent while the bot is disconnected: only a RESUME replay can deliver it.
      const missed = f.userMessage({ channelId: TEXT, author: ann, content: "while you were away" })
      expect(f.sessions()[0]!.connected).toBe(false)
      await resumed
      expect(f.resumes).toEqual([{ token: f.token, session_id: session!.id, seq: session!.seq, ok: true }])
      expect(f.identifies).toHaveLength(1)
      expect(f.connections).toHaveLength(2)
      expect(f.connections[1]).toMatchObject({ path: "/resume", sessionId: session!.id, query: { v: "10", encoding: "json" } })
      const replayed = await f.waitFor(fromAnn(inbox, "while you were away"))
      expect(replayed.id).toBe(missed.id)
      // And the session carries on.
      f.userMessage({ channelId: TEXT, author: ann, content: "welcome back" })
      await f.waitFor(fromAnn(inbox, "welcome back"))
    })
  }

  test("op 7 RECONNECT leads to a RESUME on the resume URL", async () => {
    const f = start()
    await login(f)
    const sessionId = f.sessions()[0]!.id
    f.reconnect()
    await f.waitFor(() => f.resumes.find((r) => r.ok))
    expect(f.resumes[0]!.session_id).toBe(sessionId)
    expect(f.connections[0]!.closeCode).toBe(4200) // @discordjs/ws closes with its "resuming" code
    expect(f.connections[1]!.path).toBe("/resume")
  })

  test("INVALID_SESSION resumable: RESUME on the same connection", async () => {
    const f = start()
    const { inbox } = await login(f)
    const sessionId = f.sessions()[0]!.id
    f.invalidateSession(true)
    await f.waitFor(() => f.resumes.find((r) => r.ok))
    expect(f.resumes[0]!.session_id).toBe(sessionId)
    expect(f.connections).toHaveLength(1)
    f.userMessage({ channelId: TEXT, author: ann, content: "still here" })
    await f.waitFor(fromAnn(inbox, "still here"))
  })

  test("INVALID_SESSION not resumable: a fresh IDENTIFY and a new session", async () => {
    const f = start()
    // @discordjs/ws spaces identifies 5 s apart (max_concurrency 1), as Discord requires; a no-op throttler keeps the test fast.
    const { client: c, inbox } = await login(f, { ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }) } })
    const first = f.sessions()[0]!.id
    f.invalidateSession(false)
    await f.waitFor(() => f.identifies.length === 2 && f.sessions().find((s) => s.connected))
    expect(f.resumes).toEqual([])
    expect(f.connections[0]!.closeCode).toBe(1000)
    const [second] = f.sessions()
    expect(second!.id).not.toBe(first)
    expect(f.identifies[1]!.intents).toBe(f.identifies[0]!.intents)
    f.userMessage({ channelId: TEXT, author: ann, content: "new session" })
    await f.waitFor(fromAnn(inbox, "new session"))
    expect(c.isReady()).toBe(true)
  })

  test("a wrong token: 401 on REST (discord.js: TokenInvalid) and close 4004 on IDENTIFY", async () => {
    const f = start()
    const c = new Client({ intents: INTENTS, rest: { api: f.api } })
    client = c
    await expect(c.login("not-the-token")).rejects.toMatchObject({ code: "TokenInvalid" })
    expect(f.sent[0]).toMatchObject({ route: "GET /gateway/bot", status: 401 })

    const ws = new WebSocket(`${f.gatewayUrl}?v=10&encoding=json`)
    const closed = new Promise<number>((resolve) => (ws.onclose = (e) => resolve(e.code)))
    ws.onmessage = (e) => {
      const frame = JSON.parse(String(e.data))
      if (frame.op === 10) ws.send(JSON.stringify({ op: 2, d: { token: "not-the-token", intents: 1, properties: {} } }))
    }
    expect(await closed).toBe(4004)
  })

  test("unknown routes are logged loudly and answered 404 like Discord", async () => {
    const lines: string[] = []
    const f = startFakeDiscord({ log: (l) => lines.push(l) })
    fake = f
    const res = await fetch(`${f.api}/v10/applications/@me/emojis`, { headers: { authorization: `Bot ${f.token}` } })
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ message: "404: Not Found", code: 0 })
    expect(f.unknownRoutes.map((x) => x.path)).toEqual(["/applications/@me/emojis"])
    expect(lines.join("\n")).toContain("UNKNOWN ROUTE GET /api/v10/applications/@me/emojis")
  })

  test("standalone mode prints {url, port} and serves", async () => {
    const proc = Bun.spawn(["bun", `${import.meta.dir}/../../fakes/discord.ts`, "--port", "0"], { stdout: "pipe", stderr: "pipe" })
    try {
      const reader = proc.stdout.getReader()
      let text = ""
      while (!text.includes("\n")) {
        const { value, done } = await reader.read()
        if (done) break
        text += new TextDecoder().decode(value)
      }
      const info = JSON.parse(text)
      expect(info.url).toBe(`http://127.0.0.1:${info.port}/api`)
      const res = await fetch(`${info.url}/v10/gateway/bot`, { headers: { authorization: `Bot ${info.token}` } })
      expect(((await res.json()) as { url: string }).url).toBe(`ws://127.0.0.1:${info.port}/gateway`)
    } finally {
      proc.kill()
      await proc.exited
    }
  })
})
