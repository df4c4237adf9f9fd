/**
 * A fake Discord (REST API v10 + Gateway WebSocket + attachment CDN) on one loopback port, speaking the real wire
 * format so discord.js talks to it unchanged:
 *
 *   const fake = startFakeDiscord({ guilds: [{ id: "1", name: "g", channels: [{ id: "10", name: "general" }] }], heartbeatIntervalMs: 200 })
 *   const client = new Client({ intents, partials: [Partials.Channel], rest: { api: fake.api, cdn: fake.cdn } })
 *   await client.login(fake.token)            // GET /gateway/bot → ws://…/gateway → HELLO, IDENTIFY, READY, GUILD_CREATE
 *   fake.userMessage({ channelId: "10", author: { id: "42", username: "ann" }, content: "hi" })   // MESSAGE_CREATE
 *   await fake.waitFor(() => fake.calls("POST /channels/:id/messages")[0])                          // what the bot sent
 *   fake.failNext("POST /channels/:id/messages", { status: 429, retryAfter: 0.2 }); fake.dropConnection(4000) …
 *
 * Like Discord: sessions outlive connections (dispatches missed while disconnected are replayed on RESUME), a client
 * close with 1000/1001 ends the session, dispatches are filtered by the identified intents (MESSAGE_CONTENT blanks
 * content in guild messages that do not mention the bot), the bot's own messages come back as MESSAGE_CREATE, DMs
 * arrive without CHANNEL_CREATE (discord.js needs Partials.Channel for them), a wrong token gets 401 on REST and
 * close 4004 on IDENTIFY. Unknown routes are logged loudly and answered 404 as Discord does.
 *
 * Standalone: `bun test/fakes/discord.ts [--port n] [--token t] [--config options.json]` prints {"url","port",…} as
 * one JSON line; `/_fake/*` HTTP routes drive it from outside (see `control`).
 */
import { readFileSync } from "node:fs"
import { deflateSync } from "node:zlib"
import type { ServerWebSocket } from "bun"
import type { APIAttachment, APIMessage, APIUser } from "discord.js"

/** Gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes). */
export const Op = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const

/** Gateway intent bits, for readable assertions on `identifies[n].intents`. */
export const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildModeration: 1 << 2,
  GuildExpressions: 1 << 3,
  GuildIntegrations: 1 << 4,
  GuildWebhooks: 1 << 5,
  GuildInvites: 1 << 6,
  GuildVoiceStates: 1 << 7,
  GuildPresences: 1 << 8,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  GuildMessageTyping: 1 << 11,
  DirectMessages: 1 << 12,
  DirectMessageReactions: 1 << 13,
  DirectMessageTyping: 1 << 14,
  MessageContent: 1 << 15,
  GuildScheduledEvents: 1 << 16,
  AutoModerationConfiguration: 1 << 20,
  AutoModerationExecution: 1 << 21,
  GuildMessagePolls: 1 << 24,
  DirectMessagePolls: 1 << 25,
} as const

const ALL_INTENTS = Object.values(Intent).reduce((a, b) => a | b, 0)
const PRIVILEGED = Intent.GuildMembers | Intent.GuildPresences | Intent.MessageContent

/** The names of the bits set in an intents number, e.g. ["Guilds", "GuildMessages"]. */
export function intentNames(bits: number): string[] {
  return Object.entries(Intent)
    .filter(([, bit]) => (bits & bit) !== 0)
    .map(([name]) => name)
}

/** Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types). */
export const ChannelKind = {
  GuildText: 0,
  DM: 1,
  GuildVoice: 2,
  GuildCategory: 4,
  GuildAnnouncement: 5,
  AnnouncementThread: 10,
  PublicThread: 11,
  PrivateThread: 12,
  GuildForum: 15,
} as const
const THREAD_TYPES = new Set<number>([10, 11, 12])

export interface FakeUser {
  id: string
  username?: string
  globalName?: string | null
  bot?: boolean
}

export interface FakeChannelSpec {
  id: string
  name?: string
  /** Discord channel type; default 0 (GUILD_TEXT). Threads (10, 11, 12) go into GUILD_CREATE's `threads`. */
  type?: number
  /** Parent channel: a category for channels, the channel a thread lives in (default: the guild's first text channel). */
  parentId?: string
  topic?: string
}

export interface FakeGuildSpec {
  id: string
  name?: string
  ownerId?: string
  channels?: FakeChannelSpec[]
}

export interface FakeAttachmentSpec {
  filename: string
  data: string | Uint8Array
  contentType?: string
  description?: string
}

export interface UserMessageSpec {
  /** The channel the message is posted in (for a thread message: the thread's parent, or the thread itself). */
  channelId: string
  /** Optional; inferred from the channel. Omitted and the channel unknown or a DM: a DM (channel type 1). */
  guildId?: string
  /** A user object or a bare id. */
  author: FakeUser | string
  content?: string
  /** Users mentioned besides the `<@id>` tokens found in content; "bot" or the bot's id mentions the bot. */
  mentions?: (FakeUser | string)[]
  attachments?: FakeAttachmentSpec[]
  /** Post in this thread (created under channelId with THREAD_CREATE if unknown). */
  threadId?: string
  /** Makes the message a reply (type 19, message_reference + referenced_message). */
  referencedMessageId?: string
  mentionEveryone?: boolean
}

/** A scripted failure for the next request on a route: a 429 with Discord's body and headers, any other status, or a dropped connection. */
export type FailSpec = { status: 429; retryAfter: number; global?: boolean } | { status: number; body?: unknown } | "drop"

export interface SentFile {
  /** The multipart field, e.g. "files[0]". */
  field: string
  filename: string
  contentType: string
  data: Uint8Array
}

/** One REST request as received, with what the fake answered. */
export interface DiscordCall {
  method: string
  /** Path below /api/v10, e.g. "/channels/10/messages". */
  path: string
  /** The matched route template, e.g. "POST /channels/:id/messages" ("unknown" when no route matched). */
  route: string
  query: Record<string, string>
  /** The JSON body (for multipart: payload_json merged with any other text fields); undefined without a body. */
  body: any
  files: SentFile[]
  headers: Record<string, string>
  /** The status answered; 0 when the connection was dropped. */
  status: number
  at: number
}

export interface GatewayConnection {
  id: number
  /** "/gateway" (from GET /gateway/bot) or "/resume" (READY's resume_gateway_url). */
  path: string
  query: Record<string, string>
  sessionId?: string
  openedAt: number
  closeCode?: number
  closedBy?: "client" | "server"
}

export interface IdentifyPayload {
  token: string
  intents: number
  properties: Record<string, unknown>
  compress?: boolean
  large_threshold?: number
  shard?: [number, number]
  presence?: unknown
}

export interface ResumeAttempt {
  token: string
  session_id: string
  seq: number
  /** Whether the fake accepted it (false: answered INVALID_SESSION or closed). */
  ok: boolean
}

export interface FakeDiscordOptions {
  port?: number
  hostname?: string
  /** The bot token the fake accepts (REST `Authorization: Bot <token>`, IDENTIFY/RESUME `token`). */
  token?: string
  bot?: { id?: string; username?: string }
  applicationId?: string
  /** HELLO's heartbeat_interval; Discord sends ~41250, tests want a few hundred. */
  heartbeatIntervalMs?: number
  guilds?: FakeGuildSpec[]
  /** Privileged intents the application is allowed (as the developer portal toggles); others close 4014. Default: all. */
  privilegedIntents?: number
  /** Where unknown routes and protocol errors are reported; default console.error. */
  log?: (line: string) => void
}

