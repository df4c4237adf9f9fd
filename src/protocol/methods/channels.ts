/** Channel methods: send, channels.status / start / stop / logout, and DM pairing (OpenClaw's names). */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { IdempotencyKey, method } from "./define.ts"

export const ChannelName = lazy(() => z.enum(["telegram", "discord"]))

export const ChannelStatusEntry = lazy(() =>
  z.object({
    channel: ChannelName(),
    configured: z.boolean().describe("A token is set and the channel is enabled"),
    running: z.boolean(),
    connected: z.boolean(),
    accountId: z.string().optional().describe("The bot's own id on the platform"),
    accountName: z.string().optional(),
    lastInboundAt: z.number().optional(),
    lastOutboundAt: z.number().optional(),
    lastError: z.string().optional(),
    lastErrorAt: z.number().optional(),
    reconnects: z.number(),
    outbox: z.object({ pending: z.number(), failed: z.number(), sent: z.number() }).describe("Replies waiting, given up, delivered"),
  }),
)

export const PairingRequest = lazy(() =>
  z.object({
    channel: z.string(),
    code: z.string(),
    senderId: z.string(),
    senderName: z.string().optional(),
    chatId: z.string(),
    createdAt: z.number(),
    expiresAt: z.number(),
  }),
)

export const send = method(
  "send",
  "operator.write",
  () =>
    z.strictObject({
      to: z.string().min(1).describe("Chat id on the channel"),
      message: z.string().min(1).max(100_000),
      channel: ChannelName().optional().describe("Default: the only configured channel"),
      accountId: z.string().optional(),
      threadId: z.union([z.string(), z.number()]).optional(),
      replyToId: z.string().optional(),
      sessionKey: z.string().optional(),
      idempotencyKey: IdempotencyKey(),
    }),
  () =>
    z.object({
      runId: z.string().describe("The idempotency key"),
      channel: ChannelName(),
      to: z.string(),
      status: z.enum(["sent", "queued", "failed"]).describe("queued: the channel is not connected or retrying; it is delivered when it can be"),
      messageId: z.string().optional().describe("The platform's id of the (first) message sent"),
      chunks: z.number().describe("Messages the text was split into"),
      error: z.string().optional(),
    }),
)

export const channelsStatus = method(
  "channels.status",
  "operator.read",
  () => z.object({ probe: z.boolean().optional() }).loose().optional().default({}),
  () => z.object({ ts: z.number(), channelOrder: z.array(ChannelName()), channels: z.array(ChannelStatusEntry()) }),
)

const channelParam = () => z.strictObject({ channel: ChannelName() })
const channelResult = () => z.object({ ok: z.literal(true), channel: ChannelName(), status: ChannelStatusEntry() })

export const channelsStart = method("channels.start", "operator.admin", channelParam, channelResult)
export const channelsStop = method("channels.stop", "operator.admin", channelParam, channelResult)
export const channelsLogout = method("channels.logout", "operator.admin", channelParam, channelResult)

export const channelsPairingList = method(
  "channels.pairing.list",
  "operator.pairing",
  () => z.strictObject({ channel: ChannelName().optional() }).optional().default({}),
  () => z.object({ requests: z.array(PairingRequest()) }),
)

const pairingDecision = () => z.strictObject({ channel: ChannelName(), code: z.string().min(4).max(16) })
export const channelsPairingApprove = method("channels.pairing.approve", "operator.pairing", pairingDecision, () =>
  z.object({ ok: z.literal(true), channel: ChannelName(), code: z.string(), senderId: z.string(), senderName: z.string().optional() }),
)
export const channelsPairingDismiss = method("channels.pairing.dismiss", "operator.pairing", pairingDecision, () =>
  z.object({ ok: z.literal(true), channel: ChannelName(), code: z.string(), senderId: z.string() }),
)
