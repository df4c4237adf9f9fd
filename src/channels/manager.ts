/**
 * The channel core: starts the configured chat bots (their libraries are imported only when configured), turns
 * their inbound messages into router inbounds after the access check, and delivers replies through the outbox.
 *
 * Inbound: an adapter's receive() resolves only after the router stored the message (or policy dropped it), so the
 * platform is acknowledged after the fact; a redelivered update has the same idempotency key and is not run twice.
 * Outbound: router.reply.ready for a channel target becomes outbox rows (one per chunk, keyed by run, target and
 * chunk), sent in order with retries and backoff; a message that keeps failing ends as `failed` with an event.
 * Streaming (Telegram, channels.telegram.streaming "edit"): a run's streamed text shows in a preview message, edited
 * at most every 1.5 s; the reply's first chunk is an "edit" row naming that preview, sent as a new message when the
 * preview is not this process's or the edit fails. Files (the message tool) are "file" rows whose body is the path.
 */
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import type { Bus } from "../bus/index.ts"
import type { Config } from "../config/schema.ts"
import { RunRejected } from "../agent/errors.ts"
import { RunProgress } from "../agent/events.ts"
import { IdempotencyConflict, type Router } from "../router/index.ts"
import { ReplyReady, RunFinished } from "../router/events.ts"
import type { DeliveryTarget, SessionSpec } from "../router/inbound.ts"
import type { ChannelRepo } from "../store/channels.ts"
import { importEntry } from "../util/embedded.ts"
import type { Logger } from "../util/log.ts"
import { type AccessConfig, decideAccess, pairingReply } from "./access.ts"
import { chunkText } from "./chunk.ts"
import { DeliveryFailed, PairingRequested } from "./events.ts"
import { CHANNEL_IDS, type ChannelAdapter, type ChannelHealth, type ChannelId, type InboundMessage, type OutboundTarget } from "./types.ts"

export interface ChannelManagerDeps {
  config(): Config
  repo: ChannelRepo
  router(): Router
  bus: Bus
  log: Logger
  /** The state home: attachments are downloaded under it. */
  home: string
  env: NodeJS.ProcessEnv
  /** Builds an adapter (tests may inject); default: the real library, imported on demand. */
  createAdapter?(id: ChannelId, token: string, cfg: Config): Promise<ChannelAdapter>
}

/** Backoff between delivery attempts, and how many attempts before a message is given up as failed. */
const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000, 60_000]
const MAX_ATTEMPTS = 8
/** Platforms drop "typing…" after ~5 s; refresh it while a run is working on a chat's message. */
const TYPING_EVERY_MS = 4000
const TYPING_MAX_MS = 120_000
/** Streaming by editing a preview: the first preview after this long, then at most one edit per EDIT_EVERY_MS (Telegram rate-limits edits). */
const PREVIEW_AFTER_MS = 1000
const EDIT_EVERY_MS = 1500
/** The acknowledgement reaction on an accepted message (channels.telegram.ackReaction). */
const ACK_REACTION = "👀"
/** A file's caption longer than this goes as a text message of its own (Telegram's caption limit). */
const MAX_CAPTION_CHARS = 1024

/** A run whose reply streams into a chat as a preview message that is edited as text arrives. */
interface Stream {
  channel: ChannelId
  target: OutboundTarget
  startedAt: number
  /** The text so far (the current step's). */
  text: string
  /** What the preview shows now, and its message id once sent. */
  shown?: string
  previewId?: string
  lastAt: number
  timer?: Timer
  /** A preview send or edit on its way: the final reply waits for it (it may bring the preview's id). */
  inflight?: Promise<void>
  finished: boolean
}

/** Embedded paths of the adapters in the compiled binary (separate entry points, see util/embedded.ts). */
declare const GATEWAY_TELEGRAM_ENTRY: string | undefined
declare const GATEWAY_DISCORD_ENTRY: string | undefined