type Json = Record<string, any>
type Frame = { op: number; d: unknown; s: number | null; t: string | null }

interface Session {
  id: string
  seq: number
  intents: number
  compress: boolean
  /** Every dispatch of the session, for replay on RESUME. */
  events: Frame[]
  conn?: Conn
  alive: boolean
}

interface Conn {
  info: GatewayConnection
  ws?: ServerWebSocket<ConnData>
  session?: Session
}

type ConnData = { conn: Conn }

interface Route {
  method: string
  pattern: string[]
  template: string
  auth: boolean
  handle(ctx: RouteCtx): Response | Promise<Response>
}

interface RouteCtx {
  params: Record<string, string>
  call: DiscordCall
  url: URL
}

interface StoredFile {
  data: Uint8Array
  contentType: string
}

const DISCORD_EPOCH = 1_420_070_400_000n
/** UserFlags is a TS enum in discord-api-types; the fake only ever sends "no flags". */
const NO_USER_FLAGS = 0 as NonNullable<APIUser["flags"]>
const GATEWAY_PATH = "/gateway"
const RESUME_PATH = "/resume"
const API_PREFIX = "/api/v10"

/** Discord's own error bodies, so DiscordAPIError carries the real code and message. */
const errors = {
  unauthorized: () => discordError(401, 0, "401: Unauthorized"),
  notFound: () => discordError(404, 0, "404: Not Found"),
  methodNotAllowed: () => discordError(405, 0, "405: Method Not Allowed"),
  unknownChannel: () => discordError(404, 10003, "Unknown Channel"),
  unknownGuild: () => discordError(404, 10004, "Unknown Guild"),
  unknownMessage: () => discordError(404, 10008, "Unknown Message"),
  unknownUser: () => discordError(404, 10013, "Unknown User"),
  unknownEmoji: () => discordError(400, 10014, "Unknown Emoji"),
  emptyMessage: () => discordError(400, 50006, "Cannot send an empty message"),
  notAuthor: () => discordError(403, 50005, "Cannot edit a message authored by another user"),
  invalidForm: (field: string, code: string, message: string) =>
    Response.json({ code: 50035, message: "Invalid Form Body", errors: { [field]: { _errors: [{ code, message }] } } }, { status: 400 }),
}

function discordError(status: number, code: number, message: string): Response {
  return Response.json({ message, code }, { status })
}

const noContent = () => new Response(null, { status: 204 })

export class FakeDiscord {
  /** REST base for `new Client({ rest: { api } })` (discord.js appends /v10). */
  readonly api: string
  /** CDN base for `rest: { cdn }`; attachment URLs point below it. */
  readonly cdn: string
  /** What GET /gateway/bot answers as `url`. */
  readonly gatewayUrl: string
  /** What READY carries as resume_gateway_url (same server, another path, so tests can see which one was used). */
  readonly resumeGatewayUrl: string
  readonly port: number
  readonly token: string
  readonly botUser: APIUser
  readonly applicationId: string
  heartbeatIntervalMs: number

  /** Every REST request, in arrival order, with its body and the status answered. */
  readonly sent: DiscordCall[] = []
  /** REST requests that matched no route (each also logged). */
  readonly unknownRoutes: DiscordCall[] = []
  /** Every gateway frame received from clients (heartbeats included), with the connection id. */
  readonly received: (Frame & { conn: number })[] = []
  readonly connections: GatewayConnection[] = []
  readonly identifies: IdentifyPayload[] = []
  readonly resumes: ResumeAttempt[] = []
  /** Attachment downloads served (paths below the CDN base). */
  readonly downloads: string[] = []
  heartbeats = 0
  /** Set false to stop answering heartbeats with ACK: the client should then see a zombie connection and reconnect. */
  ackHeartbeats = true

  /** State a test may read: every message (user and bot) by id, channels and users by id. */
  readonly messages = new Map<string, APIMessage>()
  readonly channels = new Map<string, Json>()
  readonly users = new Map<string, APIUser>()

  readonly #guilds = new Map<string, { spec: FakeGuildSpec; joinedAt: string }>()
  readonly #sessions = new Map<string, Session>()
  readonly #conns = new Set<Conn>()
  /** Scripted failures in the order failNext queued them; a request takes the first whose key matches it. */
  readonly #failures: { key: string; failure: FailSpec }[] = []
  readonly #files = new Map<string, StoredFile>()
  readonly #routes: Route[]
  readonly #server: ReturnType<typeof Bun.serve<ConnData>>
  readonly #log: (line: string) => void
  readonly #privileged: number
  #lastSnowflake = 0n
  #connSeq = 0

  constructor(opts: FakeDiscordOptions = {}) {
    const hostname = opts.hostname ?? "127.0.0.1"
    this.#log = opts.log ?? ((line) => console.error(line))
    this.#privileged = opts.privilegedIntents ?? PRIVILEGED
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 41_250
    const botId = opts.bot?.id ?? "1000000000000000001"
    // Shaped like a real token (base64 id . timestamp . hmac) in case code under test splits it.
    this.token = opts.token ?? `${Buffer.from(botId).toString("base64url")}.ZmFrZQ.fake-discord-bot-token`
    this.applicationId = opts.applicationId ?? botId
    this.botUser = {
      id: botId,
      username: opts.bot?.username ?? "fake-bot",
      discriminator: "0",
      global_name: null,
      avatar: null,
      bot: true,
      verified: true,
      mfa_enabled: false,
      flags: NO_USER_FLAGS,
      public_flags: NO_USER_FLAGS,
    }
    this.users.set(botId, this.botUser)
    this.#routes = this.#buildRoutes()

    const self = this
    this.#server = Bun.serve<ConnData>({
      port: opts.port ?? 0,
      hostname,
      idleTimeout: 0,
      fetch(req, server) {
        const url = new URL(req.url)
        if (url.pathname === GATEWAY_PATH || url.pathname === RESUME_PATH) {
          const conn: Conn = { info: { id: ++self.#connSeq, path: url.pathname, query: Object.fromEntries(url.searchParams), openedAt: Date.now() } }
          if (server.upgrade(req, { data: { conn } })) return undefined
          return new Response("fake-discord: the gateway expects a WebSocket upgrade", { status: 400 })
        }
        return self.#http(req, url)
      },
      websocket: {
        perMessageDeflate: false,
        idleTimeout: 0,
        sendPings: false,
        open: (ws) => self.#open(ws),
        message: (ws, msg) => self.#message(ws, msg),
        close: (ws, code) => self.#closed(ws, code),
      },
    })
    this.port = this.#server.port as number
    const origin = `${hostname}:${this.port}`
    this.api = `http://${origin}/api`
    this.cdn = `http://${origin}/cdn`
    this.gatewayUrl = `ws://${origin}${GATEWAY_PATH}`
    this.resumeGatewayUrl = `ws://${origin}${RESUME_PATH}`
    for (const g of opts.guilds ?? []) this.guild(g)
  }

  // ── test controls ────────────────────────────────────────────────────────────────────────────────────────────

