/**
 * Channel overhead of the compiled gateway through the loopback Telegram Bot API (test/fakes/telegram.ts) with an
 * instant fake model: a message pushed into the fake → the bot's reply arriving at it (p50/p99, one at a time), and
 * messages per second with 50 chats writing at once (one session per chat). The floor is a bare grammY bot in this
 * process, long-polling the same fake and replying at once: the Bot API round trips without the gateway.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Bot } from "grammy"
import { startFakeOpenAI } from "../fakes/openai.ts"
import { type ApiCall, type FakeTelegram, startFakeTelegram } from "../fakes/telegram.ts"
import { median, round } from "./wire.ts"

export interface ChannelBenchOptions {
  quick: boolean
  /** Starts the binary on a home (gateway.json already written there); returns how to stop it. */
  start(binary: string, home: string): Promise<{ stop(): Promise<void> }>
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN
}

const replyText = (c: ApiCall) => String((c.params as { text?: unknown }).text ?? "")

/** Pushes one message at a time and waits for its reply: latency per message. */
async function latencies(tg: FakeTelegram, n: number, chatId: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const tag = `lat-${chatId}-${i}`
    const t0 = performance.now()
    tg.pushMessage({ text: tag, chatId, from: { id: chatId, first_name: "Bench" } })
    await tg.waitFor((c) => c.method === "sendMessage" && c.ok && replyText(c).endsWith(tag), 30_000)
    out.push(performance.now() - t0)
  }
  return out
}

/** 50 chats × `perChat` messages pushed at once; messages answered per second. */
async function burst(tg: FakeTelegram, chats: number, perChat: number): Promise<number> {
  const t0 = performance.now()
  const tags = new Set<string>()
  for (let m = 0; m < perChat; m++) {
    for (let c = 0; c < chats; c++) {
      const chatId = 90_000 + c
      const tag = `burst-${chatId}-${m}`
      tags.add(tag)
      tg.pushMessage({ text: tag, chatId, from: { id: chatId, first_name: `Chat${c}` } })
    }
  }
  const seen = new Set<string>()
  await tg.waitFor((c) => {
    if (c.method === "sendMessage" && c.ok) {
      const tag = replyText(c).split(" ").at(-1) ?? ""
      if (tags.has(tag)) seen.add(tag)
    }
    return seen.size === tags.size
  }, 120_000)
  return (tags.size / (performance.now() - t0)) * 1000
}

export async function benchChannels(gatewayBin: string, opts: ChannelBenchOptions) {
  const n = opts.quick ? 15 : 60
  const perChat = opts.quick ? 2 : 6
  const model = startFakeOpenAI((body) => {
    const last = (body.messages as { role: string; content: string }[]).filter((m) => m.role === "user").at(-1)?.content ?? ""
    return { text: `ok ${last}` }
  })

  // Floor: grammY alone against the same fake.
  const floorTg = startFakeTelegram()
  const bot = new Bot(floorTg.token, { client: { apiRoot: floorTg.url } })
  bot.on("message:text", (ctx) => ctx.reply(`ok ${ctx.message.text}`))
  void bot.start({ timeout: 1, drop_pending_updates: true })
  await floorTg.waitForPoll()
  const floorLat = await latencies(floorTg, n, 1234)
  const floorBurst = await burst(floorTg, 50, perChat)
  await bot.stop()
  await floorTg.stop()

  const tg = startFakeTelegram()
  const home = mkdtempSync(join(tmpdir(), "gw-bench-tg-"))
  writeFileSync(
    join(home, "gateway.json"),
    JSON.stringify({
      models: { default: "fake/fake-model", providers: { fake: { baseUrl: model.url, apiKey: "sk-bench", models: [{ id: "fake-model" }] } } },
      logging: { console: "off", level: "warn" },
      session: { dmScope: "per-channel-peer" },
      agents: { defaults: { maxConcurrent: 8 } },
      channels: { telegram: { botToken: tg.token, apiRoot: tg.url, pollTimeoutSeconds: 1, dmPolicy: "open" } },
    }),
    { mode: 0o600 },
  )
  const gw = await opts.start(gatewayBin, home)
  try {
    await tg.waitForPoll()
    await latencies(tg, 3, 1234) // warm-up: the AI SDK and the adapter load on first use
    const lat = await latencies(tg, n, 1234)
    const rate = await burst(tg, 50, perChat)
    const summary = (v: number[]) => ({ p50: round(median(v)), p99: round(percentile(v, 99)) })
    const gwLat = summary(lat)
    const flLat = summary(floorLat)
    return {
      note: "Telegram message pushed into the loopback Bot API → reply received there; instant fake model; floor = a bare grammY bot replying at once to the same fake",
      messages: n,
      latencyMs: { gateway: gwLat, floor: flLat, overheadP50: round(gwLat.p50 - flLat.p50) },
      burst50Chats: { messages: 50 * perChat, gatewayPerSecond: round(rate), floorPerSecond: round(floorBurst) },
    }
  } finally {
    await gw.stop()
    await tg.stop()
    await model.stop()
    rmSync(home, { recursive: true, force: true })
  }
}