async function defaultAdapter(id: ChannelId, token: string, cfg: Config): Promise<ChannelAdapter> {
  if (id === "telegram") {
    const entry = typeof GATEWAY_TELEGRAM_ENTRY === "string" ? GATEWAY_TELEGRAM_ENTRY : undefined
    const { TelegramAdapter } = await importEntry<typeof import("./telegram/adapter.ts")>(entry, new URL("./telegram/adapter.ts", import.meta.url))
    const tg = cfg.channels.telegram
    const webhook =
      tg.mode === "webhook" && tg.webhookUrl ? { url: tg.webhookUrl, secret: tg.webhookSecret ?? randomBytes(24).toString("base64url") } : undefined
    return new TelegramAdapter({ token, apiRoot: tg.apiRoot, pollTimeoutSeconds: tg.pollTimeoutSeconds, ...(webhook ? { webhook } : {}) })
  }
  const entry = typeof GATEWAY_DISCORD_ENTRY === "string" ? GATEWAY_DISCORD_ENTRY : undefined
  const { DiscordAdapter } = await importEntry<typeof import("./discord/adapter.ts")>(entry, new URL("./discord/adapter.ts", import.meta.url))
  return new DiscordAdapter({ token, apiBase: cfg.channels.discord.apiBase })
}

interface Running {
  adapter: ChannelAdapter
  timer?: Timer
  draining: boolean
  stopped: boolean
}

export class ChannelManager {
  private running = new Map<ChannelId, Running>()
  private errors = new Map<ChannelId, { message: string; at: number }>()
  private typing = new Map<string, Timer>()
  private streams = new Map<string, Stream>()
  /** Previews this process sent: an "edit" row naming another (sent before a restart) goes out as a new message. */
  private previews = new Set<string>()
  private offs: (() => void)[] = []

  constructor(private deps: ChannelManagerDeps) {}

  /** The token for a channel: config first, then the environment. */
  tokenOf(id: ChannelId, cfg = this.deps.config()): string | undefined {
    if (id === "telegram") return cfg.channels.telegram.botToken ?? this.deps.env.TELEGRAM_BOT_TOKEN
    return cfg.channels.discord.token ?? this.deps.env.DISCORD_BOT_TOKEN
  }

  private enabled(id: ChannelId, cfg = this.deps.config()): boolean {
    return cfg.channels[id].enabled && !!this.tokenOf(id, cfg)
  }

  /** Starts every configured channel; one failing to start is reported, the others still run. */
  async start(): Promise<void> {
    const interrupted = this.deps.repo.requeueInterrupted()
    if (interrupted) this.deps.log.warn(`${interrupted} channel message(s) were being sent when the gateway stopped; sending them again`)
    this.offs.push(this.deps.bus.subscribe(ReplyReady, (r) => this.queueReply(r.runId, r.target, r.text)))
    this.offs.push(
      this.deps.bus.subscribe(RunFinished, (r) => {
        this.stopTypingFor(r.runId)
        this.endStream(r.runId)
      }),
    )
    this.offs.push(
      this.deps.bus.subscribe(RunProgress, (e) => {
        if (e.stream === "assistant") this.streamed(e.runId, e.data.text)
      }),
    )
    this.reconcile()
    await Promise.all(CHANNEL_IDS.filter((id) => this.enabled(id)).map((id) => this.startChannel(id).catch(() => {})))
  }

  async startChannel(id: ChannelId): Promise<void> {
    if (this.running.has(id)) return
    const cfg = this.deps.config()
    const token = this.tokenOf(id, cfg)
    if (!token)
      throw new Error(
        `${id} has no token: set channels.${id}.${id === "telegram" ? "botToken" : "token"} or ${id === "telegram" ? "TELEGRAM_BOT_TOKEN" : "DISCORD_BOT_TOKEN"}`,
      )
    const log = this.deps.log.child(id)
    try {
      const adapter = await (this.deps.createAdapter ?? defaultAdapter)(id, token, cfg)
      const run: Running = { adapter, draining: false, stopped: false }
      this.running.set(id, run)
      const downloadsDir = join(this.deps.home, "media", id)
      mkdirSync(downloadsDir, { recursive: true, mode: 0o700 })
      await adapter.start({ receive: (msg) => this.receive(msg), downloadsDir, log })
      this.errors.delete(id)
      const h = adapter.health()
      log.info(`${id} connected as ${h.accountName ?? h.accountId ?? "?"}`)
      this.kick(id)
    } catch (err) {
      this.running.delete(id)
      const message = (err as Error)?.message ?? String(err)
      this.errors.set(id, { message, at: Date.now() })
      log.error(`${id} could not start: ${message}`)
      throw err
    }
  }

  async stopChannel(id: ChannelId): Promise<void> {
    const run = this.running.get(id)
    if (!run) return
    run.stopped = true
    clearTimeout(run.timer)
    this.running.delete(id)
    await run.adapter.stop()
  }

