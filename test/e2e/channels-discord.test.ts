/**
 * The compiled binary's Discord bot against a loopback Discord (REST v10 + gateway WebSocket, test/fakes/discord.ts)
 * and a fake model: only the needed intents, DM pairing end to end (the stranger gets a code, the model is never
 * called, `gateway pairing approve` lets them in), guild mention gating, replies threaded to the triggering message,
 * a long reply chunked at 2,000 characters, and a reconnect that resumes the session.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { Intent, startFakeDiscord, type FakeDiscord } from "../fakes/discord.ts"
import { providerFor, scriptedFake, type ScriptedFake } from "./agent-helpers.ts"
import { E2E_TOKEN, cliEnv, runCli, startBinary, type GatewayProcess } from "./harness.ts"

const GUILD = "700000000000000001"
const GENERAL = "700000000000000010"
const OTHER_GUILD = "700000000000000002"
const OTHER_CHANNEL = "700000000000000020"
const ann = { id: "500000000000000042", username: "ann" }

let discord: FakeDiscord
let model: ScriptedFake
let gw: GatewayProcess

const posts = () => discord.calls("POST /channels/:id/messages") as { path: string; body: { content?: string; message_reference?: { message_id: string } } }[]

beforeAll(async () => {
  discord = startFakeDiscord({
    guilds: [
      { id: GUILD, name: "home", channels: [{ id: GENERAL, name: "general" }] },
      { id: OTHER_GUILD, name: "elsewhere", channels: [{ id: OTHER_CHANNEL, name: "random" }] },
    ],
    heartbeatIntervalMs: 500,
  })
  model = scriptedFake("openai")
  model.script((body) => {
    const last = (body.messages as { role: string; content: string }[]).filter((m) => m.role === "user").at(-1)?.content ?? ""
    if (last.includes("essay")) return { text: Array.from({ length: 120 }, (_, i) => `Line ${i} of a long essay about gateways.`).join("\n") }
    return { text: `model says: ${last.split("\n").at(-1)}` }
  })
  gw = await startBinary({
    args: ["--token", E2E_TOKEN],
    config: {
      models: { default: "fake/fake-model", providers: { fake: providerFor(model) } },
      channels: { discord: { token: discord.token, apiBase: discord.api, groups: { allow: [GUILD], requireMention: true } } },
    },
  })
  await discord.waitFor(() => discord.identifies.length > 0, 10_000)
}, 30_000)

afterAll(async () => {
  await gw?.stop()
  await discord?.stop()
  await model?.server.stop()
})

test("the bot identifies with only the intents it needs", () => {
  const intents = discord.identifies[0]!.intents
  expect(intents).toBe(Intent.Guilds | Intent.GuildMessages | Intent.DirectMessages | Intent.MessageContent)
})

test("DM pairing end to end: a code for the stranger and no model call; approved, the next DM gets the model's reply", async () => {
  const before = model.mark()
  discord.userMessage({ channelId: "900000000000000099", author: ann, content: "hello bot" })
  const pairing = await discord.waitFor(() => posts().find((p) => p.body.content?.includes("pairing code")), 10_000)
  const code = /pairing code: ([A-Z0-9]{8})/.exec(pairing.body.content!)![1]!
  expect(model.since(before)).toHaveLength(0)

  const approve = await runCli(["pairing", "approve", "discord", code], cliEnv(gw))
  expect(approve.code).toBe(0)
  expect(approve.out).toContain(`approved ann (${ann.id}) on discord`)

  const msg = discord.userMessage({ channelId: "900000000000000099", author: ann, content: "what is 2+2" })
  const reply = await discord.waitFor(() => posts().find((p) => p.body.content === "model says: what is 2+2"), 10_000)
  expect(reply.body.message_reference?.message_id).toBe(msg.id)
  expect(model.since(before)).toHaveLength(1)
}, 30_000)

test("guild messages: only allowed guilds, only when mentioned; a long reply is chunked at 2,000 characters", async () => {
  const before = model.mark()
  const sentBefore = posts().length
  discord.userMessage({ channelId: OTHER_CHANNEL, author: ann, content: "<@bot> are you there", mentions: ["bot"] })
  discord.userMessage({ channelId: GENERAL, author: ann, content: "just chatting" })
  discord.userMessage({ channelId: GENERAL, author: ann, content: "please write an essay", mentions: ["bot"] })
  await discord.waitFor(() => posts().length >= sentBefore + 2, 15_000)
  await Bun.sleep(300)
  const chunks = posts().slice(sentBefore)
  expect(model.since(before)).toHaveLength(1)
  for (const c of chunks) {
    expect(c.path).toBe(`/channels/${GENERAL}/messages`)
    expect(c.body.content!.length).toBeLessThanOrEqual(2000)
  }
  const text = chunks.map((c) => c.body.content).join("\n")
  expect(text).toContain("Line 0 of a long essay")
  expect(text).toContain("Line 119 of a long essay")
}, 30_000)

test("a dropped gateway connection is resumed and messages sent meanwhile still arrive", async () => {
  const resumes = discord.resumes.length
  discord.dropConnection(4000)
  discord.userMessage({ channelId: "900000000000000099", author: ann, content: "still there?" })
  await discord.waitFor(() => posts().find((p) => p.body.content === "model says: still there?"), 20_000)
  expect(discord.resumes.length).toBeGreaterThan(resumes)
  const status = await runCli(["channels", "status", "--json"], cliEnv(gw))
  const discordStatus = JSON.parse(status.out).channels.find((c: { channel: string }) => c.channel === "discord")
  expect(discordStatus).toMatchObject({ configured: true, running: true, connected: true })
}, 30_000)
