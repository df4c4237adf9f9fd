/**
 * Telegram in webhook mode against the compiled binary: the bot registers the webhook (with a secret) instead of
 * polling, updates POSTed to the gateway's /telegram/webhook with the right secret are answered, a wrong secret is
 * refused with 401 and reaches nobody.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { startFakeTelegram, type ApiCall, type FakeTelegram } from "../fakes/telegram.ts"
import { providerFor, scriptedFake, type ScriptedFake } from "./agent-helpers.ts"
import { E2E_TOKEN, httpUrl, startBinary, type GatewayProcess } from "./harness.ts"

const WEBHOOK_URL = "https://gw.example.invalid/telegram/webhook"
let tg: FakeTelegram
let model: ScriptedFake
let gw: GatewayProcess
let secret: string

beforeAll(async () => {
  tg = startFakeTelegram()
  model = scriptedFake("openai")
  model.script((body) => ({ text: `hooked: ${(body.messages as { role: string; content: string }[]).filter((m) => m.role === "user").at(-1)?.content}` }))
  gw = await startBinary({
    args: ["--token", E2E_TOKEN],
    config: {
      models: { default: "fake/fake-model", providers: { fake: providerFor(model) } },
      channels: { telegram: { botToken: tg.token, apiRoot: tg.url, mode: "webhook", webhookUrl: WEBHOOK_URL, dmPolicy: "open" } },
    },
  })
  const set = await tg.waitFor("setWebhook", 10_000)
  expect((set.params as { url: string }).url).toBe(WEBHOOK_URL)
  secret = String((set.params as { secret_token?: string }).secret_token)
  expect(secret).toMatch(/^[A-Za-z0-9_-]{16,}$/)
}, 30_000)

afterAll(async () => {
  await gw?.stop()
  await tg?.stop()
  await model?.server.stop()
})

const post = (update: unknown, token?: string) =>
  fetch(`${httpUrl(gw)}/telegram/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { "x-telegram-bot-api-secret-token": token } : {}) },
    body: JSON.stringify(update),
  })

test("updates POSTed with the secret are answered; a wrong secret gets 401 and reaches nobody; nothing polls", async () => {
  const stranger = tg.userMessage({ text: "sneaky", from: { id: 66, first_name: "Mallory" } })
  expect((await post(stranger, "wrong-secret-wrong-secret")).status).toBe(401)
  expect((await post(stranger)).status).toBe(401)

  const update = tg.userMessage({ text: "via the webhook", from: { id: 77, first_name: "Ann" } })
  expect((await post(update, secret)).status).toBe(200)
  const reply = await tg.waitFor(
    (c: ApiCall) => c.method === "sendMessage" && String((c.params as { text?: string }).text) === "hooked: via the webhook",
    10_000,
  )
  expect(String((reply.params as { chat_id: unknown }).chat_id)).toBe("77")
  // Telegram retries a webhook call it saw fail: the same update again is not answered twice.
  expect((await post(update, secret)).status).toBe(200)
  await Bun.sleep(500)
  expect(tg.sentOf("sendMessage").filter((c) => String((c.params as { text?: string }).text).startsWith("hooked:"))).toHaveLength(1)
  expect(tg.pollCount).toBe(0)
}, 30_000)
