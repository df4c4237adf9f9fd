/** Config of the chat channels (Telegram, Discord) and of how their conversations map to sessions. */
import { z } from "zod"

const Access = {
  dmPolicy: z
    .enum(["pairing", "allowlist", "open", "disabled"])
    .default("pairing")
    .describe(
      "Direct messages from unknown senders: pairing = they get a one-time code the owner approves; allowlist = only allowFrom; open = anyone; disabled = none",
    ),
  allowFrom: z.array(z.string()).default([]).describe("Sender ids always allowed to DM (approved pairings are kept in the database, not here)"),
  groups: z
    .strictObject({
      policy: z.enum(["allowlist", "open", "disabled"]).default("allowlist").describe("Group chats: allowlist = only `allow`; open = any group the bot is in"),
      allow: z.array(z.string()).default([]).describe("Group, guild or channel ids the bot answers in"),
      requireMention: z.boolean().default(true).describe("In groups, answer only messages that mention the bot or reply to it"),
    })
    .prefault({}),
  debounceMs: z.number().int().min(0).max(60_000).default(0).describe("Merge a burst of messages from one chat arriving within this window into one turn"),
}

export const TelegramChannel = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Run the bot when a token is set"),
    botToken: z.string().min(10).optional().describe("Bot token from @BotFather (or env TELEGRAM_BOT_TOKEN)"),
    apiRoot: z.url().default("https://api.telegram.org").describe("Bot API root (a self-hosted Bot API server, or a test server)"),
    pollTimeoutSeconds: z.number().int().min(1).max(50).default(30).describe("Long-poll timeout of getUpdates"),
    mode: z
      .enum(["polling", "webhook"])
      .default("polling")
      .describe("polling = long polling (works behind NAT); webhook = Telegram POSTs updates to webhookUrl, served on the gateway's port at /telegram/webhook"),
    webhookUrl: z
      .url()
      .refine((u) => u.startsWith("https://"), "Telegram only calls https webhooks")
      .optional()
      .describe("Public https URL that reaches the gateway's /telegram/webhook (e.g. through a reverse proxy or tunnel)"),
    webhookSecret: z
      .string()
      .regex(/^[A-Za-z0-9_-]{16,256}$/, "16-256 characters of A-Z, a-z, 0-9, _ and -")
      .optional()
      .describe("Secret Telegram sends with each webhook call (default: a new random one at every start)"),
    streaming: z
      .enum(["edit", "off"])
      .default("edit")
      .describe(
        "While a reply streams: edit = show a preview message and edit it as text arrives (at most every ~1.5 s); off = send the reply when it is done",
      ),
    ackReaction: z.boolean().default(false).describe("React 👀 to a message once it is accepted for the agent, so the sender sees it was taken"),
    ...Access,
  })
  .describe("Telegram bot (grammY, long polling)")

export const DiscordChannel = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Run the bot when a token is set"),
    token: z.string().min(10).optional().describe("Bot token (or env DISCORD_BOT_TOKEN)"),
    apiBase: z.url().default("https://discord.com/api").describe("REST base URL; the gateway URL comes from GET /gateway/bot"),
    ...Access,
  })
  .describe("Discord bot (discord.js)")

export const Channels = z
  .strictObject({
    telegram: TelegramChannel.prefault({}),
    discord: DiscordChannel.prefault({}),
  })
  .describe("Chat channels")

export const Session = z
  .strictObject({
    dmScope: z
      .enum(["main", "per-peer", "per-channel-peer", "per-account-channel-peer"])
      .default("main")
      .describe("Which session a direct message goes to: main = the agent's main session; per-peer and the others = one per sender (OpenClaw's dmScope)"),
  })
  .describe("Sessions")
