/**
 * Discord through discord.js: DMs, guild channels and threads, with only the intents that needs (guilds, guild and
 * direct messages, message content). discord.js keeps the gateway session itself (heartbeats, RESUME after a drop,
 * a fresh IDENTIFY after an invalid session) and waits out REST rate limits. A message's handler returns only after
 * the gateway stored it. Imported only when a Discord token is configured.
 */
import { createWriteStream } from "node:fs"
import { join } from "node:path"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { ChannelType, Client, DiscordAPIError, Events, GatewayIntentBits, type Message, Partials } from "discord.js"
import type { ChannelAdapter, ChannelContext, ChannelHealth, InboundAttachment, InboundMessage, OutboundTarget, SendFailure } from "../types.ts"

export interface DiscordOptions {
  token: string
  apiBase: string
}

const MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024

export class DiscordAdapter implements ChannelAdapter {
  readonly id = "discord" as const
  readonly maxMessageChars = 2000
  private client: Client
  private ctx?: ChannelContext
  private state: Omit<ChannelHealth, "channel" | "configured"> = { running: false, connected: false, reconnects: 0 }

  constructor(private opts: DiscordOptions) {
    const api = opts.apiBase.replace(/\/+$/, "")
    this.client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages, GatewayIntentBits.MessageContent],
      // DM channels are not cached until used: without this partial, a first DM would never arrive.
      partials: [Partials.Channel],
      rest: { api },
    })
  }

  async start(ctx: ChannelContext): Promise<void> {
    this.ctx = ctx
    const c = this.client
    c.on(Events.MessageCreate, (m) => void this.onMessage(m))
    c.on(Events.ShardDisconnect, () => {
      this.state.connected = false
    })
    c.on(Events.ShardReconnecting, () => {
      this.state.reconnects++
    })
    c.on(Events.ShardResume, () => {
      this.state.connected = true
    })
    c.on(Events.ShardReady, () => {
      this.state.connected = true
    })
    c.on(Events.Error, (err) => this.noteError(err))
    const ready = new Promise<void>((resolve) => c.once(Events.ClientReady, () => resolve()))
    await c.login(this.opts.token)
    await ready
    this.state.running = true
    this.state.connected = true
    this.state.accountId = c.user?.id
    this.state.accountName = c.user?.tag
  }

  async stop(): Promise<void> {
    this.state.running = false
    this.state.connected = false
    await this.client.destroy()
  }

  health(): ChannelHealth {
    return { channel: "discord", configured: true, ...this.state }
  }

  private async onMessage(m: Message): Promise<void> {
    if (m.author.bot || !this.ctx) return
    try {
      const inbound = await this.normalise(m)
      if (!inbound) return
      this.state.lastInboundAt = Date.now()
      await this.ctx.receive(inbound)
    } catch (err) {
      this.noteError(err)
      this.ctx.log.error(`could not take message ${m.id}: ${(err as Error)?.message ?? String(err)}`)
    }
  }

  private async normalise(m: Message): Promise<InboundMessage | undefined> {
    const me = this.client.user
    if (!me) return undefined
    const ch = m.channel
    const isDm = ch.type === ChannelType.DM
    const isThread = ch.isThread()
    const attachments = await this.attachments(m)
    const text = m.content.replace(new RegExp(`<@!?${me.id}>`, "g"), "").trim()
    if (!text && attachments.length === 0) return undefined
    const ref = m.reference?.messageId
    const replied = ref ? await m.fetchReference().catch(() => undefined) : undefined
    return {
      channel: "discord",
      accountId: me.id,
      // A thread's parent channel is what groups.allow names; the reply goes into the thread (threadId).
      chatId: isThread ? (ch.parentId ?? ch.id) : ch.id,
      chatType: isDm ? "direct" : "group",
      ...(m.guildId ? { guildId: m.guildId } : {}),
      senderId: m.author.id,
      senderName: m.member?.displayName ?? m.author.globalName ?? m.author.username,
      ...(isThread ? { threadId: ch.id } : {}),
      messageId: m.id,
      text,
      attachments,
      ...(ref ? { replyTo: { messageId: ref, text: replied?.content, senderId: replied?.author.id, isBot: replied?.author.id === me.id } } : {}),
      mentioned: m.mentions.users.has(me.id) || replied?.author.id === me.id,
      receivedAt: Date.now(),
    }
  }

  private async attachments(m: Message): Promise<InboundAttachment[]> {
    const out: InboundAttachment[] = []
    for (const a of m.attachments.values()) {
      if (a.size > MAX_DOWNLOAD_BYTES) continue
      const res = await fetch(a.url, { signal: AbortSignal.timeout(60_000) })
      if (!res.ok || !res.body) throw new Error(`downloading attachment ${a.name} failed: HTTP ${res.status}`)
      const path = join(this.ctx!.downloadsDir, `${m.channelId}-${m.id}-${a.name.replace(/[^\w.-]+/g, "_")}`)
      await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream), createWriteStream(path, { mode: 0o600 }))
      const kind = a.contentType?.startsWith("image/")
        ? "image"
        : a.contentType?.startsWith("audio/")
          ? "audio"
          : a.contentType?.startsWith("video/")
            ? "video"
            : "document"
      out.push({ kind, path, name: a.name, ...(a.contentType ? { mimeType: a.contentType } : {}), size: a.size })
    }
    return out
  }

  private async textChannel(target: OutboundTarget) {
    const ch = await this.client.channels.fetch(target.threadId ?? target.to)
    if (!ch?.isSendable()) throw new Error(`cannot send to Discord channel ${target.threadId ?? target.to}`)
    return ch
  }

  async sendText(target: OutboundTarget, text: string): Promise<{ messageId: string }> {
    const ch = await this.textChannel(target)
    const sent = await ch.send({
      content: text,
      ...(target.replyTo ? { reply: { messageReference: target.replyTo, failIfNotExists: false } } : {}),
      // A reply must not ping @everyone or roles because the model wrote them.
      allowedMentions: { parse: ["users"], repliedUser: false },
    })
    this.state.lastOutboundAt = Date.now()
    return { messageId: sent.id }
  }

  async sendFile(target: OutboundTarget, path: string, caption?: string): Promise<{ messageId: string }> {
    const ch = await this.textChannel(target)
    const sent = await ch.send({ ...(caption ? { content: caption } : {}), files: [path] })
    this.state.lastOutboundAt = Date.now()
    return { messageId: sent.id }
  }

  async typing(target: OutboundTarget): Promise<void> {
    const ch = await this.textChannel(target)
    if ("sendTyping" in ch) await ch.sendTyping()
  }

  classifyError(err: unknown): SendFailure {
    this.noteError(err)
    if (err instanceof DiscordAPIError) {
      const status = err.status
      if (status === 429 || status >= 500) return { permanent: false, message: `${status} ${err.message}` }
      return { permanent: true, message: `${status} ${err.message}` }
    }
    return { permanent: false, message: (err as Error)?.message ?? String(err) }
  }

  private noteError(err: unknown): void {
    this.state.lastError = (err as Error)?.message ?? String(err)
    this.state.lastErrorAt = Date.now()
  }
}