  /** After a config change of the channel: stop it, and start it again when it is still enabled. */
  async restartChannel(id: ChannelId): Promise<void> {
    await this.stopChannel(id)
    if (this.enabled(id)) await this.startChannel(id).catch(() => {})
  }

  async stop(): Promise<void> {
    for (const off of this.offs.splice(0)) off()
    for (const t of this.typing.values()) clearInterval(t)
    this.typing.clear()
    for (const st of this.streams.values()) clearTimeout(st.timer)
    this.streams.clear()
    await Promise.all([...this.running.keys()].map((id) => this.stopChannel(id)))
  }

  status(): (ChannelHealth & { outbox: { pending: number; failed: number; sent: number } })[] {
    return CHANNEL_IDS.map((id) => {
      const run = this.running.get(id)
      const err = this.errors.get(id)
      const base: ChannelHealth = run
        ? run.adapter.health()
        : {
            channel: id,
            configured: this.enabled(id),
            running: false,
            connected: false,
            reconnects: 0,
            ...(err ? { lastError: err.message, lastErrorAt: err.at } : {}),
          }
      return { ...base, configured: this.enabled(id), outbox: this.deps.repo.counts(id) }
    })
  }

  /** A webhook POST for a channel: 404 when the channel is not running in webhook mode, 401 on a wrong secret. */
  async webhook(channel: ChannelId, update: unknown, secret: string | undefined): Promise<200 | 401 | 404> {
    const adapter = this.running.get(channel)?.adapter
    if (!adapter?.handleWebhook) return 404
    return (await adapter.handleWebhook(update, secret)) ? 200 : 401
  }

  /** The channel to use when a request names none: the only configured one. */
  defaultChannel(): ChannelId | undefined {
    const configured = CHANNEL_IDS.filter((id) => this.enabled(id))
    return configured.length === 1 ? configured[0] : undefined
  }

  /**
   * Sends a text to a chat (the `send` method, the agent's message tool): queued in the outbox under `key`. With a
   * file (an absolute path the caller vetted), the file goes as one "file" row (body = the path) keyed `:file`, the
   * text as its caption when it fits, else as text rows before it.
   */
  sendMessage(o: { channel: ChannelId; to: string; text: string; key: string; threadId?: string; replyTo?: string; accountId?: string; file?: string }): {
    keys: string[]
  } {
    const target: OutboundTarget = { to: o.to, ...(o.threadId ? { threadId: o.threadId } : {}), ...(o.replyTo ? { replyTo: o.replyTo } : {}) }
    if (o.file === undefined) {
      const chunks = this.queue(o.channel, `send:${o.key}`, undefined, o.accountId, target, o.text)
      return { keys: Array.from({ length: chunks.total }, (_, i) => `send:${o.key}:${i}`) }
    }
    const text = o.text.trim()
    const captioned = text.length <= MAX_CAPTION_CHARS
    const keys: string[] = []
    if (text && !captioned) {
      const chunks = this.queue(o.channel, `send:${o.key}`, undefined, o.accountId, target, text)
      for (let i = 0; i < chunks.total; i++) keys.push(`send:${o.key}:${i}`)
    }
    const fileKey = `send:${o.key}:file`
    this.deps.repo.enqueue([
      {
        key: fileKey,
        channel: o.channel,
        accountId: o.accountId,
        target: { ...target, ...(text && captioned ? { caption: text } : {}) },
        kind: "file",
        body: o.file,
      },
    ])
    this.kick(o.channel)
    return { keys: [fileKey, ...keys] }
  }

