/**
 * The channel interface: what a chat platform adapter (Telegram, Discord) hands the gateway, and what the gateway asks
 * of it. Adapters only translate; access policy, routing, the outbox and retries live in the channel core.
 */
import type { Logger } from "../util/log.ts"

export type ChannelId = "telegram" | "discord"
export const CHANNEL_IDS: readonly ChannelId[] = ["telegram", "discord"]

export type ChatType = "direct" | "group" | "channel"

/** A file that came with a message, already downloaded into the state home. */
export interface InboundAttachment {
  kind: "image" | "document" | "audio" | "video" | "other"
  path: string
  name?: string
  mimeType?: string
  size?: number
}

/** One message from a chat platform, normalised. */
export interface InboundMessage {
  channel: ChannelId
  /** The bot account that received it (its own id on the platform). */
  accountId: string
  chatId: string
  chatType: ChatType
  /** The server (Discord guild) the chat belongs to: groups.allow may name it instead of each channel. */
  guildId?: string
  senderId: string
  senderName?: string
  /** Forum topic (Telegram) or thread (Discord). */
  threadId?: string
  messageId: string
  text: string
  attachments: InboundAttachment[]
  /** The message this one replies to, when it does. */
  replyTo?: { messageId: string; text?: string; senderId?: string; isBot?: boolean }
  /** It mentions the bot (or replies to the bot), which is what group mention gating asks. */
  mentioned: boolean
  receivedAt: number
}

/** Where an outbound message goes on a platform. */
export interface OutboundTarget {
  to: string
  threadId?: string
  replyTo?: string
}

export interface ChannelHealth {
  channel: ChannelId
  configured: boolean
  running: boolean
  connected: boolean
  accountId?: string
  accountName?: string
  lastInboundAt?: number
  lastOutboundAt?: number
  lastError?: string
  lastErrorAt?: number
  reconnects: number
}

/** A send the platform refused for good (no retry helps: bad chat id, blocked by the user) vs. a passing failure. */
export interface SendFailure {
  permanent: boolean
  /** Wait this long before the next try (the platform's retry_after), when it said. */
  retryAfterMs?: number
  message: string
}

/** What the core gives an adapter. */
export interface ChannelContext {
  /**
   * Hands an inbound message to the gateway. Resolves once it is stored (or deliberately dropped by policy): only
   * then may the adapter acknowledge it to the platform (Telegram's offset), so a crash never loses it.
   */
  receive(msg: InboundMessage): Promise<void>
  /** A place in the state home for downloaded attachments. */
  downloadsDir: string
  log: Logger
}

export interface ChannelAdapter {
  readonly id: ChannelId
  /** Longest text one platform message may carry. */
  readonly maxMessageChars: number
  /** Connects and starts receiving; resolves once the bot knows who it is (or throws why it cannot). */
  start(ctx: ChannelContext): Promise<void>
  stop(): Promise<void>
  health(): ChannelHealth
  /** Sends one chunk of text (Markdown as the model writes it; the adapter formats it for the platform). */
  sendText(target: OutboundTarget, text: string): Promise<{ messageId: string }>
  /** Replaces the text of a message the bot sent (a streamed reply's preview). */
  editText?(target: OutboundTarget, messageId: string, text: string): Promise<void>
  /** Sets the bot's reaction (one emoji) on a message: the acknowledgement that a message was taken. */
  react?(target: OutboundTarget, messageId: string, emoji: string): Promise<void>
  /** Sends a file from disk. */
  sendFile?(target: OutboundTarget, path: string, caption?: string): Promise<{ messageId: string }>
  /** Shows "typing…" for a while (platforms expire it after a few seconds). */
  typing?(target: OutboundTarget): Promise<void>
  /** Webhook mode: one update POSTed by the platform; false when its secret does not match. */
  handleWebhook?(update: unknown, secret: string | undefined): Promise<boolean>
  /** Turns a thrown send error into retry advice. */
  classifyError(err: unknown): SendFailure
}
