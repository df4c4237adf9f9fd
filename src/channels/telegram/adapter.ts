/**
 * Telegram through grammY. Long polling is our own loop around getUpdates rather than bot.start(), because delivery
 * guarantees depend on it: an update's offset is confirmed only after the gateway stored its message, a stalled poll
 * is cut off and restarted, and a 409 (another poller), a 429 or a lost network backs off and retries instead of
 * stopping the bot. Imported only when a Telegram token is configured.
 */
import { timingSafeEqual } from "node:crypto"
import { createWriteStream } from "node:fs"
import { join } from "node:path"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { Bot, GrammyError, HttpError, InputFile } from "grammy"
import type { Message, Update } from "grammy/types"
import { sleep } from "../../util/timers.ts"
import type { ChannelAdapter, ChannelContext, ChannelHealth, InboundAttachment, InboundMessage, OutboundTarget, SendFailure } from "../types.ts"
import { markdownToTelegramHtml } from "./format.ts"

export interface TelegramOptions {
  token: string
  apiRoot: string
  pollTimeoutSeconds: number
  /** Webhook mode: Telegram POSTs updates to this https URL (the gateway's /telegram/webhook) instead of polling. */
  webhook?: { url: string; secret: string }
}

/** Backoff after failed polls (network, 5xx, 409 conflict), capped. */
const POLL_BACKOFF_MS = [500, 1000, 2000, 5000, 10_000, 30_000]
/** A poll that has not answered this long after its own timeout is stalled: cut it off and poll again. */
const stallGraceMs = (timeoutSeconds: number) => 5000 + timeoutSeconds * 250
/** The Bot API serves files up to 20 MB; bigger ones are skipped (the text still arrives). */
const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

export class TelegramAdapter implements ChannelAdapter {
  readonly id = "telegram" as const
  readonly maxMessageChars = 4096
  private bot: Bot
  private ctx?: ChannelContext
  private abort = new AbortController()
  private loop?: Promise<void>
  private offset = 0
  private state: Omit<ChannelHealth, "channel" | "configured"> = { running: false, connected: false, reconnects: 0 }

  constructor(private opts: TelegramOptions) {
    this.bot = new Bot(opts.token, { client: { apiRoot: opts.apiRoot.replace(/\/+$/, "") } })
  }

  async start(ctx: ChannelContext): Promise<void> {
    this.ctx = ctx
    await this.bot.init()
    this.state.accountId = String(this.bot.botInfo.id)
    this.state.accountName = `@${this.bot.botInfo.username}`
    if (this.opts.webhook) {
      // Telegram delivers to the gateway's own port; the secret proves a POST came from it.
      await this.bot.api.setWebhook(this.opts.webhook.url, { secret_token: this.opts.webhook.secret, allowed_updates: ["message"] })
      this.state.running = true
      this.state.connected = true
      return
    }
    // getUpdates fails with 409 while a webhook is set.
    await this.bot.api.deleteWebhook({ drop_pending_updates: false })
    // The Bot API answered twice: connected until a poll says otherwise.
    this.state.running = true
    this.state.connected = true
    this.loop = this.poll()
  }

  /**
   * One webhook call: false when the secret does not match (the caller answers 401). Resolves once the update is
   * stored, so Telegram's retry on a failed answer is the redelivery (and the idempotency key makes it harmless).
   */
  async handleWebhook(update: Update, secret: string | undefined): Promise<boolean> {
    const expected = this.opts.webhook?.secret
    if (!expected || !secret || !timingSafeEqualText(secret, expected)) return false
    await this.handle(update)
    return true
  }

  async stop(): Promise<void> {
    this.state.running = false
    this.abort.abort()
    await this.loop?.catch(() => {})
  }

  health(): ChannelHealth {
    return { channel: "telegram", configured: true, ...this.state }
  }