  /** Adds (or replaces) a guild with its channels; ready sessions get GUILD_CREATE at once, as when a bot joins a guild. */
  guild(spec: FakeGuildSpec): void {
    const joinedAt = this.#guilds.get(spec.id)?.joinedAt ?? isoNow()
    this.#guilds.set(spec.id, { spec, joinedAt })
    const firstText = spec.channels?.find((c) => (c.type ?? 0) === 0)?.id
    ;(spec.channels ?? []).forEach((c, position) => {
      this.channels.set(c.id, this.#channelPayload(spec.id, c, position, firstText))
    })
    this.#broadcast("GUILD_CREATE", Intent.Guilds, () => this.#guildCreatePayload(spec.id))
  }

  /** Adds a channel or thread to a known guild; dispatches CHANNEL_CREATE or THREAD_CREATE (newly_created). */
  channel(guildId: string, spec: FakeChannelSpec): Json {
    const g = this.#guilds.get(guildId)
    if (!g) throw new Error(`fake-discord: unknown guild ${guildId}; add it with guild() first`)
    g.spec.channels = [...(g.spec.channels ?? []).filter((c) => c.id !== spec.id), spec]
    const firstText = g.spec.channels.find((c) => (c.type ?? 0) === 0)?.id
    const payload = this.#channelPayload(guildId, spec, g.spec.channels.length - 1, firstText)
    this.channels.set(spec.id, payload)
    if (THREAD_TYPES.has(payload.type)) this.#broadcast("THREAD_CREATE", Intent.Guilds, () => ({ ...payload, newly_created: true }))
    else this.#broadcast("CHANNEL_CREATE", Intent.Guilds, () => payload)
    return payload
  }

  /** A user posts a message: stored, then MESSAGE_CREATE to every live session whose intents cover it. Returns the message. */
  userMessage(spec: UserMessageSpec): APIMessage {
    const author = this.#user(spec.author)
    let channel = this.channels.get(spec.threadId ?? spec.channelId)
    if (spec.threadId && !channel) {
      const parent = this.channels.get(spec.channelId)
      const guildId = spec.guildId ?? parent?.guild_id
      if (!guildId) throw new Error(`fake-discord: thread ${spec.threadId} needs a known guild channel ${spec.channelId} or a guildId`)
      channel = this.channel(guildId, { id: spec.threadId, type: ChannelKind.PublicThread, parentId: spec.channelId, name: `thread-${spec.threadId}` })
    }
    if (!channel) {
      if (spec.guildId) throw new Error(`fake-discord: unknown channel ${spec.channelId} in guild ${spec.guildId}; declare it in guild({channels})`)
      channel = this.#dmChannel(author, spec.channelId)
    }
    if (spec.guildId && channel.guild_id !== spec.guildId) throw new Error(`fake-discord: channel ${channel.id} is not in guild ${spec.guildId}`)
    const content = spec.content ?? ""
    const mentioned = new Map<string, APIUser>()
    for (const m of spec.mentions ?? []) {
      const u = m === "bot" ? this.botUser : this.#user(m)
      mentioned.set(u.id, u)
    }
    for (const u of this.#mentionsIn(content)) mentioned.set(u.id, u)
    const attachments = (spec.attachments ?? []).map((a) =>
      this.#storeAttachment(channel.id, a.filename, typeof a.data === "string" ? new TextEncoder().encode(a.data) : a.data, a.contentType, a.description),
    )
    const message = this.#createMessage(channel, author, { content, attachments, mentions: [...mentioned.values()], mentionEveryone: spec.mentionEveryone })
    if (spec.referencedMessageId) this.#attachReference(message, channel, spec.referencedMessageId)
    this.#dispatchMessage("MESSAGE_CREATE", message)
    return message
  }

  /** Sends an arbitrary dispatch to every live session (no intent filter): an escape hatch for events not modelled here. */
  dispatch(t: string, d: unknown): void {
    this.#broadcast(t, 0, () => d)
  }

  /** Scripts the next response on a route ("POST /channels/:id/messages" or a concrete "POST /channels/10/messages"); calls queue up. */
  failNext(route: string, failure: FailSpec): void {
    this.#failures.push({ key: normaliseRoute(route), failure })
  }

  /** Op 7 RECONNECT to every authenticated connection: the client should reconnect and RESUME. */
  reconnect(): void {
    for (const c of this.#conns) if (c.session) this.#send(c, { op: Op.Reconnect, d: null, s: null, t: null })
  }

  /** Op 9 INVALID_SESSION to every authenticated connection; not resumable ends the session (the client must IDENTIFY afresh). */
  invalidateSession(resumable: boolean): void {
    for (const c of this.#conns) {
      const s = c.session
      if (!s) continue
      this.#send(c, { op: Op.InvalidSession, d: resumable, s: null, t: null })
      // The connection is no longer authenticated: the client answers on it with RESUME (resumable) or reconnects.
      c.session = undefined
      if (s.conn === c) s.conn = undefined
      if (!resumable) s.alive = false
    }
  }

  /** Op 1: asks every connection for an immediate heartbeat. */
  requestHeartbeat(): void {
    for (const c of this.#conns) this.#send(c, { op: Op.Heartbeat, d: null, s: null, t: null })
  }

  /**
   * Drops every gateway connection. 1006 (the default) cuts the TCP connection without a close frame, as a network
   * failure does; any other code is sent in a close frame (4000: unknown error, resumable). Sessions survive (the
   * client may RESUME) except for 4007/4009, after which Discord would refuse the resume.
   */
  dropConnection(code = 1006): void {
    for (const c of [...this.#conns]) {
      if (code === 4007 || code === 4009) c.session && (c.session.alive = false)
      if (code === 1006) this.#terminate(c)
      else this.#close(c, code, "fake-discord: connection dropped by test")
    }
  }

  /** REST calls on a route template (or all of them), in order. */
  calls(route?: string): DiscordCall[] {
    if (!route) return [...this.sent]
    const key = normaliseRoute(route)
    return this.sent.filter((c) => c.route === key || `${c.method} ${c.path}` === key)
  }

  /** Live (resumable) sessions with their last sequence number and whether a connection is attached. */
  sessions(): { id: string; seq: number; intents: number; connected: boolean }[] {
    return [...this.#sessions.values()].filter((s) => s.alive).map((s) => ({ id: s.id, seq: s.seq, intents: s.intents, connected: !!s.conn }))
  }

  get connects(): number {
    return this.connections.length
  }

  /** Polls `predicate` (every 5 ms) until it returns something truthy, which is returned; rejects after timeoutMs with a summary of what happened. */
  waitFor<T>(predicate: (fake: FakeDiscord) => T | undefined | null | false, timeoutMs = 3000): Promise<T> {
    const started = Date.now()
    return new Promise<T>((resolve, reject) => {
      const tick = () => {
        let v: T | undefined | null | false
        try {
          v = predicate(this)
        } catch (e) {
          return reject(e)
        }
        if (v) return resolve(v)
        if (Date.now() - started >= timeoutMs) return reject(new Error(`fake-discord: waitFor timed out after ${timeoutMs}ms; ${this.summary()}`))
        setTimeout(tick, 5)
      }
      tick()
    })
  }

  /** One line of what happened so far, for failure messages. */
  summary(): string {
    const rest = this.sent.slice(-8).map((c) => `${c.method} ${c.path} → ${c.status}`)
    return `REST (last ${rest.length} of ${this.sent.length}): [${rest.join(", ")}]; gateway: ${this.connects} connects, ${this.identifies.length} identifies, ${this.resumes.length} resumes, ${this.heartbeats} heartbeats`
  }

  async stop(): Promise<void> {
    for (const c of [...this.#conns]) this.#close(c, 1001, "fake-discord stopping")
    await this.#server.stop(true)
  }

  // ── gateway ──────────────────────────────────────────────────────────────────────────────────────────────────

  #open(ws: ServerWebSocket<ConnData>): void {
    const conn = ws.data.conn
    conn.ws = ws
    this.#conns.add(conn)
    this.connections.push(conn.info)
    const { v, encoding, compress } = conn.info.query
    if (v !== "10") return this.#protocolError(conn, 4012, `fake-discord speaks gateway v10 only (asked v=${v})`)
    if (encoding !== undefined && encoding !== "json") return this.#protocolError(conn, 4002, `fake-discord supports encoding=json only (asked ${encoding})`)
    // discord.js asks for zlib-stream only when zlib-sync is installed; the fake does not implement transport compression.
    if (compress !== undefined) return this.#protocolError(conn, 4000, `fake-discord does not implement transport compression (asked compress=${compress})`)
    this.#send(conn, { op: Op.Hello, d: { heartbeat_interval: this.heartbeatIntervalMs }, s: null, t: null })
  }

  #message(ws: ServerWebSocket<ConnData>, raw: string | Buffer): void {
    const conn = ws.data.conn
    let frame: Frame
    try {
      frame = JSON.parse(typeof raw === "string" ? raw : raw.toString("utf8"))
    } catch {
      return this.#protocolError(conn, 4002, "payload is not JSON")
    }
    this.received.push({ ...frame, conn: conn.info.id })
    switch (frame.op) {
      case Op.Heartbeat:
        this.heartbeats++
        if (this.ackHeartbeats) this.#send(conn, { op: Op.HeartbeatAck, d: null, s: null, t: null })
        return
      case Op.Identify:
        return this.#identify(conn, frame.d as IdentifyPayload)
      case Op.Resume:
        return this.#resume(conn, frame.d as Omit<ResumeAttempt, "ok">)
      case Op.PresenceUpdate:
      case Op.VoiceStateUpdate:
      case Op.RequestGuildMembers:
        if (!conn.session) return this.#protocolError(conn, 4003, `op ${frame.op} before IDENTIFY`)
        return // accepted and recorded in `received`; their effects are not modelled
      default:
        return this.#protocolError(conn, 4001, `unknown opcode ${frame.op}`)
    }
  }

  #identify(conn: Conn, d: IdentifyPayload): void {
    if (conn.session) return this.#protocolError(conn, 4005, "IDENTIFY on an authenticated connection")
    this.identifies.push(d)
    if (d?.token !== this.token) return this.#close(conn, 4004, "Authentication failed.")
    if (typeof d.intents !== "number" || (d.intents & ~ALL_INTENTS) !== 0) return this.#close(conn, 4013, "Invalid intent(s).")
    if ((d.intents & PRIVILEGED & ~this.#privileged) !== 0) return this.#close(conn, 4014, "Disallowed intent(s).")
    if (d.shard && (d.shard[0] !== 0 || d.shard[1] !== 1)) return this.#close(conn, 4010, "Invalid shard.")
    const session: Session = { id: crypto.randomUUID().replaceAll("-", ""), seq: 0, intents: d.intents, compress: d.compress === true, events: [], alive: true }
    this.#sessions.set(session.id, session)
    this.#attach(conn, session)
    this.#dispatchTo(session, "READY", {
      v: 10,
      user: this.botUser,
      guilds: [...this.#guilds.keys()].map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.resumeGatewayUrl,
      ...(d.shard ? { shard: d.shard } : {}),
      application: { id: this.applicationId, flags: 0 },
    })
    // Discord lazy-loads guilds after READY, one GUILD_CREATE each (GUILDS intent).
    if (session.intents & Intent.Guilds) for (const id of this.#guilds.keys()) this.#dispatchTo(session, "GUILD_CREATE", this.#guildCreatePayload(id))
  }

  #resume(conn: Conn, d: Omit<ResumeAttempt, "ok">): void {
    if (conn.session) return this.#protocolError(conn, 4005, "RESUME on an authenticated connection")
    const attempt: ResumeAttempt = { token: d?.token, session_id: d?.session_id, seq: d?.seq, ok: false }
    this.resumes.push(attempt)
    if (attempt.token !== this.token) return this.#close(conn, 4004, "Authentication failed.")
    const session = this.#sessions.get(attempt.session_id)
    // An unknown or ended session is answered with a non-resumable INVALID_SESSION, as Discord does.
    if (!session?.alive) return this.#send(conn, { op: Op.InvalidSession, d: false, s: null, t: null })
    if (typeof attempt.seq !== "number" || attempt.seq > session.seq) return this.#close(conn, 4007, "Invalid seq.")
    if (session.conn && session.conn !== conn) this.#close(session.conn, 4000, "session resumed elsewhere")
    attempt.ok = true
    this.#attach(conn, session)
    for (const f of session.events) if (f.s !== null && f.s > attempt.seq) this.#send(conn, f)
    this.#dispatchTo(session, "RESUMED", {})
  }

  #attach(conn: Conn, session: Session): void {
    conn.session = session
    conn.info.sessionId = session.id
    session.conn = conn
  }

  #closed(ws: ServerWebSocket<ConnData>, code: number): void {
    const conn = ws.data.conn
    this.#conns.delete(conn)
    conn.info.closeCode ??= code
    conn.info.closedBy ??= "client"
    const s = conn.session
    if (s?.conn === conn) s.conn = undefined
    // A client closing with 1000/1001 ends its session on Discord's side: no RESUME afterwards.
    if (s && conn.info.closedBy === "client" && (code === 1000 || code === 1001)) s.alive = false
  }

  #protocolError(conn: Conn, code: number, why: string): void {
    this.#log(`[fake-discord] gateway connection ${conn.info.id}: ${why}; closing ${code}`)
    this.#close(conn, code, why)
  }

  #close(conn: Conn, code: number, reason: string): void {
    conn.info.closeCode ??= code
    conn.info.closedBy ??= "server"
    this.#conns.delete(conn)
    if (conn.session?.conn === conn) conn.session.conn = undefined
    conn.ws?.close(code, reason.slice(0, 120))
  }

  #terminate(conn: Conn): void {
    conn.info.closeCode ??= 1006
    conn.info.closedBy ??= "server"
    this.#conns.delete(conn)
    if (conn.session?.conn === conn) conn.session.conn = undefined
    conn.ws?.terminate()
  }

  #send(conn: Conn, frame: Frame): void {
    const text = JSON.stringify(frame)
    // IDENTIFY's `compress: true` asks for zlib-compressed payloads (binary frames) from then on.
    if (conn.session?.compress) conn.ws?.send(deflateSync(text))
    else conn.ws?.send(text)
  }

