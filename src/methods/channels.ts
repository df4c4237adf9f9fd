/** send, channels.status / start / stop / logout, channels.pairing.*: the channel core over the wire. */
import type { ChannelId } from "../channels/types.ts"
import { GatewayError } from "../protocol/index.ts"
import type { MethodContext } from "./context.ts"
import type { PartialHandlers } from "./registry.ts"

function statusOf(ctx: MethodContext, channel: ChannelId) {
  const s = ctx.gw.channels.status().find((c) => c.channel === channel)
  if (!s) throw new GatewayError("INVALID_REQUEST", `unknown channel ${channel}`)
  return s
}

/** Waits this long for a `send` to reach the platform before answering `queued`. */
const SEND_WAIT_MS = 10_000

export const channelsHandlers = {
  send: async (p, ctx) => {
    const channel = p.channel ?? ctx.gw.channels.defaultChannel()
    if (!channel) throw new GatewayError("INVALID_REQUEST", "say which channel: more than one (or no) channel is configured", { code: "CHANNEL_REQUIRED" })
    if (!ctx.gw.channels.status().find((c) => c.channel === channel)?.configured) {
      throw new GatewayError("INVALID_REQUEST", `${channel} is not configured: set channels.${channel}.${channel === "telegram" ? "botToken" : "token"}`, {
        code: "CHANNEL_NOT_CONFIGURED",
      })
    }
    const { keys } = ctx.gw.channels.sendMessage({
      channel,
      to: p.to,
      text: p.message,
      key: p.idempotencyKey,
      ...(p.threadId !== undefined ? { threadId: String(p.threadId) } : {}),
      ...(p.replyToId ? { replyTo: p.replyToId } : {}),
      ...(p.accountId ? { accountId: p.accountId } : {}),
    })
    const first = await ctx.gw.channels.waitDelivered(keys[0]!, SEND_WAIT_MS)
    const status = first?.status === "sent" ? "sent" : first?.status === "failed" ? "failed" : "queued"
    return {
      runId: p.idempotencyKey,
      channel,
      to: p.to,
      status,
      chunks: keys.length,
      ...(first?.platformMessageId ? { messageId: first.platformMessageId } : {}),
      ...(first?.lastError && status !== "sent" ? { error: first.lastError } : {}),
    }
  },

  "channels.status": (_p, { gw }) => {
    const channels = gw.channels.status()
    return { ts: Date.now(), channelOrder: channels.map((c) => c.channel), channels }
  },

  "channels.start": async (p, ctx) => {
    try {
      await ctx.gw.channels.startChannel(p.channel)
    } catch (err) {
      throw new GatewayError("UNAVAILABLE", `${p.channel} did not start: ${(err as Error).message}`)
    }
    return { ok: true as const, channel: p.channel, status: statusOf(ctx, p.channel) }
  },

  "channels.stop": async (p, ctx) => {
    await ctx.gw.channels.stopChannel(p.channel)
    return { ok: true as const, channel: p.channel, status: statusOf(ctx, p.channel) }
  },

  "channels.logout": async (p, ctx) => {
    await ctx.gw.channels.stopChannel(p.channel)
    // Stays off across restarts until enabled again; the token is left where the owner put it.
    const { hash } = ctx.gw.config.onDisk()
    ctx.gw.config.patch(JSON.stringify({ channels: { [p.channel]: { enabled: false } } }), hash)
    return { ok: true as const, channel: p.channel, status: statusOf(ctx, p.channel) }
  },

  "channels.pairing.list": (p, { gw }) => ({
    requests: gw.channels.pendingPairings(p.channel).map((r) => ({
      channel: r.channel,
      code: r.code,
      senderId: r.senderId,
      ...(r.senderName ? { senderName: r.senderName } : {}),
      chatId: r.chatId,
      createdAt: r.createdAt,
      expiresAt: r.expiresAt,
    })),
  }),

  "channels.pairing.approve": (p, { gw }) => {
    const row = gw.channels.approvePairing(p.channel, p.code)
    if (!row)
      throw new GatewayError("INVALID_REQUEST", `no pending ${p.channel} pairing code ${p.code} (it may have expired: codes last 1 hour)`, {
        code: "PAIRING_NOT_FOUND",
      })
    return { ok: true as const, channel: p.channel, code: row.code, senderId: row.senderId, ...(row.senderName ? { senderName: row.senderName } : {}) }
  },

  "channels.pairing.dismiss": (p, { gw }) => {
    const row = gw.channels.dismissPairing(p.channel, p.code)
    if (!row) throw new GatewayError("INVALID_REQUEST", `no pending ${p.channel} pairing code ${p.code}`, { code: "PAIRING_NOT_FOUND" })
    return { ok: true as const, channel: p.channel, code: row.code, senderId: row.senderId }
  },
} satisfies PartialHandlers