  private async poll(): Promise<void> {
    const log = this.ctx!.log
    let failures = 0
    while (!this.abort.signal.aborted) {
      const timeout = this.opts.pollTimeoutSeconds
      const call = AbortSignal.any([this.abort.signal, AbortSignal.timeout(timeout * 1000 + stallGraceMs(timeout))])
      let updates: Update[]
      try {
        updates = await this.bot.api.getUpdates({ offset: this.offset, timeout, allowed_updates: ["message"] }, call as Parameters<Bot["api"]["getUpdates"]>[1])
      } catch (err) {
        if (this.abort.signal.aborted) return
        failures++
        this.noteError(err)
        if (this.state.connected) this.state.reconnects++
        this.state.connected = false
        const retryAfter = err instanceof GrammyError ? (err.parameters.retry_after ?? 0) * 1000 : 0
        const wait = Math.max(retryAfter, POLL_BACKOFF_MS[Math.min(failures - 1, POLL_BACKOFF_MS.length - 1)]!)
        log.warn(`getUpdates failed (${describe(err)}); polling again in ${wait} ms`)
        await sleep(wait, this.abort.signal)
        continue
      }
      failures = 0
      this.state.connected = true
      for (const update of updates) {
        if (this.abort.signal.aborted) return
        try {
          await this.handle(update)
        } catch (err) {
          // The gateway could not store it (database error): do not confirm it; poll again from here after a pause.
          log.error(`could not take update ${update.update_id}: ${describe(err)}`)
          this.noteError(err)
          await sleep(1000, this.abort.signal)
          break
        }
        // Confirmed with the next getUpdates call: only updates the gateway has stored.
        this.offset = update.update_id + 1
      }
    }
  }

  private async handle(update: Update): Promise<void> {
    // Edits are not new messages: the agent answered the original (and its id is already taken).
    const message = update.message
    if (!message?.from || message.from.is_bot) return
    const inbound = await this.normalise(message)
    if (!inbound) return
    this.state.lastInboundAt = Date.now()
    await this.ctx!.receive(inbound)
  }

  private async normalise(m: Message): Promise<InboundMessage | undefined> {
    const me = this.bot.botInfo
    const text = m.text ?? m.caption ?? ""
    const entities = m.entities ?? m.caption_entities ?? []
    const mentionedByName = entities.some(
      (e) => e.type === "mention" && text.slice(e.offset, e.offset + e.length).toLowerCase() === `@${me.username.toLowerCase()}`,
    )
    const mentionedById = entities.some((e) => e.type === "text_mention" && e.user?.id === me.id)
    const repliesToBot = m.reply_to_message?.from?.id === me.id
    const attachments = await this.attachments(m)
    if (!text && attachments.length === 0) return undefined
    const from = m.from!
    return {
      channel: "telegram",
      accountId: String(me.id),
      chatId: String(m.chat.id),
      chatType: m.chat.type === "private" ? "direct" : m.chat.type === "channel" ? "channel" : "group",
      senderId: String(from.id),
      senderName: [from.first_name, from.last_name].filter(Boolean).join(" ") || from.username,
      ...(m.is_topic_message && m.message_thread_id !== undefined ? { threadId: String(m.message_thread_id) } : {}),
      messageId: String(m.message_id),
      text,
      attachments,
      ...(m.reply_to_message
        ? {
            replyTo: {
              messageId: String(m.reply_to_message.message_id),
              text: m.reply_to_message.text ?? m.reply_to_message.caption,
              senderId: m.reply_to_message.from ? String(m.reply_to_message.from.id) : undefined,
              isBot: m.reply_to_message.from?.id === me.id,
            },
          }
        : {}),
      mentioned: mentionedByName || mentionedById || repliesToBot,
      receivedAt: Date.now(),
    }
  }