  #dispatchTo(session: Session, t: string, d: unknown): void {
    const frame: Frame = { op: Op.Dispatch, d, s: ++session.seq, t }
    session.events.push(frame)
    if (session.conn) this.#send(session.conn, frame)
  }

  /** Dispatches to every live session whose intents include `intent` (0: all); `build` may tailor or veto (undefined) per session. */
  #broadcast(t: string, intent: number, build: (s: Session) => unknown): void {
    for (const s of this.#sessions.values()) {
      if (!s.alive || (intent !== 0 && (s.intents & intent) === 0)) continue
      const d = build(s)
      if (d !== undefined) this.#dispatchTo(s, t, d)
    }
  }

  // ── payloads ─────────────────────────────────────────────────────────────────────────────────────────────────

  #snowflake(): string {
    // Real snowflakes (timestamp << 22), strictly increasing so ids sort like Discord's.
    const now = (BigInt(Date.now()) - DISCORD_EPOCH) << 22n
    this.#lastSnowflake = now > this.#lastSnowflake ? now : this.#lastSnowflake + 1n
    return this.#lastSnowflake.toString()
  }

  #user(u: FakeUser | string): APIUser {
    const spec: FakeUser = typeof u === "string" ? { id: u } : u
    if (spec.id === this.botUser.id) return this.botUser
    const known = this.users.get(spec.id)
    const user: APIUser = {
      id: spec.id,
      username: spec.username ?? known?.username ?? `user${spec.id}`,
      discriminator: "0",
      global_name: spec.globalName !== undefined ? spec.globalName : (known?.global_name ?? null),
      avatar: null,
      public_flags: NO_USER_FLAGS,
      ...((spec.bot ?? known?.bot) ? { bot: true } : {}),
    }
    this.users.set(user.id, user)
    return user
  }

  #mentionsIn(content: string): APIUser[] {
    return [...content.matchAll(/<@!?(\d+)>/g)].map((m) => this.#user(m[1]!))
  }

  #dmChannel(recipient: APIUser, id?: string): Json {
    const existing = [...this.channels.values()].find((c) => c.type === ChannelKind.DM && (id ? c.id === id : c.recipients?.[0]?.id === recipient.id))
    if (existing) return existing
    const dm = { id: id ?? this.#snowflake(), type: ChannelKind.DM, last_message_id: null, flags: 0, recipients: [recipient] }
    this.channels.set(dm.id, dm)
    return dm
  }

  #channelPayload(guildId: string, c: FakeChannelSpec, position: number, firstText?: string): Json {
    const type = c.type ?? ChannelKind.GuildText
    const name = c.name ?? `channel-${c.id}`
    if (THREAD_TYPES.has(type)) {
      const now = isoNow()
      return {
        id: c.id,
        type,
        guild_id: guildId,
        parent_id: c.parentId ?? firstText ?? null,
        owner_id: this.botUser.id,
        name,
        last_message_id: null,
        rate_limit_per_user: 0,
        message_count: 0,
        member_count: 1,
        total_message_sent: 0,
        flags: 0,
        thread_metadata: {
          archived: false,
          auto_archive_duration: 1440,
          archive_timestamp: now,
          locked: false,
          create_timestamp: now,
          ...(type === 12 ? { invitable: true } : {}),
        },
      }
    }
    const base = { id: c.id, type, guild_id: guildId, name, position, permission_overwrites: [], nsfw: false, parent_id: c.parentId ?? null, flags: 0 }
    if (type === ChannelKind.GuildCategory) return base
    if (type === ChannelKind.GuildVoice) return { ...base, bitrate: 64000, user_limit: 0, rtc_region: null, last_message_id: null, rate_limit_per_user: 0 }
    if (type === ChannelKind.GuildForum) {
      return {
        ...base,
        topic: c.topic ?? null,
        last_message_id: null,
        rate_limit_per_user: 0,
        available_tags: [],
        default_reaction_emoji: null,
        default_sort_order: null,
        default_forum_layout: 0,
      }
    }
    return { ...base, topic: c.topic ?? null, last_message_id: null, rate_limit_per_user: 0 }
  }

  #member(joinedAt: string, user?: APIUser): Json {
    return {
      ...(user ? { user } : {}),
      nick: null,
      avatar: null,
      banner: null,
      roles: [],
      joined_at: joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: null,
    }
  }

  #guildCreatePayload(id: string): Json {
    const { spec, joinedAt } = this.#guilds.get(id)!
    const all = (spec.channels ?? []).map((c) => this.channels.get(c.id)!).filter(Boolean)
    return {
      id,
      name: spec.name ?? `guild-${id}`,
      icon: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: spec.ownerId ?? this.botUser.id,
      region: "deprecated",
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      // @everyone has the guild's id; its permissions are Discord's defaults for a new server.
      roles: [
        {
          id,
          name: "@everyone",
          color: 0,
          colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
          hoist: false,
          icon: null,
          unicode_emoji: null,
          position: 0,
          permissions: "2248473465835073",
          managed: false,
          mentionable: false,
          flags: 0,
        },
      ],
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      vanity_url_code: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: "en-US",
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      nsfw: false,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      hub_type: null,
      incidents_data: null,
      max_members: 500000,
      max_video_channel_users: 25,
      // GUILD_CREATE extras
      joined_at: joinedAt,
      large: false,
      unavailable: false,
      member_count: 1,
      voice_states: [],
      members: [this.#member(joinedAt, this.botUser)],
      channels: all.filter((c) => !THREAD_TYPES.has(c.type)),
      threads: all.filter((c) => THREAD_TYPES.has(c.type)),
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
      lazy: true,
    }
  }

  #storeAttachment(channelId: string, filename: string, data: Uint8Array, contentType?: string, description?: string): APIAttachment {
    const id = this.#snowflake()
    const path = `/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`
    const type = contentType || guessType(filename)
    this.#files.set(path, { data, contentType: type })
    return {
      id,
      filename,
      ...(description ? { description } : {}),
      content_type: type,
      size: data.byteLength,
      url: `${this.cdn}${path}`,
      proxy_url: `${this.cdn.replace(/\/cdn$/, "/media")}${path}`,
    }
  }

  #createMessage(
    channel: Json,
    author: APIUser,
    o: { content: string; attachments: APIAttachment[]; mentions: APIUser[]; mentionEveryone?: boolean; body?: Json },
  ): APIMessage {
    const b = o.body ?? {}
    const message: APIMessage = {
      id: this.#snowflake(),
      channel_id: channel.id,
      author,
      content: o.content,
      timestamp: isoNow(),
      edited_timestamp: null,
      tts: b.tts === true,
      mention_everyone: o.mentionEveryone === true,
      mentions: o.mentions,
      mention_roles: [],
      attachments: o.attachments,
      embeds: Array.isArray(b.embeds) ? b.embeds : [],
      pinned: false,
      type: 0,
      flags: typeof b.flags === "number" ? b.flags : 0,
      components: Array.isArray(b.components) ? b.components : [],
      ...(b.nonce !== undefined ? { nonce: b.nonce } : {}),
    }
    this.messages.set(message.id, message)
    channel.last_message_id = message.id
    if (THREAD_TYPES.has(channel.type)) {
      channel.message_count = (channel.message_count ?? 0) + 1
      channel.total_message_sent = (channel.total_message_sent ?? 0) + 1
    }
    return message
  }

  #attachReference(message: APIMessage, channel: Json, referencedId: string): void {
    const ref = this.messages.get(referencedId)
    message.type = 19
    message.message_reference = { type: 0, message_id: referencedId, channel_id: channel.id, ...(channel.guild_id ? { guild_id: channel.guild_id } : {}) }
    message.referenced_message = ref ?? null
  }

  /** MESSAGE_CREATE/UPDATE with the gateway extras (guild_id, member, channel_type), filtered and blanked per session intents. */
  #dispatchMessage(t: "MESSAGE_CREATE" | "MESSAGE_UPDATE", message: APIMessage): void {
    const channel = this.channels.get(message.channel_id)!
    const guildId: string | undefined = channel.guild_id
    const joinedAt = guildId ? this.#guilds.get(guildId)?.joinedAt : undefined
    const full: Json = {
      ...message,
      channel_type: channel.type,
      ...(guildId
        ? {
            guild_id: guildId,
            member: this.#member(joinedAt ?? isoNow()),
            mentions: message.mentions.map((u) => ({ ...u, member: this.#member(joinedAt ?? isoNow()) })),
          }
        : {}),
    }
    const intent = guildId ? Intent.GuildMessages : Intent.DirectMessages
    const mentionsBot = message.mentions.some((u) => u.id === this.botUser.id)
    this.#broadcast(t, intent, (s) => {
      // Without MESSAGE_CONTENT, guild messages arrive blank unless they are the bot's own or mention it (DMs keep content).
      if (!guildId || s.intents & Intent.MessageContent || mentionsBot || message.author.id === this.botUser.id) return full
      return { ...full, content: "", embeds: [], attachments: [], components: [] }
    })
  }

  // ── HTTP ─────────────────────────────────────────────────────────────────────────────────────────────────────

  async #http(req: Request, url: URL): Promise<Response | undefined> {
    if (req.method === "GET" && (url.pathname.startsWith("/cdn/attachments/") || url.pathname.startsWith("/media/attachments/"))) {
      const path = url.pathname.replace(/^\/(cdn|media)/, "")
      const file = this.#files.get(path)
      this.downloads.push(path)
      if (!file) return new Response("Not Found", { status: 404 })
      return new Response(file.data, { headers: { "content-type": file.contentType, "content-length": String(file.data.byteLength) } })
    }
    if (url.pathname.startsWith("/_fake/")) return this.#control(req, url)
    if (!url.pathname.startsWith(`${API_PREFIX}/`)) {
      this.#log(`[fake-discord] UNKNOWN ROUTE ${req.method} ${url.pathname} (not below ${API_PREFIX}; is rest.api set to ${this.api} and rest.version 10?)`)
      return errors.notFound()
    }
    return this.#rest(req, url)
  }

  async #rest(req: Request, url: URL): Promise<Response | undefined> {
    const path = url.pathname.slice(API_PREFIX.length)
    const call: DiscordCall = {
      method: req.method,
      path,
      route: "unknown",
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      files: [],
      headers: Object.fromEntries(req.headers.entries()),
      status: 0,
      at: Date.now(),
    }
    this.sent.push(call)
    await readBody(req, call)

    const segments = path.split("/").filter(Boolean)
    let params: Record<string, string> | undefined
    let route: Route | undefined
    let pathMatched = false
    for (const r of this.#routes) {
      const p = matchPattern(r.pattern, segments)
      if (!p) continue
      pathMatched = true
      if (r.method === req.method) {
        route = r
        params = p
        break
      }
    }
    if (!route || !params) {
      this.unknownRoutes.push(call)
      this.#log(`[fake-discord] UNKNOWN ROUTE ${req.method} ${API_PREFIX}${path} — not faked; answering ${pathMatched ? 405 : 404} like Discord`)
      const res = pathMatched ? errors.methodNotAllowed() : errors.notFound()
      call.status = res.status
      return res
    }
    call.route = route.template

    if (route.auth && call.headers.authorization !== `Bot ${this.token}`) return this.#answer(call, errors.unauthorized())
    const failure = this.#takeFailure(call)
    if (failure === "drop") {
      // Erroring the body before anything is written makes Bun reset the socket: fetch rejects with ECONNRESET.
      return new Response(new ReadableStream({ start: (c) => c.error(undefined) }))
    }
    if (failure) return this.#answer(call, failureResponse(failure, route.template))
    try {
      return this.#answer(call, await route.handle({ params, call, url }), route.template)
    } catch (e) {
      this.#log(`[fake-discord] route ${route.template} threw: ${(e as Error).stack ?? e}`)
      return this.#answer(call, discordError(500, 0, "500: Internal Server Error"))
    }
  }

  #takeFailure(call: DiscordCall): FailSpec | undefined {
    const i = this.#failures.findIndex((f) => f.key === call.route || f.key === `${call.method} ${call.path}`)
    return i < 0 ? undefined : this.#failures.splice(i, 1)[0]!.failure
  }

  #answer(call: DiscordCall, res: Response, template?: string): Response {
    call.status = res.status
    if (template && res.status < 400) {
      // Discord's per-route headers; remaining stays above 0 so clients never wait on successful calls.
      res.headers.set("x-ratelimit-limit", "5")
      res.headers.set("x-ratelimit-remaining", "4")
      res.headers.set("x-ratelimit-reset", ((Date.now() + 5000) / 1000).toFixed(3))
      res.headers.set("x-ratelimit-reset-after", "5.000")
      res.headers.set("x-ratelimit-bucket", bucketOf(template))
    }
    return res
  }

  #buildRoutes(): Route[] {
    const r = (method: string, pattern: string, handle: Route["handle"], auth = true): Route => ({
      method,
      pattern: pattern.split("/").filter(Boolean),
      template: `${method} ${pattern}`,
      auth,
      handle,
    })
    const channelOr404 = (id: string) => this.channels.get(id)
    const messageIn = (channelId: string, id: string) => {
      const m = this.messages.get(id)
      return m && m.channel_id === channelId ? m : undefined
    }
    return [
      r("GET", "/gateway", () => Response.json({ url: this.gatewayUrl }), false),
      r("GET", "/gateway/bot", () =>
        Response.json({
          url: this.gatewayUrl,
          shards: 1,
          session_start_limit: { total: 1000, remaining: 1000 - this.identifies.length, reset_after: 86_400_000, max_concurrency: 1 },
        }),
      ),
      r("GET", "/users/@me", () => Response.json(this.botUser)),
      r("GET", "/users/:id", ({ params }) => {
        const u = this.users.get(params.id!)
        return u ? Response.json(u) : errors.unknownUser()
      }),
      r("POST", "/users/@me/channels", ({ call }) => {
        const id = call.body?.recipient_id
        if (typeof id !== "string") return errors.invalidForm("recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
        return Response.json(this.#dmChannel(this.#user(id)))
      }),
      r("GET", "/guilds/:id", ({ params }) => {
        if (!this.#guilds.has(params.id!)) return errors.unknownGuild()
        const { members: _m, channels: _c, threads: _t, voice_states: _v, presences: _p, joined_at: _j, ...guild } = this.#guildCreatePayload(params.id!)
        return Response.json(guild)
      }),
      r("GET", "/guilds/:id/channels", ({ params }) => {
        if (!this.#guilds.has(params.id!)) return errors.unknownGuild()
        return Response.json(this.#guildCreatePayload(params.id!).channels)
      }),
      r("GET", "/channels/:id", ({ params }) => {
        const c = channelOr404(params.id!)
        return c ? Response.json(c) : errors.unknownChannel()
      }),
      r("GET", "/channels/:id/messages", ({ params, url }) => {
        if (!channelOr404(params.id!)) return errors.unknownChannel()
        const limit = Math.min(100, Number(url.searchParams.get("limit") ?? 50))
        const before = url.searchParams.get("before")
        const after = url.searchParams.get("after")
        const list = [...this.messages.values()]
          .filter((m) => m.channel_id === params.id)
          .filter((m) => (!before || BigInt(m.id) < BigInt(before)) && (!after || BigInt(m.id) > BigInt(after)))
          .reverse()
        return Response.json(list.slice(0, limit))
      }),
      r("GET", "/channels/:id/messages/:mid", ({ params }) => {
        if (!channelOr404(params.id!)) return errors.unknownChannel()
        const m = messageIn(params.id!, params.mid!)
        return m ? Response.json(m) : errors.unknownMessage()
      }),
      r("POST", "/channels/:id/messages", ({ params, call }) => this.#botMessage(params.id!, call)),
      r("PATCH", "/channels/:id/messages/:mid", ({ params, call }) => this.#botEdit(params.id!, params.mid!, call)),
      r("DELETE", "/channels/:id/messages/:mid", ({ params }) => {
        const channel = channelOr404(params.id!)
        if (!channel) return errors.unknownChannel()
        const m = messageIn(params.id!, params.mid!)
        if (!m) return errors.unknownMessage()
        this.messages.delete(m.id)
        const intent = channel.guild_id ? Intent.GuildMessages : Intent.DirectMessages
        this.#broadcast("MESSAGE_DELETE", intent, () => ({ id: m.id, channel_id: m.channel_id, ...(channel.guild_id ? { guild_id: channel.guild_id } : {}) }))
        return noContent()
      }),
      r("POST", "/channels/:id/typing", ({ params }) => {
        const channel = channelOr404(params.id!)
        if (!channel) return errors.unknownChannel()
        const intent = channel.guild_id ? Intent.GuildMessageTyping : Intent.DirectMessageTyping
        this.#broadcast("TYPING_START", intent, () => ({
          channel_id: channel.id,
          user_id: this.botUser.id,
          timestamp: Math.floor(Date.now() / 1000),
          ...(channel.guild_id ? { guild_id: channel.guild_id, member: this.#member(this.#guilds.get(channel.guild_id)!.joinedAt, this.botUser) } : {}),
        }))
        return noContent()
      }),
      r("PUT", "/channels/:id/messages/:mid/reactions/:emoji/@me", ({ params }) => this.#react(params.id!, params.mid!, params.emoji!, true)),
      r("DELETE", "/channels/:id/messages/:mid/reactions/:emoji/@me", ({ params }) => this.#react(params.id!, params.mid!, params.emoji!, false)),
      r("POST", "/channels/:id/messages/:mid/threads", ({ params, call }) => {
        const parent = channelOr404(params.id!)
        if (!parent?.guild_id) return errors.unknownChannel()
        if (!messageIn(params.id!, params.mid!)) return errors.unknownMessage()
        // A thread started from a message takes the message's id.
        return Response.json(this.#startThread(parent, params.mid!, call.body, ChannelKind.PublicThread))
      }),
      r("POST", "/channels/:id/threads", ({ params, call }) => {
        const parent = channelOr404(params.id!)
        if (!parent?.guild_id) return errors.unknownChannel()
        return Response.json(this.#startThread(parent, this.#snowflake(), call.body, call.body?.type ?? ChannelKind.PrivateThread))
      }),
      r("PUT", "/channels/:id/thread-members/@me", ({ params }) => (channelOr404(params.id!) ? noContent() : errors.unknownChannel())),
    ]
  }

  #botMessage(channelId: string, call: DiscordCall): Response {
    const channel = this.channels.get(channelId)
    if (!channel) return errors.unknownChannel()
    const body: Json = call.body ?? {}
    const content = typeof body.content === "string" ? body.content : ""
    if (content.length > 2000) return errors.invalidForm("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    const attachments = this.#uploads(channel.id, call)
    const hasEmbeds = Array.isArray(body.embeds) && body.embeds.length > 0
    const hasOther = (Array.isArray(body.components) && body.components.length > 0) || Array.isArray(body.sticker_ids) || body.poll
    if (!content && !attachments.length && !hasEmbeds && !hasOther) return errors.emptyMessage()
    const ref = body.message_reference
    let replyTo: string | undefined
    if (ref?.message_id) {
      const refChannel = ref.channel_id ?? channel.id
      if (this.messages.get(ref.message_id)?.channel_id === refChannel) replyTo = ref.message_id
      else if (ref.fail_if_not_exists !== false) return errors.invalidForm("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
    }
    const message = this.#createMessage(channel, this.botUser, { content, attachments, mentions: this.#mentionsIn(content), body })
    if (replyTo) this.#attachReference(message, channel, replyTo)
    this.#dispatchMessage("MESSAGE_CREATE", message)
    return Response.json(message)
  }

  #botEdit(channelId: string, messageId: string, call: DiscordCall): Response {
    if (!this.channels.has(channelId)) return errors.unknownChannel()
    const message = this.messages.get(messageId)
    if (!message || message.channel_id !== channelId) return errors.unknownMessage()
    if (message.author.id !== this.botUser.id) return errors.notAuthor()
    const body: Json = call.body ?? {}
    if (typeof body.content === "string") {
      if (body.content.length > 2000) return errors.invalidForm("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
      message.content = body.content
      message.mentions = this.#mentionsIn(body.content)
    } else if (body.content === null) message.content = ""
    if (Array.isArray(body.embeds)) message.embeds = body.embeds
    if (Array.isArray(body.components)) message.components = body.components
    if (typeof body.flags === "number") message.flags = body.flags
    const uploaded = this.#uploads(channelId, call)
    if (Array.isArray(body.attachments)) {
      // On edit `attachments` lists what to keep (existing ids) and which files[n] are new.
      const kept = body.attachments.map((a: Json) => message.attachments.find((x) => x.id === String(a.id))).filter(Boolean) as APIAttachment[]
      message.attachments = [...kept, ...uploaded]
    } else message.attachments = [...message.attachments, ...uploaded]
    message.edited_timestamp = isoNow()
    this.#dispatchMessage("MESSAGE_UPDATE", message)
    return Response.json(message)
  }

  /** Attachments for files[n] parts, described by the matching `attachments[{id: n}]` entries of the payload. */
  #uploads(channelId: string, call: DiscordCall): APIAttachment[] {
    const described: Json[] = Array.isArray(call.body?.attachments) ? call.body.attachments : []
    return call.files.map((f) => {
      const n = /^files\[(\d+)\]$/.exec(f.field)?.[1]
      const meta = described.find((a) => String(a.id) === n)
      return this.#storeAttachment(channelId, meta?.filename ?? f.filename, f.data, f.contentType, meta?.description)
    })
  }

  #react(channelId: string, messageId: string, rawEmoji: string, add: boolean): Response {
    const channel = this.channels.get(channelId)
    if (!channel) return errors.unknownChannel()
    const message = this.messages.get(messageId)
    if (!message || message.channel_id !== channelId) return errors.unknownMessage()
    // The path carries a unicode emoji or name:id for a custom one (URL-encoded).
    const [name, id] = rawEmoji.split(":")
    if (!name || (id !== undefined && !/^\d+$/.test(id))) return errors.unknownEmoji()
    const emoji = { id: id ?? null, name }
    const reactions = (message.reactions ??= [])
    const existing = reactions.find((r) => r.emoji.name === name && (r.emoji.id ?? null) === emoji.id)
    if (add && !existing?.me) {
      if (existing) {
        existing.count++
        existing.count_details.normal++
        existing.me = true
      } else reactions.push({ count: 1, count_details: { burst: 0, normal: 1 }, me: true, me_burst: false, emoji, burst_colors: [] })
    } else if (!add && existing?.me) {
      existing.count--
      existing.count_details.normal--
      existing.me = false
      if (existing.count === 0) reactions.splice(reactions.indexOf(existing), 1)
    } else return noContent()
    const guildId: string | undefined = channel.guild_id
    const intent = guildId ? Intent.GuildMessageReactions : Intent.DirectMessageReactions
    this.#broadcast(add ? "MESSAGE_REACTION_ADD" : "MESSAGE_REACTION_REMOVE", intent, () => ({
      user_id: this.botUser.id,
      channel_id: channelId,
      message_id: messageId,
      emoji,
      burst: false,
      type: 0,
      ...(guildId ? { guild_id: guildId } : {}),
      ...(add
        ? {
            message_author_id: message.author.id,
            burst_colors: [],
            ...(guildId ? { member: this.#member(this.#guilds.get(guildId)!.joinedAt, this.botUser) } : {}),
          }
        : {}),
    }))
    return noContent()
  }

  #startThread(parent: Json, id: string, body: Json | undefined, type: number): Json {
    const thread = this.channel(parent.guild_id, { id, name: body?.name ?? `thread-${id}`, type, parentId: parent.id })
    if (typeof body?.auto_archive_duration === "number") thread.thread_metadata.auto_archive_duration = body.auto_archive_duration
    return thread
  }

  // ── control (standalone mode) ────────────────────────────────────────────────────────────────────────────────

  /** `/_fake/*`: drive a standalone fake from another process (an e2e test, curl). */
  async #control(req: Request, url: URL): Promise<Response> {
    const body = (req.method === "POST" ? await req.json().catch(() => ({})) : {}) as Json
    try {
      switch (`${req.method} ${url.pathname}`) {
        case "GET /_fake/state":
          return Response.json({
            sent: this.sent,
            connections: this.connections,
            identifies: this.identifies,
            resumes: this.resumes,
            sessions: this.sessions(),
          })
        case "POST /_fake/guild":
          this.guild(body as FakeGuildSpec)
          return noContent()
        case "POST /_fake/user-message":
          return Response.json(this.userMessage(body as UserMessageSpec))
        case "POST /_fake/fail":
          this.failNext(body.route, body.failure)
          return noContent()
        case "POST /_fake/reconnect":
          this.reconnect()
          return noContent()
        case "POST /_fake/invalidate-session":
          this.invalidateSession(body.resumable === true)
          return noContent()
        case "POST /_fake/drop":
          this.dropConnection(body.code)
          return noContent()
      }
    } catch (e) {
      return Response.json({ error: (e as Error).message }, { status: 400 })
    }
    return Response.json({ error: `no control route ${req.method} ${url.pathname}` }, { status: 404 })
  }
}

/** Starts a fake Discord on 127.0.0.1 (port 0 unless given). */
export function startFakeDiscord(opts: FakeDiscordOptions = {}): FakeDiscord {
  return new FakeDiscord(opts)
}

function isoNow(): string {
  // Discord's timestamps carry microseconds and an explicit offset.
  return new Date().toISOString().replace("Z", "000+00:00")
}

function normaliseRoute(route: string): string {
  const [method, ...rest] = route.trim().split(/\s+/)
  let path = rest.join(" ")
  if (path.startsWith(API_PREFIX)) path = path.slice(API_PREFIX.length)
  return `${method!.toUpperCase()} ${path}`
}

function matchPattern(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!
    const s = segments[i]!
    if (p.startsWith(":")) {
      // "@me" is its own route segment, never an id.
      if (s === "@me" && p !== ":emoji") return undefined
      params[p.slice(1)] = decodeURIComponent(s)
    } else if (p !== s) return undefined
  }
  return params
}

function bucketOf(template: string): string {
  return new Bun.CryptoHasher("sha1").update(template).digest("hex").slice(0, 32)
}

function failureResponse(f: Exclude<FailSpec, "drop">, template: string): Response {
  if (f.status === 429 && "retryAfter" in f) {
    const global = f.global === true
    const headers: Record<string, string> = {
      // Discord rounds Retry-After up to whole seconds; the fake sends the exact value so tests can use short waits.
      "retry-after": String(f.retryAfter),
      "x-ratelimit-limit": "5",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": ((Date.now() + f.retryAfter * 1000) / 1000).toFixed(3),
      "x-ratelimit-reset-after": f.retryAfter.toFixed(3),
      "x-ratelimit-bucket": bucketOf(template),
      "x-ratelimit-scope": global ? "global" : "user",
      ...(global ? { "x-ratelimit-global": "true" } : {}),
    }
    return Response.json({ message: "You are being rate limited.", retry_after: f.retryAfter, global }, { status: 429, headers })
  }
  const body = "body" in f && f.body !== undefined ? f.body : { message: `${f.status}: ${statusText(f.status)}`, code: 0 }
  return Response.json(body, { status: f.status })
}

function statusText(status: number): string {
  return (
    {
      400: "Bad Request",
      401: "Unauthorized",
      403: "Forbidden",
      404: "Not Found",
      500: "Internal Server Error",
      502: "Bad Gateway",
      503: "Service Unavailable",
    }[status] ?? "Error"
  )
}

async function readBody(req: Request, call: DiscordCall): Promise<void> {
  const type = req.headers.get("content-type") ?? ""
  if (type.startsWith("multipart/form-data")) {
    const form = await req.formData()
    const body: Json = {}
    for (const [key, value] of form.entries()) {
      if (typeof value === "string") {
        if (key === "payload_json") Object.assign(body, JSON.parse(value))
        else body[key] = value
      } else {
        call.files.push({ field: key, filename: value.name, contentType: value.type, data: new Uint8Array(await value.arrayBuffer()) })
      }
    }
    call.body = body
    return
  }
  const text = await req.text()
  if (!text) return
  try {
    call.body = JSON.parse(text)
  } catch {
    call.body = text
  }
}

function guessType(filename: string): string {
  const ext = filename.split(".").pop()?.toLowerCase()
  const types: Record<string, string> = {
    png: "image/png",
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    gif: "image/gif",
    webp: "image/webp",
    txt: "text/plain; charset=utf-8",
    md: "text/markdown; charset=utf-8",
    json: "application/json",
    pdf: "application/pdf",
    mp3: "audio/mpeg",
    ogg: "audio/ogg",
    mp4: "video/mp4",
  }
  return (ext && types[ext]) || "application/octet-stream"
}

/**
 * Standalone mode: prints one JSON line {"url","port","api","gatewayUrl","token"} (url: the REST base to pass as
 * rest.api) and serves until killed; each REST call is printed on stderr as a JSON line. --config takes a JSON file of
 * FakeDiscordOptions (guilds, bot, heartbeatIntervalMs, …).
 */
function runStandalone(): void {
  const argv = process.argv.slice(2)
  const flag = (f: string) => {
    const i = argv.indexOf(f)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const config: FakeDiscordOptions = flag("--config") ? JSON.parse(readFileSync(flag("--config")!, "utf8")) : {}
  const port = flag("--port")
  const token = flag("--token")
  const fake = startFakeDiscord({ ...config, ...(port ? { port: Number(port) } : {}), ...(token ? { token } : {}) })
  let logged = 0
  setInterval(() => {
    while (logged < fake.sent.length) {
      const { method, path, status, body } = fake.sent[logged++]!
      process.stderr.write(`${JSON.stringify({ method, path, status, body })}\n`)
    }
  }, 100)
  process.stdout.write(`${JSON.stringify({ url: fake.api, port: fake.port, api: fake.api, gatewayUrl: fake.gatewayUrl, cdn: fake.cdn, token: fake.token })}\n`)
  const bye = () => void fake.stop().then(() => process.exit(0))
  process.on("SIGINT", bye)
  process.on("SIGTERM", bye)
}

if (import.meta.main) runStandalone()