  /** Waits (bounded) until an outbox message was sent or given up; its row either way. */
  async waitDelivered(key: string, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const row = this.deps.repo.getByKey(key)
      if (!row || row.status === "sent" || row.status === "failed" || Date.now() >= deadline) return row
      await Bun.sleep(25)
    }
  }

  /** Chats the owner let in: approved or allow-listed senders and allowed groups (the agent's message tool). */
  canSendTo(channel: ChannelId, to: string): boolean {
    const cfg = this.access(channel)
    return cfg.allowFrom.includes(to) || cfg.groups.allow.includes(to) || this.deps.repo.isAllowed(channel, to)
  }

  /** The agent's view: configured channels, who may be messaged, and sending through the outbox. */
  messageSender() {
    return {
      channels: () => CHANNEL_IDS.filter((id) => this.enabled(id)),
      canSendTo: (channel: string, to: string) => isChannelId(channel) && this.canSendTo(channel, to),
      send: async (o: { channel: string; to: string; text: string; key: string; threadId?: string; file?: string }) => {
        if (!isChannelId(o.channel)) return { status: "failed", error: `unknown channel ${o.channel}` }
        const { keys } = this.sendMessage({ ...o, channel: o.channel })
        const row = await this.waitDelivered(keys[0]!, 10_000)
        return { status: row?.status === "sent" ? "sent" : row?.status === "failed" ? "failed" : "queued", ...(row?.lastError ? { error: row.lastError } : {}) }
      },
    }
  }

  pendingPairings(channel?: ChannelId) {
    return this.deps.repo.pending(channel)
  }

  /** Approves a pairing code: the sender may DM from now on, and is told so. */
  approvePairing(channel: ChannelId, code: string) {
    const row = this.deps.repo.decidePairing(code.toUpperCase(), "approved")
    if (!row || row.channel !== channel) return undefined
    this.queue(
      channel,
      `paired:${code}`,
      undefined,
      row.accountId,
      { to: row.chatId },
      "You are approved. Send your message again and the assistant will answer.",
    )
    return row
  }

  dismissPairing(channel: ChannelId, code: string) {
    const row = this.deps.repo.decidePairing(code.toUpperCase(), "dismissed")
    return row && row.channel === channel ? row : undefined
  }

  // ---- inbound ------------------------------------------------------------------------------------------------

  private access(id: ChannelId): AccessConfig {
    return this.deps.config().channels[id]
  }

  /** Stores (through the router) or deliberately drops one inbound message. */
  async receive(msg: InboundMessage): Promise<void> {
    const log = this.deps.log.child(msg.channel)
    const decision = decideAccess(msg, this.access(msg.channel), this.deps.repo)
    if (decision.action === "drop") {
      log.debug(`dropped a message from ${msg.senderId} in ${msg.chatId}: ${decision.reason}`)
      return
    }
    if (decision.action === "pair") {
      if (decision.fresh) {
        const row = this.deps.repo.getPairing(decision.code)
        log.info(`pairing requested by ${msg.senderName ?? msg.senderId} (${msg.senderId}): gateway pairing approve ${msg.channel} ${decision.code}`)
        this.deps.bus.publish(PairingRequested, {
          channel: msg.channel,
          code: decision.code,
          senderId: msg.senderId,
          ...(msg.senderName ? { senderName: msg.senderName } : {}),
          expiresAt: row?.expiresAt ?? Date.now(),
        })
      }
      // Keyed by the stranger's message: a redelivered update does not send the code twice.
      this.queue(
        msg.channel,
        `pair:${msg.channel}:${msg.chatId}:${msg.messageId}`,
        undefined,
        msg.accountId,
        { to: msg.chatId },
        pairingReply(msg.channel, decision.code),
      )
      return
    }
    const delivery: DeliveryTarget = {
      kind: "channel",
      channel: msg.channel,
      to: msg.chatId,
      accountId: msg.accountId,
      ...(msg.threadId ? { threadId: msg.threadId } : {}),
      replyTo: msg.messageId,
    }
    let accepted: ReturnType<Router["accept"]>
    try {
      accepted = this.deps.router().accept({
        origin: {
          door: "channel",
          channel: msg.channel,
          accountId: msg.accountId,
          chatId: msg.chatId,
          chatType: msg.chatType,
          senderId: msg.senderId,
          ...(msg.threadId ? { threadId: msg.threadId } : {}),
          messageId: msg.messageId,
        },
        session: this.sessionFor(msg),
        message: agentText(msg),
        // The platform's own ids make a redelivered update the same message: stored and run once.
        idempotencyKey: `${msg.channel}:${msg.accountId}:${msg.chatId}:${msg.messageId}`,
        delivery,
        ...(this.access(msg.channel).debounceMs ? { run: { debounceMs: this.access(msg.channel).debounceMs } } : {}),
      })
    } catch (err) {
      // Refusals are answered in the chat and the message counts as taken: a refused update must not block the
      // updates behind it (Telegram would redeliver it forever).
      if (RunRejected.isInstance(err)) {
        log.warn(`refused a message from ${msg.senderId}: ${err.message}`)
        this.queue(
          msg.channel,
          `refused:${msg.channel}:${msg.chatId}:${msg.messageId}`,
          undefined,
          msg.accountId,
          { to: msg.chatId, replyTo: msg.messageId },
          `Not now: ${err.message}`,
        )
        return
      }
      if (IdempotencyConflict.isInstance(err)) {
        log.warn(`ignored a changed copy of message ${msg.messageId} in ${msg.chatId}: ${err.message}`)
        return
      }
      throw err
    }
    if (accepted.state !== "duplicate") {
      const runId = accepted.carriedBy ?? accepted.runId
      const chat: OutboundTarget = { to: msg.chatId, ...(msg.threadId ? { threadId: msg.threadId } : {}) }
      this.startTyping(msg.channel, runId, chat)
      if (msg.channel === "telegram" && this.deps.config().channels.telegram.ackReaction) {
        const adapter = this.running.get(msg.channel)?.adapter
        // Best effort: a missing reaction loses nothing (the reply still comes).
        adapter
          ?.react?.(chat, msg.messageId, ACK_REACTION)
          .catch((err) => log.debug(`no ack reaction on ${msg.messageId}: ${adapter.classifyError(err).message}`))
      }
      if (this.streamsTo(msg.channel) && !this.streams.has(runId))
        this.streams.set(runId, {
          channel: msg.channel,
          target: { ...chat, replyTo: msg.messageId },
          startedAt: Date.now(),
          text: "",
          lastAt: 0,
          finished: false,
        })
    }
  }

  // ---- streaming previews -------------------------------------------------------------------------------------

  private streamsTo(channel: ChannelId): boolean {
    const adapter = this.running.get(channel)?.adapter
    return channel === "telegram" && this.deps.config().channels.telegram.streaming === "edit" && !!adapter?.editText
  }

  /** A run's streamed text grew: schedule the preview (first after ~1 s, then throttled edits). */
  private streamed(runId: string, text: string): void {
    const st = this.streams.get(runId)
    if (!st || st.finished) return
    st.text = text
    this.schedulePreview(runId, st)
  }

  private schedulePreview(runId: string, st: Stream): void {
    if (st.timer || st.inflight || st.finished || !st.text.trim() || st.text === st.shown) return
    const due = st.previewId === undefined ? st.startedAt + PREVIEW_AFTER_MS : st.lastAt + EDIT_EVERY_MS
    st.timer = setTimeout(
      () => {
        st.timer = undefined
        this.flushPreview(runId, st)
      },
      Math.max(0, due - Date.now()),
    )
  }

  private flushPreview(runId: string, st: Stream): void {
    const run = this.running.get(st.channel)
    if (st.finished || !run || run.stopped || !run.adapter.editText) return
    const max = run.adapter.maxMessageChars
    const text = st.text.length > max ? `${st.text.slice(0, max - 1)}…` : st.text
    const log = this.deps.log.child(st.channel)
    st.inflight = (async () => {
      try {
        if (st.previewId === undefined) {
          const { messageId } = await run.adapter.sendText(st.target, text)
          st.previewId = messageId
          this.previews.add(`${st.channel}:${messageId}`)
        } else await run.adapter.editText!(st.target, st.previewId, text)
        st.shown = text
      } catch (err) {
        // A preview is best effort: the final reply goes through the outbox either way.
        log.debug(`preview of run ${runId} not updated: ${run.adapter.classifyError(err).message}`)
      } finally {
        st.lastAt = Date.now()
        st.inflight = undefined
      }
      this.schedulePreview(runId, st)
    })()
  }

  /** The run ended: no more previews; its reply (ReplyReady, published right after) still finds the preview. */
  private endStream(runId: string): void {
    const st = this.streams.get(runId)
    if (!st) return
    st.finished = true
    clearTimeout(st.timer)
    st.timer = undefined
    queueMicrotask(() => this.streams.delete(runId))
  }

  private sessionFor(msg: InboundMessage): SessionSpec {
    if (msg.chatType !== "direct") {
      return { kind: "channel", channel: msg.channel, chatType: msg.chatType, peerId: msg.chatId, ...(msg.threadId ? { threadId: msg.threadId } : {}) }
    }
    switch (this.deps.config().session.dmScope) {
      case "main":
        return { kind: "main" }
      case "per-peer":
        return { kind: "key", key: `dm:${msg.senderId}` }
      case "per-channel-peer":
        return { kind: "channel", channel: msg.channel, chatType: "direct", peerId: msg.senderId }
      case "per-account-channel-peer":
        return { kind: "channel", channel: msg.channel, accountId: msg.accountId, chatType: "direct", peerId: msg.senderId }
    }
  }

  private startTyping(channel: ChannelId, runId: string, target: OutboundTarget): void {
    const adapter = this.running.get(channel)?.adapter
    if (!adapter?.typing || this.typing.has(runId)) return
    const send = () => adapter.typing?.(target).catch(() => {})
    send()
    const started = Date.now()
    const timer = setInterval(() => (Date.now() - started > TYPING_MAX_MS ? this.stopTypingFor(runId) : send()), TYPING_EVERY_MS)
    this.typing.set(runId, timer)
  }

  private stopTypingFor(runId: string): void {
    const t = this.typing.get(runId)
    if (!t) return
    clearInterval(t)
    this.typing.delete(runId)
  }

  // ---- outbound -----------------------------------------------------------------------------------------------

  private queueReply(runId: string, target: DeliveryTarget, text: string): void {
    if (target.kind !== "channel" || !isChannelId(target.channel)) return
    const to: OutboundTarget = {
      to: target.to,
      ...(target.threadId ? { threadId: target.threadId } : {}),
      ...(target.replyTo ? { replyTo: target.replyTo } : {}),
    }
    const st = this.streams.get(runId)
    const key = `reply:${runId}:${target.channel}:${target.to}`
    if (!st || st.channel !== target.channel || st.target.to !== target.to || st.target.threadId !== target.threadId) {
      this.queue(target.channel, key, runId, target.accountId, to, text)
      return
    }
    const channel = target.channel
    const queueWithPreview = () => {
      // The first chunk replaces the preview (an "edit" row naming it); the rest are new messages.
      this.queue(channel, key, runId, target.accountId, to, text, st.previewId !== undefined ? { messageId: st.previewId, shown: st.shown } : undefined)
    }
    if (st.inflight) void st.inflight.then(queueWithPreview)
    else queueWithPreview()
  }

  /** Queues text for a chat in the outbox, one row per chunk keyed `${keyBase}:${i}`; how many chunks, how many new. */
  private queue(
    channel: ChannelId,
    keyBase: string,
    runId: string | undefined,
    accountId: string | undefined,
    target: OutboundTarget,
    text: string,
    preview?: { messageId: string; shown?: string },
  ): { total: number; added: number } {
    const max = this.running.get(channel)?.adapter.maxMessageChars ?? (channel === "telegram" ? 4096 : 2000)
    const chunks = chunkText(text, max)
    const added = this.deps.repo.enqueue(
      chunks.map((body, i) => {
        const edit = i === 0 && preview !== undefined
        return {
          key: `${keyBase}:${i}`,
          runId,
          channel,
          accountId,
          // Only the first chunk threads as a reply to the triggering message (or replaces the preview, which does).
          target: edit
            ? { ...target, editMessageId: preview.messageId, ...(preview.shown === body ? { unchanged: true } : {}) }
            : i === 0
              ? target
              : { to: target.to, ...(target.threadId ? { threadId: target.threadId } : {}) },
          kind: edit ? ("edit" as const) : ("text" as const),
          body,
        }
      }),
    )
    this.kick(channel)
    return { total: chunks.length, added }
  }

  /** Runs the channel's delivery loop now (it reschedules itself for retries). */
  private kick(channel: ChannelId): void {
    const run = this.running.get(channel)
    if (!run || run.draining || run.stopped) return
    clearTimeout(run.timer)
    run.timer = undefined
    void this.drain(channel, run)
  }

  private async drain(channel: ChannelId, run: Running): Promise<void> {
    run.draining = true
    const log = this.deps.log.child(channel)
    try {
      let sentSome = true
      while (sentSome && !run.stopped) {
        sentSome = false
        // Messages to one chat go out in order: a chat whose oldest pending message waits for a retry waits whole.
        const blocked = new Set<string>()
        const now = Date.now()
        for (const row of this.deps.repo.pendingRows(channel)) {
          if (run.stopped) break
          const target = JSON.parse(row.target) as OutboundTarget & { editMessageId?: string; unchanged?: boolean; caption?: string }
          if (blocked.has(target.to)) continue
          if (row.nextAttemptAt > now) {
            blocked.add(target.to)
            continue
          }
          this.deps.repo.markSending(row.id)
          try {
            const { messageId } = await this.deliver(channel, run.adapter, row.kind, target, row.body)
            this.deps.repo.markSent(row.id, messageId)
            sentSome = true
          } catch (err) {
            const f = err instanceof PermanentSendError ? { permanent: true, message: err.message } : run.adapter.classifyError(err)
            const attempts = row.attempts + 1
            if (f.permanent || attempts >= MAX_ATTEMPTS) {
              this.deps.repo.markFailed(row.id, f.message)
              log.error(`gave up delivering to ${target.to} after ${attempts} attempt(s): ${f.message}`)
              this.deps.bus.publish(DeliveryFailed, {
                channel,
                key: row.key,
                ...(row.runId ? { runId: row.runId } : {}),
                to: target.to,
                error: f.message,
                attempts,
              })
            } else {
              const wait = Math.max(f.retryAfterMs ?? 0, RETRY_MS[Math.min(attempts - 1, RETRY_MS.length - 1)]!)
              this.deps.repo.markRetry(row.id, f.message, Date.now() + wait)
              log.warn(`delivery to ${target.to} failed (${f.message}); retrying in ${wait} ms`)
              blocked.add(target.to)
            }
          }
        }
      }
    } finally {
      run.draining = false
    }
    const next = this.deps.repo.nextDueAt(channel)
    if (next !== undefined && !run.stopped) run.timer = setTimeout(() => this.kick(channel), Math.max(10, next - Date.now()))
  }

  /**
   * Sends one outbox row. An "edit" row replaces the preview this process sent (nothing to do when it already shows
   * the text); when the preview is not ours to edit (sent before a restart, or this row was interrupted mid-send) or
   * the edit fails, the text goes out as a new message instead: the reply is never lost.
   */
  private async deliver(
    channel: ChannelId,
    adapter: ChannelAdapter,
    kind: string,
    target: OutboundTarget & { editMessageId?: string; unchanged?: boolean; caption?: string },
    body: string,
  ): Promise<{ messageId: string }> {
    const { editMessageId, unchanged, caption, ...to } = target
    if (kind === "file") {
      if (!adapter.sendFile) throw new PermanentSendError(`${channel} cannot send files`)
      if (!existsSync(body)) throw new PermanentSendError(`${body} no longer exists`)
      return adapter.sendFile(to, body, caption)
    }
    if (kind === "edit" && editMessageId !== undefined) {
      const live = `${channel}:${editMessageId}`
      if (adapter.editText && this.previews.delete(live)) {
        if (unchanged) return { messageId: editMessageId }
        try {
          await adapter.editText(to, editMessageId, body)
          return { messageId: editMessageId }
        } catch (err) {
          this.deps.log
            .child(channel)
            .warn(`could not edit the preview ${editMessageId} (${adapter.classifyError(err).message}); sending the reply as a new message`)
        }
      }
    }
    return adapter.sendText(to, body)
  }

  /**
   * Replies of runs that finished while no outbox row was written for them (the gateway died between the run's end
   * and the queueing): queued now, from what the run stored.
   */
  private reconcile(): void {
    const since = Date.now() - 24 * 3600_000
    for (const run of this.deps.repo.finishedRunsWithoutOutbox(since)) {
      for (const target of this.deps.router().replyTargets(run.runId)) if (run.text) this.queueReply(run.runId, target, run.text)
    }
  }
}

/** A send no retry can help that the core itself decides (not the platform): e.g. the adapter cannot send files. */
class PermanentSendError extends Error {}

function isChannelId(s: string): s is ChannelId {
  return (CHANNEL_IDS as readonly string[]).includes(s)
}

/** The text the agent sees: who said it in a group, what it replies to, and where attachments were saved. */
export function agentText(msg: InboundMessage): string {
  const parts: string[] = []
  if (msg.replyTo?.text) parts.push(`[Replying to: ${msg.replyTo.text.slice(0, 500)}]`)
  if (msg.chatType !== "direct") parts.push(`[${msg.senderName ?? msg.senderId}]`)
  parts.push(msg.text)
  for (const a of msg.attachments) parts.push(`[Attachment (${a.kind}${a.name ? `: ${a.name}` : ""}) saved at ${a.path}]`)
  return parts.filter(Boolean).join("\n")
}
