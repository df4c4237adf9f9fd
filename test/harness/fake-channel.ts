/**
 * A ChannelAdapter for in-process tests of the channel core (access, routing, outbox): a test pushes inbound
 * messages as a platform would and sees what the core sends. The real adapters are tested against the loopback
 * Telegram and Discord servers in test/fakes/.
 */
import type { ChannelAdapter, ChannelContext, ChannelHealth, ChannelId, InboundMessage, OutboundTarget, SendFailure } from "../../src/channels/types.ts"

export interface SentText {
  target: OutboundTarget
  text: string
  at: number
  messageId: string
}

export interface EditedText {
  target: OutboundTarget
  messageId: string
  text: string
  at: number
}

export interface SentFile {
  target: OutboundTarget
  path: string
  caption?: string
  messageId: string
  at: number
}

export class FakeChannel implements ChannelAdapter {
  readonly maxMessageChars: number
  ctx?: ChannelContext
  readonly sent: SentText[] = []
  readonly typings: OutboundTarget[] = []
  readonly edits: EditedText[] = []
  readonly reactions: { target: OutboundTarget; messageId: string; emoji: string }[] = []
  readonly files: SentFile[] = []
  /** Failures to throw on the next edits, in order. */
  editFailures: SendFailure[] = []
  /** Failures to throw on the next sends, in order. */
  failures: SendFailure[] = []
  private nextId = 1000
  private waiters: (() => void)[] = []

  constructor(
    readonly id: ChannelId,
    opts: { maxMessageChars?: number } = {},
  ) {
    this.maxMessageChars = opts.maxMessageChars ?? 4096
  }

  async start(ctx: ChannelContext): Promise<void> {
    this.ctx = ctx
  }

  async stop(): Promise<void> {
    this.ctx = undefined
  }

  health(): ChannelHealth {
    return { channel: this.id, configured: true, running: !!this.ctx, connected: !!this.ctx, accountId: "bot-1", accountName: "@fakebot", reconnects: 0 }
  }

  /** Delivers a message as the platform would; resolves when the core has stored (or dropped) it. */
  async push(m: Partial<InboundMessage> & { text: string; senderId: string; chatId?: string; messageId?: string }): Promise<void> {
    if (!this.ctx) throw new Error("channel not started")
    await this.ctx.receive({
      channel: this.id,
      accountId: "bot-1",
      chatId: m.chatId ?? m.senderId,
      chatType: "direct",
      messageId: m.messageId ?? String(this.nextId++),
      attachments: [],
      mentioned: false,
      receivedAt: Date.now(),
      ...m,
    })
  }

  async sendText(target: OutboundTarget, text: string): Promise<{ messageId: string }> {
    const failure = this.failures.shift()
    if (failure) throw Object.assign(new Error(failure.message), { failure })
    const messageId = String(this.nextId++)
    this.sent.push({ target, text, at: Date.now(), messageId })
    for (const w of this.waiters.splice(0)) w()
    return { messageId }
  }

  async editText(target: OutboundTarget, messageId: string, text: string): Promise<void> {
    const failure = this.editFailures.shift()
    if (failure) throw Object.assign(new Error(failure.message), { failure })
    this.edits.push({ target, messageId, text, at: Date.now() })
    for (const w of this.waiters.splice(0)) w()
  }

  async sendFile(target: OutboundTarget, path: string, caption?: string): Promise<{ messageId: string }> {
    const failure = this.failures.shift()
    if (failure) throw Object.assign(new Error(failure.message), { failure })
    const messageId = String(this.nextId++)
    this.files.push({ target, path, ...(caption ? { caption } : {}), messageId, at: Date.now() })
    for (const w of this.waiters.splice(0)) w()
    return { messageId }
  }

  async react(target: OutboundTarget, messageId: string, emoji: string): Promise<void> {
    this.reactions.push({ target, messageId, emoji })
  }

  async typing(target: OutboundTarget): Promise<void> {
    this.typings.push(target)
  }

  classifyError(err: unknown): SendFailure {
    return (err as { failure?: SendFailure }).failure ?? { permanent: false, message: String(err) }
  }

  /** Resolves once `n` texts were sent (or rejects after the timeout). */
  async waitForSent(n: number, timeoutMs = 5000): Promise<SentText[]> {
    const deadline = Date.now() + timeoutMs
    while (this.sent.length < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} sent message(s), got ${this.sent.length}: ${JSON.stringify(this.sent.map((s) => s.text))}`)
      await new Promise<void>((r) => {
        this.waiters.push(r)
        setTimeout(r, 50)
      })
    }
    return this.sent
  }
}