  /** Photos (the largest size) and documents, downloaded into the state home. */
  private async attachments(m: Message): Promise<InboundAttachment[]> {
    const wanted: { fileId: string; kind: InboundAttachment["kind"]; name?: string; mimeType?: string; size?: number }[] = []
    const photo = m.photo?.at(-1)
    if (photo) wanted.push({ fileId: photo.file_id, kind: "image", size: photo.file_size })
    if (m.document) {
      wanted.push({ fileId: m.document.file_id, kind: "document", name: m.document.file_name, mimeType: m.document.mime_type, size: m.document.file_size })
    }
    const out: InboundAttachment[] = []
    for (const w of wanted) {
      if (w.size && w.size > MAX_DOWNLOAD_BYTES) continue
      const file = await this.bot.api.getFile(w.fileId)
      if (!file.file_path) continue
      const url = `${this.opts.apiRoot.replace(/\/+$/, "")}/file/bot${this.opts.token}/${file.file_path}`
      const res = await fetch(url, { signal: AbortSignal.timeout(60_000) })
      if (!res.ok || !res.body) throw new Error(`downloading ${file.file_path} failed: HTTP ${res.status}`)
      const base = (w.name ?? file.file_path.split("/").at(-1) ?? "file").replace(/[^\w.-]+/g, "_")
      const path = join(this.ctx!.downloadsDir, `${m.chat.id}-${m.message_id}-${base}`)
      await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream), createWriteStream(path, { mode: 0o600 }))
      out.push({
        kind: w.kind,
        path,
        ...(w.name ? { name: w.name } : {}),
        ...(w.mimeType ? { mimeType: w.mimeType } : {}),
        ...(w.size ? { size: w.size } : {}),
      })
    }
    return out
  }

  async sendText(target: OutboundTarget, text: string): Promise<{ messageId: string }> {
    const common = {
      ...(target.threadId ? { message_thread_id: Number(target.threadId) } : {}),
      ...(target.replyTo ? { reply_parameters: { message_id: Number(target.replyTo), allow_sending_without_reply: true } } : {}),
    }
    let sent: Message.TextMessage
    try {
      sent = await this.bot.api.sendMessage(target.to, markdownToTelegramHtml(text), { ...common, parse_mode: "HTML" })
    } catch (err) {
      // Telegram's HTML parser rejected it: the words still matter more than the formatting.
      if (!(err instanceof GrammyError && err.error_code === 400 && /can't parse entities|unsupported start tag|can't find end tag/i.test(err.description)))
        throw err
      sent = await this.bot.api.sendMessage(target.to, text, common)
    }
    this.state.lastOutboundAt = Date.now()
    return { messageId: String(sent.message_id) }
  }

  async editText(target: OutboundTarget, messageId: string, text: string): Promise<void> {
    try {
      await this.bot.api.editMessageText(target.to, Number(messageId), markdownToTelegramHtml(text), { parse_mode: "HTML" })
    } catch (err) {
      if (err instanceof GrammyError && err.error_code === 400 && /message is not modified/i.test(err.description)) return
      if (!(err instanceof GrammyError && err.error_code === 400 && /can't parse entities|unsupported start tag|can't find end tag/i.test(err.description)))
        throw err
      await this.bot.api.editMessageText(target.to, Number(messageId), text)
    }
    this.state.lastOutboundAt = Date.now()
  }

  async sendFile(target: OutboundTarget, path: string, caption?: string): Promise<{ messageId: string }> {
    const sent = await this.bot.api.sendDocument(target.to, new InputFile(path), {
      ...(target.threadId ? { message_thread_id: Number(target.threadId) } : {}),
      ...(target.replyTo ? { reply_parameters: { message_id: Number(target.replyTo), allow_sending_without_reply: true } } : {}),
      ...(caption ? { caption } : {}),
    })
    this.state.lastOutboundAt = Date.now()
    return { messageId: String(sent.message_id) }
  }

  async react(target: OutboundTarget, messageId: string, emoji: string): Promise<void> {
    await this.bot.api.setMessageReaction(target.to, Number(messageId), [{ type: "emoji", emoji: emoji as "👀" }])
  }

  async typing(target: OutboundTarget): Promise<void> {
    await this.bot.api.sendChatAction(target.to, "typing", target.threadId ? { message_thread_id: Number(target.threadId) } : {})
  }

  classifyError(err: unknown): SendFailure {
    this.noteError(err)
    if (err instanceof GrammyError) {
      if (err.error_code === 429) return { permanent: false, retryAfterMs: (err.parameters.retry_after ?? 1) * 1000, message: err.description }
      if (err.error_code >= 500) return { permanent: false, message: err.description }
      // 400 (chat not found, message too long), 401, 403 (blocked by the user): trying again cannot help.
      return { permanent: true, message: `${err.error_code} ${err.description}` }
    }
    return { permanent: false, message: describe(err) }
  }

  private noteError(err: unknown): void {
    this.state.lastError = describe(err)
    this.state.lastErrorAt = Date.now()
  }
}

function timingSafeEqualText(a: string, b: string): boolean {
  const x = new Bun.CryptoHasher("sha256").update(a).digest()
  const y = new Bun.CryptoHasher("sha256").update(b).digest()
  return timingSafeEqual(x, y)
}

function describe(err: unknown): string {
  if (err instanceof GrammyError) return `${err.error_code} ${err.description}`
  if (err instanceof HttpError) return `network: ${(err.error as Error)?.message ?? String(err.error)}`
  return (err as Error)?.message ?? String(err)
}
