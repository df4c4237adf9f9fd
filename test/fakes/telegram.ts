/**
 * A fake Telegram Bot API server speaking the real wire format, so grammY (or any Bot API client) talks to it unchanged
 * through its API root: methods at `${url}/bot<token>/<method>` (JSON, urlencoded, multipart or query string; method
 * names case-insensitive), files at `${url}/file/bot<token>/<file_path>`. Answers are `{ok:true,result}` or
 * `{ok:false,error_code,description,parameters?}` with Telegram's HTTP status and error texts.
 *
 *   const tg = startFakeTelegram()
 *   const bot = new Bot(tg.token, { client: { apiRoot: tg.url } })
 *   tg.pushMessage({ text: "hi" })                       // a private message from the default user (Alice)
 *   const call = await tg.waitFor("sendMessage")         // call.params.text, call.result.message_id …
 *   tg.failNext("sendMessage", { status: 429, retryAfter: 3 })
 *   await tg.stop()
 *
 * Behaviour worth knowing (all taken from the Bot API and TDLib):
 * - getUpdates is a real long poll: held up to `timeout` seconds, answered as soon as an update arrives; `offset`
 *   confirms (drops) every update below it, a negative offset keeps only the last -offset; `limit` caps the batch;
 *   `allowed_updates` is sticky, and by default chat_member / message_reaction / message_reaction_count are not
 *   created (pushUpdate drops them into `filtered`). A second poll while one is held answers the first with 409
 *   "terminated by other getUpdates request"; polling with a webhook set is a 409 too.
 * - parse_mode HTML, MarkdownV2 and Markdown are parsed like TDLib (same error texts and byte offsets); the stored and
 *   returned message carries the plain text and entities. The HTML check can be replaced with setHtmlValidator().
 * - Sent text is trimmed of surrounding whitespace; empty → "message text is empty", > 4096 characters →
 *   "message is too long" (captions: 1024); replies to unknown messages → "message to be replied not found" unless
 *   allow_sending_without_reply; edits with identical content → "message is not modified: …".
 *
 * Standalone: `bun test/fakes/telegram.ts [--port n] [--token t]` prints {"url","port","token"} as one JSON line;
 * a test in another process drives it through POST /__fake/{update,message,fail,stall} and GET /__fake/{sent,polls}.
 */
import type { Chat, Message, MessageEntity, PhotoSize, ReactionType, Update, User, UserFromGetMe } from "grammy/types"

export const DEFAULT_TOKEN = "123456789:TEST-fake-bot-token_AAAAAAAAAAAAAAAAAAA"
export const DEFAULT_USER: User = { id: 1001, is_bot: false, first_name: "Alice", username: "alice", language_code: "en" }
const DEFAULT_GROUP_ID = -4000000001
const DEFAULT_SUPERGROUP_ID = -1001000000001

const TEXT_LIMIT = 4096
const CAPTION_LIMIT = 1024
// Bots may only download files up to 20 MB through getFile.
const DOWNLOAD_LIMIT = 20 * 1024 * 1024

export interface UploadedFile {
  fileName: string
  mimeType: string
  bytes: Uint8Array
}

/** One API call as the fake saw it. Recorded when its answer is decided (before it goes out on the wire). */
export interface ApiCall {
  seq: number
  /** Canonical method name (sendMessage), whatever case the client used. */
  method: string
  /** Parameters, with form values coerced (numbers, booleans, JSON objects) as Telegram reads them. */
  params: Record<string, any>
  /** Uploaded files by parameter name (`document`, `photo`), attach:// references resolved. */
  files: Record<string, UploadedFile>
  /** HTTP status answered; 0 when the connection was dropped. */
  status: number
  ok: boolean
  result?: any
  error?: { error_code: number; description: string; parameters?: Record<string, unknown> }
  at: number
}

export interface PollRecord {
  seq: number
  offset?: number
  limit?: number
  timeout?: number
  allowed_updates?: string[]
  at: number
  /** HTTP status answered (200, 409, 429 …; 0 dropped, 499 the client went away); undefined while held. */
  status?: number
  /** update_ids returned. */
  updateIds: number[]
  /** Arrived while polls were stalled. */
  stalled: boolean
}

/** An injected failure: an error answer in Telegram's shape, or "drop" (the socket closes without a response). */
export type Failure = "drop" | { status: number; description?: string; retryAfter?: number; parameters?: Record<string, unknown> }

/** A custom HTML check: return the reason to reject (sent as "Bad Request: can't parse entities: <reason>"), or undefined. */
export type HtmlValidator = (html: string) => string | undefined

export interface StoredFile {
  file_id: string
  file_unique_id: string
  file_path: string
  file_size: number
  bytes: Uint8Array
  mimeType: string
  fileName?: string
}

/** A message as it arrives in Update.message. */
export type IncomingMessage = NonNullable<Update["message"]>

export interface UserMessageOptions {
  text?: string
  /** Defaults: the sender's id (private), -4000000001 (group), -1001000000001 (supergroup). */
  chatId?: number
  chatType?: "private" | "group" | "supergroup"
  chatTitle?: string
  /** The sender, merged over the default user Alice (id 1001, @alice). */
  from?: Partial<User>
  /** A forum topic: the chat becomes a forum supergroup and the message a topic message. */
  threadId?: number
  /** Explicit entities; otherwise @mentions, /commands, #hashtags and http(s) URLs are detected as Telegram does. */
  entities?: MessageEntity[]
  /** The message replied to: its id in the same chat, or the message itself. */
  replyTo?: number | Message
  photo?: Uint8Array | { bytes: Uint8Array; width?: number; height?: number }
  document?: Uint8Array | { bytes: Uint8Array; fileName?: string; mimeType?: string }
  /** Caption of a photo or document (`text` is used when no caption is given). */
  caption?: string
  date?: number
  messageId?: number
}

export interface TelegramFakeOptions {
  token?: string
  /** Overrides of the getMe answer (id defaults to the token's numeric prefix, username to fake_bot). */
  bot?: Partial<UserFromGetMe>
  port?: number
  hostname?: string
  /** HTML check: TDLib's rules (default), none ("off"), or a custom validator. */
  html?: "telegram" | "off" | HtmlValidator
  /** update_id of the first pushed update (default 100000001). */
  firstUpdateId?: number
}

export interface FakeTelegram {
  /** The API root to give the client (no trailing slash), e.g. http://127.0.0.1:4242. */
  url: string
  port: number
  token: string
  /** The bot's own user, as getMe returns it. */
  bot: UserFromGetMe
  /** Every API call except getUpdates, in order (failed and dropped ones included). */
  sent: ApiCall[]
  /** Calls of one method. */
  sentOf(method: string): ApiCall[]
  /** Every getUpdates request, in order, with the offset it carried and what it was answered. */
  polls: PollRecord[]
  readonly pollCount: number
  /** The offsets the polls carried (undefined when absent). */
  readonly offsets: (number | undefined)[]
  /** Updates pushed but never created because allowed_updates excludes their type. */
  filtered: Update[]
  /** Files the bot uploaded, in order. */
  uploads: (UploadedFile & { method: string; field: string; fileId: string; chatId: number | string; messageId: number })[]
  webhook: { url: string; params: Record<string, any> } | undefined
  /** Queues an update (update_id assigned when absent); messages in it become known for replies and edits. */
  pushUpdate(update: Omit<Update, "update_id"> & { update_id?: number }): Update
  /** Builds (does not push) a realistic message update from a user; pushUpdate assigns its update_id. */
  userMessage(opts?: UserMessageOptions): { message: IncomingMessage }
  /** userMessage + pushUpdate. */
  pushMessage(opts?: UserMessageOptions): Update & { message: IncomingMessage }
  /** Registers a file the bot can getFile and download (e.g. a photo a user sent). */
  addFile(bytes: Uint8Array, opts?: { fileName?: string; mimeType?: string; dir?: string }): StoredFile
  file(fileId: string): StoredFile | undefined
  /** The chat's current messages (user and bot, edits applied, deletions removed), in id order. */
  messages(chatId: number | string): Message[]
  /** Messages the bot sent (still present), optionally in one chat. */
  botMessages(chatId?: number | string): Message[]
  reactionsOn(chatId: number | string, messageId: number): ReactionType[]
  /** Unconfirmed updates (pushed, not yet confirmed by an offset above them). */
  pending(): Update[]
  /** Fails the next call(s) of `method` ("*" for any method; getUpdates included). */
  failNext(method: string, failure: Failure, times?: number): void
  /** getUpdates requests hang unanswered for `ms` (Infinity until stallPolls(0)); then the newest is answered normally. */
  stallPolls(ms: number): void
  setHtmlValidator(validator: "telegram" | "off" | HtmlValidator): void
  /** Resolves with the first call (already recorded or future) matching a method name or predicate. */
  waitFor(match: string | ((call: ApiCall, index: number) => boolean), timeoutMs?: number): Promise<ApiCall>
  /** Resolves once a getUpdates request is held open (the bot is waiting for updates). */
  waitForPoll(timeoutMs?: number): Promise<PollRecord>
  stop(): Promise<void>
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
    readonly parameters?: Record<string, unknown>,
  ) {
    super(description)
  }
}

const bad = (what: string) => new ApiError(400, `Bad Request: ${what}`)

const CONFLICT_POLL = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
const CONFLICT_WEBHOOK = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
const NOT_MODIFIED =
  "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"

const CHAT_ACTIONS = new Set([
  "typing",
  "upload_photo",
  "record_video",
  "upload_video",
  "record_voice",
  "upload_voice",
  "upload_document",
  "choose_sticker",
  "find_location",
  "record_video_note",
  "upload_video_note",
])

// The emoji bots may react with (ReactionTypeEmoji); anything else is REACTION_INVALID.
const REACTION_EMOJI = new Set(
  "👍 👎 ❤ 🔥 🥰 👏 😁 🤔 🤯 😱 🤬 😢 🎉 🤩 🤮 💩 🙏 👌 🕊 🤡 🥱 🥴 😍 🐳 ❤‍🔥 🌚 🌭 💯 🤣 ⚡ 🍌 🏆 💔 🤨 😐 🍓 🍾 💋 🖕 😈 😴 😭 🤓 👻 👨‍💻 👀 🎃 🙈 😇 😨 🤝 ✍ 🤗 🫡 🎅 🎄 ☃ 💅 🤪 🗿 🆒 💘 🙉 🦄 😘 💊 🙊 😎 👾 🤷‍♂ 🤷 🤷‍♀ 😡".split(
    " ",
  ),
)

const DEFAULT_EXCLUDED_UPDATES = new Set(["chat_member", "message_reaction", "message_reaction_count"])

// Form and query values arrive as strings; Telegram reads these parameters as JSON, integers or booleans.
const JSON_PARAMS = new Set([
  "reply_parameters",
  "reply_markup",
  "entities",
  "caption_entities",
  "allowed_updates",
  "reaction",
  "link_preview_options",
  "commands",
  "scope",
  "media",
  "message_ids",
])
const INT_PARAMS = new Set([
  "chat_id",
  "from_chat_id",
  "message_id",
  "message_thread_id",
  "reply_to_message_id",
  "offset",
  "limit",
  "timeout",
  "max_connections",
  "user_id",
  "direct_messages_topic_id",
])
const BOOL_PARAMS = new Set([
  "disable_notification",
  "protect_content",
  "allow_sending_without_reply",
  "is_big",
  "drop_pending_updates",
  "has_spoiler",
  "disable_content_type_detection",
  "disable_web_page_preview",
  "show_caption_above_media",
  "allow_paid_broadcast",
])

const METHODS = [
  "getMe",
  "logOut",
  "close",
  "getUpdates",
  "setWebhook",
  "deleteWebhook",
  "getWebhookInfo",
  "sendMessage",
  "editMessageText",
  "deleteMessage",
  "deleteMessages",
  "sendChatAction",
  "setMessageReaction",
  "sendDocument",
  "sendPhoto",
  "getFile",
  "getChat",
  "setMyCommands",
  "getMyCommands",
  "deleteMyCommands",
  "answerCallbackQuery",
]
const CANONICAL = new Map(METHODS.map((m) => [m.toLowerCase(), m]))

const MIME_BY_EXT: Record<string, string> = {
  txt: "text/plain",
  md: "text/markdown",
  html: "text/html",
  csv: "text/csv",
  json: "application/json",
  pdf: "application/pdf",
  zip: "application/zip",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  mp4: "video/mp4",
}

const nowSeconds = () => Math.floor(Date.now() / 1000)
const clone = <T>(v: T): T => structuredClone(v)

/** Starts the fake on 127.0.0.1 (port 0 unless given). */
export function startFakeTelegram(opts: TelegramFakeOptions = {}): FakeTelegram {
  const token = opts.token ?? DEFAULT_TOKEN
  const botId = Number(token.split(":")[0]) || 123456789
  const bot: UserFromGetMe = {
    id: botId,
    is_bot: true,
    first_name: "Fake Bot",
    username: "fake_bot",
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
    has_topics_enabled: false,
    allows_users_to_create_topics: false,
    can_manage_bots: false,
    supports_join_request_queries: false,
    ...opts.bot,
  }
  const botUser: User = { id: bot.id, is_bot: true, first_name: bot.first_name, username: bot.username }
  let htmlMode: "telegram" | "off" | HtmlValidator = opts.html ?? "telegram"

  const sent: ApiCall[] = []
  const polls: PollRecord[] = []
  const filtered: Update[] = []
  const uploads: FakeTelegram["uploads"] = []
  let queue: Update[] = []
  let lastUpdateId = (opts.firstUpdateId ?? 100000001) - 1
  let allowedUpdates: string[] | undefined
  let webhook: FakeTelegram["webhook"]
  const failures: { method: string; failure: Failure }[] = []
  let seq = 0
  let pollSeq = 0
  let stallUntil = 0
  let stallTimer: ReturnType<typeof setTimeout> | undefined

  interface ChatState {
    chat: Chat
    nextId: number
    messages: Map<number, Message>
    reactions: Map<number, ReactionType[]>
  }
  const chats = new Map<string, ChatState>()
  const files = new Map<string, StoredFile>()
  const filesByPath = new Map<string, StoredFile>()
  let fileSeq = 0

  // Waiters re-check their condition on every state change (a call recorded, a poll held or answered).
  const waiters = new Set<() => boolean>()
  const notify = () => {
    for (const w of [...waiters]) if (w()) waiters.delete(w)
  }

  interface HeldPoll {
    rec: PollRecord
    deadline: number
    timer?: ReturnType<typeof setTimeout>
    answer: (res: Response) => void
  }
  let held: HeldPoll[] = []

  // ---- chats and messages

  const chatKey = (id: number | string) => String(id)

  function inferChat(id: number | string): Chat {
    if (typeof id === "string") throw bad("chat not found")
    if (id > 0) return { id, type: "private", first_name: "User" }
    if (String(id).startsWith("-100")) return { id, type: "supergroup", title: "Supergroup" }
    return { id, type: "group", title: "Group" }
  }

  function chatState(id: number | string, chat?: Chat): ChatState {
    if (typeof id === "string" && !/^-?\d+$/.test(id)) {
      // @username addressing only reaches chats the fake already knows.
      const found = [...chats.values()].find((s) => "username" in s.chat && `@${s.chat.username}` === id)
      if (!found) throw bad("chat not found")
      return found
    }
    const key = chatKey(id)
    let state = chats.get(key)
    if (!state) {
      state = { chat: chat ?? inferChat(Number(id)), nextId: 1, messages: new Map(), reactions: new Map() }
      chats.set(key, state)
    } else if (chat) {
      state.chat = { ...state.chat, ...chat } as Chat
    }
    return state
  }

  function storeMessage(msg: Message) {
    const state = chatState(msg.chat.id, msg.chat)
    state.messages.set(msg.message_id, msg)
    state.nextId = Math.max(state.nextId, msg.message_id + 1)
  }

  /** A message as it appears inside reply_to_message: without its own reply. */
  function asReplied(msg: Message): Message {
    const { reply_to_message: _drop, ...rest } = clone(msg) as Message & { reply_to_message?: unknown }
    return rest as Message
  }

  // ---- files

  function randomId(prefix: string, bytes: number): string {
    const raw = crypto.getRandomValues(new Uint8Array(bytes))
    return prefix + Buffer.from(raw).toString("base64url")
  }

  function addFile(bytes: Uint8Array, o: { fileName?: string; mimeType?: string; dir?: string } = {}): StoredFile {
    const n = ++fileSeq
    const ext = o.fileName?.includes(".") ? o.fileName.split(".").pop()!.toLowerCase() : o.dir === "photos" ? "jpg" : "dat"
    const mimeType = o.mimeType ?? MIME_BY_EXT[ext] ?? "application/octet-stream"
    const dir = o.dir ?? (mimeType.startsWith("image/") ? "photos" : "documents")
    const prefix = dir === "photos" ? "AgACAgIAAxkBAA" : "BQACAgIAAxkBAA"
    const f: StoredFile = {
      file_id: randomId(prefix, 24),
      file_unique_id: randomId("AQAD", 9),
      file_path: `${dir}/file_${n}.${ext}`,
      file_size: bytes.byteLength,
      bytes,
      mimeType,
      ...(o.fileName ? { fileName: o.fileName } : {}),
    }
    files.set(f.file_id, f)
    filesByPath.set(f.file_path, f)
    return f
  }

  /** PhotoSize[] as Telegram returns it: smaller renditions first, each its own file_id (same bytes here). */
  function photoSizes(bytes: Uint8Array, width?: number, height?: number): PhotoSize[] {
    const dims = width && height ? { width, height } : (imageSize(bytes) ?? { width: 512, height: 512 })
    const longest = Math.max(dims.width, dims.height)
    const sizes: PhotoSize[] = []
    for (const limit of [90, 320, 800]) {
      if (longest <= limit) break
      const f = addFile(bytes, { dir: "photos", mimeType: "image/jpeg" })
      const k = limit / longest
      sizes.push({
        file_id: f.file_id,
        file_unique_id: f.file_unique_id,
        file_size: f.file_size,
        width: Math.round(dims.width * k),
        height: Math.round(dims.height * k),
      })
    }
    const k = Math.min(1, 1280 / longest)
    const f = addFile(bytes, { dir: "photos", mimeType: "image/jpeg" })
    sizes.push({
      file_id: f.file_id,
      file_unique_id: f.file_unique_id,
      file_size: f.file_size,
      width: Math.round(dims.width * k),
      height: Math.round(dims.height * k),
    })
    return sizes
  }

  // ---- formatting

  function formatText(
    raw: unknown,
    parseMode: unknown,
    explicit: unknown,
    limit: number,
    what: "text" | "caption",
  ): { text: string; entities: MessageEntity[] } {
    const source = raw === undefined || raw === null ? "" : String(raw)
    let parsed: { text: string; entities: MessageEntity[] }
    const mode = typeof parseMode === "string" ? parseMode : ""
    if (Array.isArray(explicit)) parsed = { text: source, entities: explicit as MessageEntity[] }
    else if (mode === "") parsed = { text: source, entities: [] }
    else {
      let out: ParseResult
      const lower = mode.toLowerCase()
      if (lower === "html") {
        if (htmlMode === "telegram") out = parseHtml(source)
        else {
          const reason = htmlMode === "off" ? undefined : htmlMode(source)
          if (reason !== undefined) out = { error: reason }
          else {
            const strict = parseHtml(source)
            out = "error" in strict ? { text: stripTags(source), entities: [] } : strict
          }
        }
      } else if (lower === "markdownv2") out = parseMarkdownV2(source)
      else if (lower === "markdown") out = parseMarkdown(source)
      else throw bad(`unsupported parse_mode "${mode}"`)
      if ("error" in out) throw bad(`can't parse entities: ${out.error}`)
      parsed = out
    }
    const trimmed = trimFormatted(parsed.text, parsed.entities)
    if (what === "text" && trimmed.text === "") throw bad("message text is empty")
    if ([...trimmed.text].length > limit) throw bad(what === "text" ? "message is too long" : "message caption is too long")
    return { text: trimmed.text, entities: withDetected(trimmed.text, trimmed.entities) }
  }

  // ---- outgoing messages

  function replyTarget(state: ChatState, p: Record<string, any>): Message | undefined {
    const rp = p.reply_parameters as { message_id?: number; chat_id?: number | string; allow_sending_without_reply?: boolean } | undefined
    const id = rp?.message_id ?? p.reply_to_message_id
    if (id === undefined) return undefined
    const target = (rp?.chat_id !== undefined ? chatState(rp.chat_id) : state).messages.get(Number(id))
    if (target) return target
    if (rp?.allow_sending_without_reply ?? p.allow_sending_without_reply) return undefined
    throw bad("message to be replied not found")
  }

  function newBotMessage(p: Record<string, any>, content: Record<string, unknown>): Message {
    if (p.chat_id === undefined || p.chat_id === "") throw bad("chat_id is empty")
    const state = chatState(p.chat_id)
    const reply = replyTarget(state, p)
    // A reply inside a forum topic stays in that topic, as in Telegram clients.
    const thread = p.message_thread_id ?? (reply?.is_topic_message ? reply.message_thread_id : undefined)
    const topic = thread !== undefined && "is_forum" in state.chat && state.chat.is_forum
    const markup = p.reply_markup && "inline_keyboard" in p.reply_markup ? { reply_markup: p.reply_markup } : {}
    const msg = {
      message_id: state.nextId++,
      ...(topic ? { message_thread_id: Number(thread) } : {}),
      from: botUser,
      chat: state.chat,
      date: nowSeconds(),
      ...(topic ? { is_topic_message: true } : {}),
      ...(reply ? { reply_to_message: asReplied(reply) } : {}),
      ...content,
      ...markup,
    } as unknown as Message
    state.messages.set(msg.message_id, msg)
    return clone(msg)
  }

  function uploadedOrReferenced(method: string, field: string, p: Record<string, any>, up: Record<string, UploadedFile>) {
    const file = up[field]
    if (file) return { file, stored: undefined }
    const ref = p[field]
    if (typeof ref !== "string" || ref === "") throw bad(`there is no ${field} in the request`)
    const stored = files.get(ref)
    if (stored) return { file: undefined, stored }
    // Telegram would fetch an http(s) URL itself; the fake keeps the URL and no bytes (it never leaves loopback).
    if (/^https?:\/\//.test(ref))
      return { file: { fileName: ref.split("/").pop() || field, mimeType: "application/octet-stream", bytes: new Uint8Array() }, stored: undefined }
    throw bad(`wrong file identifier/HTTP URL specified (${method})`)
  }

  /** Telegram goes by the file name's extension; the part's own type (parameters dropped) only when that says nothing. */
  function uploadMime(file: UploadedFile): { mimeType?: string } {
    const ext = file.fileName.includes(".") ? file.fileName.split(".").pop()!.toLowerCase() : ""
    const own = file.mimeType.split(";")[0]!.trim()
    if (MIME_BY_EXT[ext] || own === "" || own === "application/octet-stream") return {}
    return { mimeType: own }
  }

  // ---- method handlers

  type Handler = (p: Record<string, any>, up: Record<string, UploadedFile>) => unknown
  const handlers: Record<string, Handler> = {
    getMe: () => bot,
    logOut: () => true,
    close: () => true,
    getWebhookInfo: () => ({
      url: webhook?.url ?? "",
      has_custom_certificate: false,
      pending_update_count: queue.length,
      ...(webhook?.params.max_connections ? { max_connections: webhook.params.max_connections } : {}),
      ...(allowedUpdates?.length ? { allowed_updates: allowedUpdates } : {}),
    }),
    setWebhook: (p) => {
      const url = typeof p.url === "string" ? p.url : ""
      if (url === "") {
        webhook = undefined
        return true
      }
      if (!url.startsWith("https://")) throw bad("bad webhook: An HTTPS URL must be provided for webhook")
      webhook = { url, params: p }
      if (p.drop_pending_updates) queue = []
      if (Array.isArray(p.allowed_updates)) allowedUpdates = p.allowed_updates
      return true
    },
    deleteWebhook: (p) => {
      webhook = undefined
      if (p.drop_pending_updates) queue = []
      return true
    },
    sendMessage: (p) => {
      const { text, entities } = formatText(p.text, p.parse_mode, p.entities, TEXT_LIMIT, "text")
      const msg = newBotMessage(p, { text, ...(entities.length ? { entities } : {}) })
      return msg
    },
    editMessageText: (p) => {
      const { text, entities } = formatText(p.text, p.parse_mode, p.entities, TEXT_LIMIT, "text")
      if (p.inline_message_id !== undefined) return true
      if (p.chat_id === undefined) throw bad("chat_id is empty")
      const state = chatState(p.chat_id)
      const msg = state.messages.get(Number(p.message_id))
      if (!msg) throw bad("message to edit not found")
      if (msg.from?.id !== bot.id) throw bad("message can't be edited")
      if (msg.text === undefined) throw bad("there is no text in the message to edit")
      const markup = p.reply_markup && "inline_keyboard" in p.reply_markup ? p.reply_markup : undefined
      const same =
        msg.text === text &&
        JSON.stringify(msg.entities ?? []) === JSON.stringify(entities) &&
        JSON.stringify((msg as { reply_markup?: unknown }).reply_markup) === JSON.stringify(markup)
      if (same) throw bad(NOT_MODIFIED)
      const edited = { ...msg, edit_date: nowSeconds(), text } as Message & Record<string, unknown>
      if (entities.length) edited.entities = entities
      else delete edited.entities
      if (markup) edited.reply_markup = markup
      else delete edited.reply_markup
      state.messages.set(msg.message_id, edited)
      return clone(edited)
    },
    deleteMessage: (p) => {
      const state = chatState(p.chat_id)
      if (!state.messages.delete(Number(p.message_id))) throw bad("message to delete not found")
      return true
    },
    deleteMessages: (p) => {
      const state = chatState(p.chat_id)
      for (const id of Array.isArray(p.message_ids) ? p.message_ids : []) state.messages.delete(Number(id))
      return true
    },
    sendChatAction: (p) => {
      chatState(p.chat_id)
      if (!CHAT_ACTIONS.has(p.action)) throw bad("wrong parameter action in request")
      return true
    },
    setMessageReaction: (p) => {
      const state = chatState(p.chat_id)
      const msg = state.messages.get(Number(p.message_id))
      if (!msg) throw bad("message to react not found")
      const reaction: ReactionType[] = Array.isArray(p.reaction) ? p.reaction : []
      for (const r of reaction) {
        // Clients often send "❤️" (with the emoji variation selector); Telegram's list spells it without.
        if (r.type === "emoji" && !REACTION_EMOJI.has(r.emoji.replace(/\uFE0F/g, ""))) throw bad("REACTION_INVALID")
      }
      state.reactions.set(msg.message_id, reaction)
      return true
    },
    sendDocument: (p, up) => {
      const { file, stored } = uploadedOrReferenced("sendDocument", "document", p, up)
      const f = stored ?? addFile(file!.bytes, { fileName: file!.fileName, dir: "documents", ...uploadMime(file!) })
      const { text, entities } = formatText(p.caption, p.parse_mode, p.caption_entities, CAPTION_LIMIT, "caption")
      const document = {
        ...(f.fileName ? { file_name: f.fileName } : {}),
        mime_type: f.mimeType,
        file_id: f.file_id,
        file_unique_id: f.file_unique_id,
        file_size: f.file_size,
      }
      const msg = newBotMessage(p, { document, ...(text ? { caption: text } : {}), ...(entities.length ? { caption_entities: entities } : {}) })
      if (file) uploads.push({ ...file, method: "sendDocument", field: "document", fileId: f.file_id, chatId: msg.chat.id, messageId: msg.message_id })
      return msg
    },
    sendPhoto: (p, up) => {
      const { file, stored } = uploadedOrReferenced("sendPhoto", "photo", p, up)
      const bytes = stored?.bytes ?? file!.bytes
      const photo = photoSizes(bytes)
      const { text, entities } = formatText(p.caption, p.parse_mode, p.caption_entities, CAPTION_LIMIT, "caption")
      const msg = newBotMessage(p, { photo, ...(text ? { caption: text } : {}), ...(entities.length ? { caption_entities: entities } : {}) })
      if (file)
        uploads.push({ ...file, method: "sendPhoto", field: "photo", fileId: photo[photo.length - 1]!.file_id, chatId: msg.chat.id, messageId: msg.message_id })
      return msg
    },
    getFile: (p) => {
      const f = typeof p.file_id === "string" ? files.get(p.file_id) : undefined
      if (!f) throw bad("invalid file_id")
      if (f.file_size > DOWNLOAD_LIMIT) throw bad("file is too big")
      return { file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: f.file_size, file_path: f.file_path }
    },
    getChat: (p) => ({ ...chatState(p.chat_id).chat, accent_color_id: 0, max_reaction_count: 11, accepted_gift_types: {} }),
    setMyCommands: () => true,
    deleteMyCommands: () => true,
    getMyCommands: () => [],
    answerCallbackQuery: () => true,
  }

  // ---- request plumbing

  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

  const errorBody = (e: ApiError) => ({ ok: false, error_code: e.status, description: e.description, ...(e.parameters ? { parameters: e.parameters } : {}) })

  // Erroring the body stream before the first byte makes Bun close the socket with no status line at all.
  const dropped = () => new Response(new ReadableStream({ start: (c) => c.error(undefined) }))

  function failureError(f: Exclude<Failure, "drop">): ApiError {
    if (f.status === 429) {
      const retryAfter = f.retryAfter ?? 1
      return new ApiError(429, f.description ?? `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter, ...f.parameters })
    }
    const defaults: Record<number, string> = {
      400: "Bad Request: fake failure",
      401: "Unauthorized",
      403: "Forbidden: bot was blocked by the user",
      404: "Not Found",
      409: CONFLICT_POLL,
      500: "Internal Server Error",
      502: "Bad Gateway",
    }
    return new ApiError(f.status, f.description ?? defaults[f.status] ?? `Error ${f.status}`, f.parameters)
  }

  function failureResponse(f: Failure): { res: Response; status: number; error?: ApiError } {
    if (f === "drop") return { res: dropped(), status: 0 }
    const e = failureError(f)
    const headers: Record<string, string> = e.status === 429 ? { "retry-after": String(e.parameters?.retry_after) } : {}
    return { res: json(e.status, errorBody(e), headers), status: e.status, error: e }
  }

  function takeFailure(method: string): Failure | undefined {
    const i = failures.findIndex((f) => f.method === "*" || f.method.toLowerCase() === method.toLowerCase())
    return i < 0 ? undefined : failures.splice(i, 1)[0]!.failure
  }

  function coerce(key: string, value: string): unknown {
    if (JSON_PARAMS.has(key)) {
      try {
        return JSON.parse(value)
      } catch {
        throw bad(`can't parse ${key} JSON object`)
      }
    }
    if (INT_PARAMS.has(key) && /^-?\d+$/.test(value)) return Number(value)
    if (BOOL_PARAMS.has(key)) return value === "true" || value === "1"
    return value
  }

  async function readParams(req: Request, url: URL): Promise<{ params: Record<string, any>; files: Record<string, UploadedFile> }> {
    const params: Record<string, any> = {}
    const up: Record<string, UploadedFile> = {}
    for (const [k, v] of url.searchParams) params[k] = coerce(k, v)
    const type = req.headers.get("content-type") ?? ""
    if (req.method === "POST" && type.includes("application/json")) {
      const text = await req.text()
      if (text.trim() !== "") {
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          throw bad("can't parse JSON object")
        }
        if (typeof body !== "object" || body === null || Array.isArray(body)) throw bad("can't parse JSON object")
        Object.assign(params, body)
      }
    } else if (req.method === "POST" && type.includes("application/x-www-form-urlencoded")) {
      for (const [k, v] of new URLSearchParams(await req.text())) params[k] = coerce(k, v)
    } else if (req.method === "POST" && type.includes("multipart/form-data")) {
      const parts = new Map<string, UploadedFile>()
      for (const [k, v] of await req.formData()) {
        if (typeof v === "string") params[k] = coerce(k, v)
        else parts.set(k, { fileName: v.name || k, mimeType: v.type || "application/octet-stream", bytes: new Uint8Array(await v.arrayBuffer()) })
      }
      // grammY sends `document: "attach://<id>"` plus a part named <id>; other clients send the file as `document` itself.
      for (const [k, v] of Object.entries(params)) {
        if (typeof v === "string" && v.startsWith("attach://") && parts.has(v.slice(9))) {
          up[k] = parts.get(v.slice(9))!
          parts.delete(v.slice(9))
        }
      }
      for (const [k, v] of parts) up[k] = v
    }
    if (typeof params.chat_id === "string" && /^-?\d+$/.test(params.chat_id)) params.chat_id = Number(params.chat_id)
    return { params, files: up }
  }

  function record(method: string, params: Record<string, any>, up: Record<string, UploadedFile>, status: number, result?: unknown, error?: ApiError): ApiCall {
    const call: ApiCall = {
      seq: ++seq,
      method,
      params,
      files: up,
      status,
      ok: status === 200,
      ...(status === 200 ? { result } : {}),
      ...(error ? { error: { error_code: error.status, description: error.description, ...(error.parameters ? { parameters: error.parameters } : {}) } } : {}),
      at: Date.now(),
    }
    sent.push(call)
    notify()
    return call
  }

  // ---- long polling

  const stalled = () => Date.now() < stallUntil

  function isAllowed(update: Update): boolean {
    const type = Object.keys(update).find((k) => k !== "update_id") ?? ""
    return allowedUpdates?.length ? allowedUpdates.includes(type) : !DEFAULT_EXCLUDED_UPDATES.has(type)
  }

  function finish(h: HeldPoll, status: number, res: Response, updateIds: number[] = []) {
    if (h.timer) clearTimeout(h.timer)
    held = held.filter((x) => x !== h)
    h.rec.status = status
    h.rec.updateIds = updateIds
    h.answer(res)
    notify()
  }

  /** Answers a held poll if it can be answered now: older polls lose to the newest, updates go out, deadlines end. */
  function settle(h: HeldPoll) {
    if (stalled() || !held.includes(h)) return
    if (held[held.length - 1] !== h) {
      finish(h, 409, json(409, { ok: false, error_code: 409, description: CONFLICT_POLL }))
      return
    }
    const batch = queue.slice(0, h.rec.limit ?? 100)
    if (batch.length > 0)
      finish(
        h,
        200,
        json(200, { ok: true, result: batch }),
        batch.map((u) => u.update_id),
      )
    else if (Date.now() >= h.deadline) finish(h, 200, json(200, { ok: true, result: [] }))
  }

  const settleAll = () => {
    for (const h of [...held]) settle(h)
  }

  function applyOffset(offset: number | undefined) {
    if (offset === undefined || offset === 0) return
    if (offset > 0) queue = queue.filter((u) => u.update_id >= offset)
    else queue = queue.slice(offset)
  }

  async function poll(req: Request, params: Record<string, any>): Promise<Response> {
    const limit = params.limit === undefined ? undefined : Math.min(100, Math.max(1, Number(params.limit)))
    const rec: PollRecord = {
      seq: ++pollSeq,
      ...(params.offset !== undefined ? { offset: Number(params.offset) } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(params.timeout !== undefined ? { timeout: Number(params.timeout) } : {}),
      ...(Array.isArray(params.allowed_updates) ? { allowed_updates: params.allowed_updates } : {}),
      at: Date.now(),
      updateIds: [],
      stalled: stalled(),
    }
    polls.push(rec)
    const failure = takeFailure("getUpdates")
    if (failure) {
      const f = failureResponse(failure)
      rec.status = f.status
      notify()
      return f.res
    }
    if (webhook) {
      rec.status = 409
      notify()
      return json(409, { ok: false, error_code: 409, description: CONFLICT_WEBHOOK })
    }
    applyOffset(rec.offset)
    if (rec.allowed_updates) allowedUpdates = rec.allowed_updates
    return new Promise<Response>((resolve) => {
      const h: HeldPoll = { rec, deadline: Date.now() + Math.max(0, rec.timeout ?? 0) * 1000, answer: resolve }
      held.push(h)
      req.signal.addEventListener(
        "abort",
        () => {
          if (held.includes(h)) finish(h, 499, new Response(null, { status: 499 }))
        },
        { once: true },
      )
      // A new poll terminates the one held before it (unless the network is "stalled": nothing gets through).
      settleAll()
      if (held.includes(h) && h.deadline > Date.now()) h.timer = setTimeout(() => settle(h), h.deadline - Date.now())
      notify()
    })
  }

  // ---- the server

  async function handleApi(req: Request, url: URL, tokenInPath: string, methodInPath: string): Promise<Response> {
    if (tokenInPath !== token && decodeURIComponent(tokenInPath) !== token) return json(401, { ok: false, error_code: 401, description: "Unauthorized" })
    const method = CANONICAL.get(methodInPath.toLowerCase()) ?? methodInPath
    let params: Record<string, any>
    let up: Record<string, UploadedFile>
    try {
      ;({ params, files: up } = await readParams(req, url))
    } catch (e) {
      if (e instanceof ApiError) {
        record(method, {}, {}, e.status, undefined, e)
        return json(e.status, errorBody(e))
      }
      throw e
    }
    if (method === "getUpdates") return poll(req, params)
    const failure = takeFailure(method)
    if (failure) {
      const f = failureResponse(failure)
      record(method, params, up, f.status, undefined, f.error)
      return f.res
    }
    const handler = handlers[method]
    if (!handler) {
      const e = new ApiError(404, "Not Found")
      record(method, params, up, 404, undefined, e)
      return json(404, errorBody(e))
    }
    try {
      const result = handler(params, up)
      record(method, params, up, 200, result)
      return json(200, { ok: true, result })
    } catch (e) {
      if (!(e instanceof ApiError)) throw e
      record(method, params, up, e.status, undefined, e)
      return json(e.status, errorBody(e))
    }
  }

  function handleFile(tokenInPath: string, path: string): Response {
    if (tokenInPath !== token && decodeURIComponent(tokenInPath) !== token) return json(401, { ok: false, error_code: 401, description: "Unauthorized" })
    const f = filesByPath.get(path)
    if (!f) return json(404, { ok: false, error_code: 404, description: "Not Found" })
    return new Response(f.bytes, { headers: { "content-type": f.mimeType, "content-length": String(f.bytes.byteLength) } })
  }

  async function handleControl(req: Request, what: string): Promise<Response> {
    const body: any = req.method === "POST" ? await req.json().catch(() => ({})) : {}
    const b64 = (v: unknown) => (typeof v === "string" ? new Uint8Array(Buffer.from(v, "base64")) : v)
    switch (what) {
      case "update":
        return Response.json(fake.pushUpdate(body))
      case "message": {
        const o = { ...body }
        if (o.photo) o.photo = o.photo.bytes !== undefined ? { ...o.photo, bytes: b64(o.photo.bytes) } : b64(o.photo)
        if (o.document) o.document = o.document.bytes !== undefined ? { ...o.document, bytes: b64(o.document.bytes) } : b64(o.document)
        return Response.json(fake.pushMessage(o))
      }
      case "fail":
        fake.failNext(body.method, body.failure, body.times)
        return Response.json(true)
      case "stall":
        fake.stallPolls(body.ms === null ? Number.POSITIVE_INFINITY : Number(body.ms))
        return Response.json(true)
      case "sent":
        return Response.json(
          sent.map((c) => ({
            ...c,
            files: Object.fromEntries(Object.entries(c.files).map(([k, f]) => [k, { ...f, bytes: Buffer.from(f.bytes).toString("base64") }])),
          })),
        )
      case "polls":
        return Response.json(polls)
      default:
        return json(404, { ok: false, error_code: 404, description: "Not Found" })
    }
  }

  const server = Bun.serve({
    port: opts.port ?? 0,
    hostname: opts.hostname ?? "127.0.0.1",
    // Long polls are held for up to `timeout` seconds; Bun's idle timeout must not cut them first.
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url)
      const fileRoute = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname)
      if (fileRoute) return handleFile(fileRoute[1]!, decodeURIComponent(fileRoute[2]!))
      const apiRoute = /^\/bot([^/]*)\/([A-Za-z]+)$/.exec(url.pathname)
      if (apiRoute) return handleApi(req, url, apiRoute[1]!, apiRoute[2]!)
      const control = /^\/__fake\/([a-z]+)$/.exec(url.pathname)
      if (control) return handleControl(req, control[1]!)
      return json(404, { ok: false, error_code: 404, description: "Not Found" })
    },
  })

  // ---- test controls

  function pushUpdate(input: Omit<Update, "update_id"> & { update_id?: number }): Update {
    const update_id = input.update_id ?? lastUpdateId + 1
    lastUpdateId = Math.max(lastUpdateId, update_id)
    const update = { update_id, ...input } as Update
    for (const key of ["message", "edited_message", "channel_post", "edited_channel_post", "business_message"] as const) {
      const m = update[key]
      if (m) storeMessage(clone(m) as Message)
    }
    // Telegram never creates updates the bot's allowed_updates excludes, so they can't show up later either.
    if (!isAllowed(update)) {
      filtered.push(update)
      return update
    }
    queue.push(update)
    queue.sort((a, b) => a.update_id - b.update_id)
    settleAll()
    return update
  }

  function userMessage(o: UserMessageOptions = {}): { message: IncomingMessage } {
    const from: User = { ...DEFAULT_USER, ...o.from } as User
    const type = o.chatType ?? (o.chatId !== undefined && o.chatId < 0 ? (String(o.chatId).startsWith("-100") ? "supergroup" : "group") : "private")
    const chatId = o.chatId ?? (type === "private" ? from.id : type === "group" ? DEFAULT_GROUP_ID : DEFAULT_SUPERGROUP_ID)
    const known = chats.get(chatKey(chatId))?.chat
    let chat: Chat
    if (type === "private") {
      chat = {
        id: chatId,
        type,
        first_name: from.first_name,
        ...(from.last_name ? { last_name: from.last_name } : {}),
        ...(from.username ? { username: from.username } : {}),
      }
    } else if (type === "group") {
      chat = { id: chatId, type, title: o.chatTitle ?? (known && "title" in known ? known.title : "Test Group") } as Chat
    } else {
      const forum = o.threadId !== undefined || (known && "is_forum" in known && known.is_forum)
      chat = {
        id: chatId,
        type,
        title: o.chatTitle ?? (known && "title" in known ? known.title : "Test Supergroup"),
        ...(forum ? { is_forum: true } : {}),
      } as Chat
    }
    const state = chatState(chatId, chat)
    const messageId = o.messageId ?? state.nextId++
    state.nextId = Math.max(state.nextId, messageId + 1)
    let reply: Message | undefined
    if (o.replyTo !== undefined) {
      reply = typeof o.replyTo === "number" ? state.messages.get(o.replyTo) : o.replyTo
      if (!reply) throw new Error(`fake telegram: userMessage replyTo ${String(o.replyTo)}: no such message in chat ${chatId}`)
    }
    const msg: Record<string, unknown> = { message_id: messageId }
    if (o.threadId !== undefined) msg.message_thread_id = o.threadId
    msg.from = from
    msg.chat = state.chat
    msg.date = o.date ?? nowSeconds()
    if (o.threadId !== undefined && type === "supergroup") msg.is_topic_message = true
    if (reply) msg.reply_to_message = asReplied(reply)
    const media = o.photo !== undefined || o.document !== undefined
    if (o.photo !== undefined) {
      const p = o.photo instanceof Uint8Array ? { bytes: o.photo } : o.photo
      msg.photo = photoSizes(p.bytes, p.width, p.height)
    }
    if (o.document !== undefined) {
      const d = o.document instanceof Uint8Array ? { bytes: o.document } : o.document
      const f = addFile(d.bytes, { fileName: d.fileName ?? "file.dat", ...(d.mimeType ? { mimeType: d.mimeType } : {}), dir: "documents" })
      msg.document = { file_name: f.fileName, mime_type: f.mimeType, file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: f.file_size }
    }
    const body = media ? (o.caption ?? o.text) : o.text
    if (body !== undefined) {
      const entities = o.entities ?? detectEntities(body, [])
      if (media) {
        msg.caption = body
        if (entities.length) msg.caption_entities = entities
      } else {
        msg.text = body
        if (entities.length) msg.entities = entities
      }
    }
    return { message: msg as unknown as IncomingMessage }
  }

  function waitUntil<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const now = check()
      if (now !== undefined) return resolve(now)
      const timer = setTimeout(() => {
        waiters.delete(w)
        reject(new Error(`fake telegram: ${describe()} within ${timeoutMs} ms`))
      }, timeoutMs)
      const w = () => {
        const v = check()
        if (v === undefined) return false
        clearTimeout(timer)
        resolve(v)
        return true
      }
      waiters.add(w)
    })
  }

  const port = server.port as number
  const fake: FakeTelegram = {
    url: `http://${opts.hostname ?? "127.0.0.1"}:${port}`,
    port,
    token,
    bot,
    sent,
    sentOf: (method) => sent.filter((c) => c.method.toLowerCase() === method.toLowerCase()),
    polls,
    get pollCount() {
      return polls.length
    },
    get offsets() {
      return polls.map((p) => p.offset)
    },
    filtered,
    uploads,
    get webhook() {
      return webhook
    },
    pushUpdate,
    userMessage,
    pushMessage: (o) => pushUpdate(userMessage(o)) as Update & { message: IncomingMessage },
    addFile,
    file: (id) => files.get(id),
    messages: (chatId) => {
      const state = chats.get(chatKey(chatId))
      return state ? [...state.messages.values()].sort((a, b) => a.message_id - b.message_id).map(clone) : []
    },
    botMessages: (chatId) => {
      const states = chatId === undefined ? [...chats.values()] : [chats.get(chatKey(chatId))].filter((s) => s !== undefined)
      return states.flatMap((s) => [...s.messages.values()].filter((m) => m.from?.id === bot.id).map(clone))
    },
    reactionsOn: (chatId, messageId) => clone(chats.get(chatKey(chatId))?.reactions.get(messageId) ?? []),
    pending: () => clone(queue),
    failNext(method, failure, times = 1) {
      for (let i = 0; i < times; i++) failures.push({ method, failure })
    },
    stallPolls(ms) {
      if (stallTimer) clearTimeout(stallTimer)
      stallTimer = undefined
      stallUntil = ms > 0 ? Date.now() + ms : 0
      if (ms > 0 && Number.isFinite(ms)) {
        stallTimer = setTimeout(() => {
          stallTimer = undefined
          settleAll()
        }, ms)
      }
      if (ms <= 0) settleAll()
    },
    setHtmlValidator(v) {
      htmlMode = v
    },
    waitFor(match, timeoutMs = 2000) {
      const pred = typeof match === "string" ? (c: ApiCall) => c.method.toLowerCase() === match.toLowerCase() : match
      return waitUntil(
        () => sent.find((c, i) => pred(c, i)),
        timeoutMs,
        () => `no ${typeof match === "string" ? match : "matching"} call (calls so far: ${sent.map((c) => c.method).join(", ") || "none"})`,
      )
    },
    waitForPoll(timeoutMs = 2000) {
      return waitUntil(
        () => (stalled() ? undefined : held.at(-1)?.rec),
        timeoutMs,
        () => `no getUpdates request held open (${polls.length} polls so far)`,
      )
    },
    async stop() {
      if (stallTimer) clearTimeout(stallTimer)
      for (const h of [...held]) finish(h, 499, new Response(null, { status: 499 }))
      await server.stop(true)
    },
  }
  return fake
}

// ---- formatting: TDLib's parsers, reimplemented (error texts and byte offsets as the Bot API reports them)

type ParseResult = { text: string; entities: MessageEntity[] } | { error: string }

const utf8Offset = (s: string, i: number) => Buffer.byteLength(s.slice(0, i))
const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v"

/** Decodes an HTML character reference at `i`: the four named ones and numeric ones; anything else stays literal. */
function decodeHtmlEntity(s: string, i: number): { ch: string; end: number } | undefined {
  let end = i + 1
  let code = 0
  if (s[end] === "#") {
    end++
    const hex = s[end] === "x"
    if (hex) end++
    const start = end
    while (end < s.length && (hex ? /[0-9a-fA-F]/ : /[0-9]/).test(s[end]!)) end++
    if (end === start || end - i >= 10) return undefined
    code = Number.parseInt(s.slice(start, end), hex ? 16 : 10)
    if (code === 0 || code >= 0x10ffff) return undefined
  } else {
    while (end < s.length && /[A-Za-z]/.test(s[end]!)) end++
    const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' }
    const ch = named[s.slice(i + 1, end)]
    if (ch === undefined) return undefined
    code = ch.codePointAt(0)!
  }
  if (s[end] === ";") end++
  // Lone surrogates are decoded too and rejected at the end, as TDLib does.
  return { ch: code >= 0xd800 && code <= 0xdfff ? String.fromCharCode(code) : String.fromCodePoint(code), end }
}

const HTML_TAGS = new Set([
  "a",
  "b",
  "strong",
  "i",
  "em",
  "u",
  "ins",
  "s",
  "strike",
  "del",
  "span",
  "tg-spoiler",
  "tg-emoji",
  "tg-time",
  "code",
  "pre",
  "blockquote",
])

function normalizeUrl(u: string): string | undefined {
  if (u === "" || /\s/.test(u)) return undefined
  if (/^[a-z][a-z0-9+.-]*:/i.test(u)) return u
  if (!/^[^\s/]+\.[^\s/]+/.test(u)) return undefined
  const withScheme = `http://${u}`
  return /^http:\/\/[^/?#]+$/.test(withScheme) ? `${withScheme}/` : withScheme.replace(/^(http:\/\/[^/?#]+)([?#])/, "$1/$2")
}

function linkEntity(offset: number, length: number, url: string): MessageEntity | undefined {
  const mention = /^tg:\/\/user\?id=(\d+)$/.exec(url)
  if (mention) return { type: "text_mention", offset, length, user: { id: Number(mention[1]), is_bot: false, first_name: "" } }
  const normalized = normalizeUrl(url)
  return normalized ? { type: "text_link", offset, length, url: normalized } : undefined
}

export function parseHtml(html: string): ParseResult {
  interface Open {
    tag: string
    start: number
    attrs: Map<string, string>
  }
  const n = html.length
  const stack: Open[] = []
  const entities: MessageEntity[] = []
  let text = ""
  let i = 0
  const fail = (error: string): ParseResult => ({ error })
  const at = (pos: number) => utf8Offset(html, pos)
  while (i < n) {
    const c = html[i]!
    if (c === "&") {
      const d = decodeHtmlEntity(html, i)
      if (d) {
        text += d.ch
        i = d.end
        continue
      }
    }
    if (c !== "<") {
      text += c
      i++
      continue
    }
    const begin = i++
    if (html[i] === "/") {
      if (stack.length === 0) return fail(`Unexpected end tag at byte offset ${at(begin)}`)
      i++
      let j = i
      while (j < n && !isSpace(html[j]) && html[j] !== ">") j++
      const name = html.slice(i, j).toLowerCase()
      while (j < n && isSpace(html[j])) j++
      if (j >= n || html[j] !== ">") return fail(`Unclosed end tag at byte offset ${at(begin)}`)
      const open = stack.pop()!
      if (name !== "" && name !== open.tag) return fail(`Unmatched end tag at byte offset ${at(begin)}, expected "</${open.tag}>", found "</${name}>"`)
      i = j + 1
      const length = text.length - open.start
      if (length > 0) {
        const e = tagEntity(open, length, text.slice(open.start))
        if (e) entities.push(e)
      }
      continue
    }
    let j = i
    while (j < n && !isSpace(html[j]) && html[j] !== ">") j++
    if (j >= n) return fail(`Unclosed start tag at byte offset ${at(begin)}`)
    const tag = html.slice(i, j).toLowerCase()
    if (!HTML_TAGS.has(tag)) return fail(`Unsupported start tag "${tag}" at byte offset ${at(begin)}`)
    i = j
    const attrs = new Map<string, string>()
    for (;;) {
      while (i < n && isSpace(html[i])) i++
      if (i >= n) return fail(`Unclosed start tag at byte offset ${at(begin)}`)
      if (html[i] === ">") break
      const nameStart = i
      while (i < n && !isSpace(html[i]) && html[i] !== "=" && html[i] !== ">") i++
      const name = html.slice(nameStart, i).toLowerCase()
      if (name === "") return fail(`Empty attribute name in the tag "${tag}" at byte offset ${at(begin)}`)
      while (i < n && isSpace(html[i])) i++
      if (html[i] !== "=") {
        // An attribute without a value (<blockquote expandable>).
        attrs.set(name, "")
        continue
      }
      i++
      while (i < n && isSpace(html[i])) i++
      if (i >= n) return fail(`Unclosed start tag "${tag}" at byte offset ${at(begin)}`)
      let value = ""
      const q = html[i]
      if (q === '"' || q === "'") {
        i++
        while (i < n && html[i] !== q) {
          if (html[i] === "&") {
            const d = decodeHtmlEntity(html, i)
            if (d) {
              value += d.ch
              i = d.end
              continue
            }
          }
          value += html[i++]
        }
        if (i >= n) return fail(`Unclosed start tag at byte offset ${at(begin)}`)
        i++
      } else {
        const tokenStart = i
        while (i < n && /[A-Za-z0-9.-]/.test(html[i]!)) i++
        value = html.slice(tokenStart, i).toLowerCase()
        if (i >= n || (!isSpace(html[i]) && html[i] !== ">")) return fail(`Unexpected end of name token at byte offset ${at(tokenStart)}`)
      }
      attrs.set(name, value)
    }
    i++
    if (tag === "span" && attrs.get("class") !== "tg-spoiler") return fail(`Tag "span" must have class "tg-spoiler" at byte offset ${at(begin)}`)
    if (tag === "tg-emoji" && !/^\d+$/.test(attrs.get("emoji-id") ?? "")) return fail("Invalid custom emoji identifier specified")
    if (tag === "tg-time" && !/^(r|w?[dD]?[tT]?)$/.test(attrs.get("format") ?? "")) return fail("Invalid date format used")
    stack.push({ tag, start: text.length, attrs })
  }
  if (stack.length > 0) return fail(`Can't find end tag corresponding to start tag "${stack[stack.length - 1]!.tag}"`)
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) {
    return fail("Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units")
  }
  return { text, entities: mergePreCode(entities) }

  function tagEntity(open: Open, length: number, inner: string): MessageEntity | undefined {
    const offset = open.start
    switch (open.tag) {
      case "b":
      case "strong":
        return { type: "bold", offset, length }
      case "i":
      case "em":
        return { type: "italic", offset, length }
      case "u":
      case "ins":
        return { type: "underline", offset, length }
      case "s":
      case "strike":
      case "del":
        return { type: "strikethrough", offset, length }
      case "span":
      case "tg-spoiler":
        return { type: "spoiler", offset, length }
      case "tg-emoji":
        return { type: "custom_emoji", offset, length, custom_emoji_id: open.attrs.get("emoji-id")! }
      case "tg-time":
        return {
          type: "date_time",
          offset,
          length,
          unix_time: Number(open.attrs.get("unix") ?? 0),
          date_time_format: (open.attrs.get("format") ?? "") as never,
        }
      case "blockquote":
        return { type: open.attrs.has("expandable") ? "expandable_blockquote" : "blockquote", offset, length }
      case "pre":
        return { type: "pre", offset, length }
      case "code": {
        const lang = /^language-(.+)$/.exec(open.attrs.get("class") ?? "")?.[1]
        // Kept until mergePreCode: a language only counts on a code tag that fills a pre.
        return lang ? ({ type: "code", offset, length, language: lang } as MessageEntity) : { type: "code", offset, length }
      }
      case "a":
        return open.attrs.has("href") ? linkEntity(offset, length, open.attrs.get("href")!) : linkEntity(offset, length, inner)
      default:
        return undefined
    }
  }
}

/** <pre><code class="language-x"> spanning the same text is one pre entity with that language. */
function mergePreCode(entities: MessageEntity[]): MessageEntity[] {
  const out = entities.map((e) => ({ ...e }) as MessageEntity & { language?: string })
  for (const code of out.filter((e) => e.type === "code" && e.language)) {
    const pre = out.find((e) => e.type === "pre" && e.offset === code.offset && e.length === code.length)
    if (pre) {
      pre.language = code.language
      out.splice(out.indexOf(code), 1)
    } else delete code.language
  }
  return sortEntities(out)
}

const sortEntities = (entities: MessageEntity[]) => [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length)

const MDV2_NAMES: Record<string, string> = {
  bold: "Bold",
  italic: "Italic",
  underline: "Underline",
  strikethrough: "Strikethrough",
  spoiler: "Spoiler",
  code: "Code",
  pre: "Pre",
  pre_code: "PreCode",
  text_link: "TextUrl",
  custom_emoji: "CustomEmoji",
}

export function parseMarkdownV2(src: string): ParseResult {
  interface Open {
    type: string
    start: number
    begin: number
    language?: string
  }
  const n = src.length
  const stack: Open[] = []
  const entities: MessageEntity[] = []
  let text = ""
  let i = 0
  let quote: { start: number; expandable: boolean } | undefined
  const at = (pos: number) => utf8Offset(src, pos)
  const reserved = (c: string): ParseResult => ({ error: `Character '${c}' is reserved and must be escaped with the preceding '\\'` })
  const closeQuote = () => {
    // The newline that ends the last quoted line is not part of the quotation.
    const end = text.endsWith("\n") ? text.length - 1 : text.length
    if (quote && end > quote.start)
      entities.push({ type: quote.expandable ? "expandable_blockquote" : "blockquote", offset: quote.start, length: end - quote.start })
    quote = undefined
  }
  while (i < n) {
    const c = src[i]!
    const lineStart = i === 0 || src[i - 1] === "\n"
    if (lineStart && stack.length === 0) {
      // Block quotations: consecutive lines starting with '>' ("**>" starts an expandable one).
      if (c === ">" || src.startsWith("**>", i)) {
        if (!quote) quote = { start: text.length, expandable: c !== ">" }
        i += c === ">" ? 1 : 3
        continue
      }
      if (quote) closeQuote()
    }
    if (c === "\\" && i + 1 < n && src.charCodeAt(i + 1) >= 1 && src.charCodeAt(i + 1) <= 126) {
      text += src[i + 1]
      i += 2
      continue
    }
    const top = stack[stack.length - 1]
    if (top && (top.type === "code" || top.type === "pre" || top.type === "pre_code")) {
      // Inside code only '`' means anything: it closes code, "```" closes pre, and a lone '`' in pre opens code.
      if (c !== "`") {
        text += c
        i++
        continue
      }
      if (top.type === "code") {
        stack.pop()
        if (text.length > top.start) entities.push({ type: "code", offset: top.start, length: text.length - top.start })
        i++
        continue
      }
      if (src.startsWith("```", i)) {
        stack.pop()
        if (text.length > top.start) {
          entities.push(
            top.language
              ? { type: "pre", offset: top.start, length: text.length - top.start, language: top.language }
              : { type: "pre", offset: top.start, length: text.length - top.start },
          )
        }
        i += 3
        continue
      }
      stack.push({ type: "code", start: text.length, begin: i })
      i++
      continue
    }
    if (quote && c === "|" && src.startsWith("||", i) && (i + 2 >= n || src[i + 2] === "\n") && top?.type !== "spoiler") {
      quote.expandable = true
      i += 2
      continue
    }
    if (!"_*[]()~`>#+-=|{}.!".includes(c)) {
      text += c
      i++
      continue
    }
    let endLen = 0
    if (top) {
      if (top.type === "bold" && c === "*") endLen = 1
      else if (top.type === "italic" && c === "_" && src[i + 1] !== "_") endLen = 1
      else if (top.type === "underline" && c === "_" && src[i + 1] === "_") endLen = 2
      else if (top.type === "strikethrough" && c === "~") endLen = 1
      else if (top.type === "spoiler" && c === "|" && src[i + 1] === "|") endLen = 2
      else if ((top.type === "text_link" || top.type === "custom_emoji") && c === "]") endLen = 1
    }
    if (endLen > 0) {
      stack.pop()
      i += endLen
      const length = text.length - top!.start
      if (top!.type === "text_link" || top!.type === "custom_emoji") {
        let url = ""
        if (src[i] === "(") {
          const urlStart = ++i
          while (i < n && src[i] !== ")") {
            if (src[i] === "\\" && i + 1 < n) i++
            url += src[i++]
          }
          if (i >= n) return { error: `Can't find end of a URL at byte offset ${at(urlStart)}` }
          i++
        } else if (top!.type === "text_link") url = text.slice(top!.start)
        if (top!.type === "custom_emoji") {
          if (url === "") return { error: "The entity must contain a tg://emoji or tg://time URL" }
          const id = /^tg:\/\/emoji\?id=(\d+)$/.exec(url)?.[1]
          if (!id) return { error: "Invalid tg://emoji or tg://time URL specified" }
          if (length > 0) entities.push({ type: "custom_emoji", offset: top!.start, length, custom_emoji_id: id })
        } else if (length > 0) {
          const e = linkEntity(top!.start, length, url)
          if (e) entities.push(e)
        }
        continue
      }
      if (length > 0) entities.push({ type: top!.type as "bold", offset: top!.start, length })
      continue
    }
    const begin = i
    let type: string
    if (c === "_") {
      type = src[i + 1] === "_" ? "underline" : "italic"
      i += type === "underline" ? 2 : 1
    } else if (c === "*") {
      type = "bold"
      i++
    } else if (c === "~") {
      type = "strikethrough"
      i++
    } else if (c === "|") {
      if (src[i + 1] !== "|") return reserved(c)
      type = "spoiler"
      i += 2
    } else if (c === "[") {
      type = "text_link"
      i++
    } else if (c === "!") {
      if (src[i + 1] !== "[") return reserved(c)
      type = "custom_emoji"
      i += 2
    } else if (c === "`") {
      if (src.startsWith("```", i)) {
        i += 3
        let end = i
        while (end < n && !isSpace(src[end]) && src[end] !== "`") end++
        let language: string | undefined
        if (end !== i && end < n && src[end] !== "`") {
          language = src.slice(i, end)
          i = end
        }
        // One newline right after the opening fence is not part of the code.
        if (src[i] === "\n" || src[i] === "\r") i += (src[i + 1] === "\n" || src[i + 1] === "\r") && src[i] !== src[i + 1] ? 2 : 1
        stack.push({ type: language ? "pre_code" : "pre", start: text.length, begin, ...(language ? { language } : {}) })
        continue
      }
      type = "code"
      i++
    } else return reserved(c)
    stack.push({ type, start: text.length, begin })
  }
  if (stack.length > 0) {
    const top = stack[stack.length - 1]!
    return { error: `Can't find end of ${MDV2_NAMES[top.type] ?? top.type} entity at byte offset ${at(top.begin)}` }
  }
  closeQuote()
  return { text, entities: sortEntities(entities) }
}

/** The legacy Markdown mode: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting. */
export function parseMarkdown(src: string): ParseResult {
  const entities: MessageEntity[] = []
  let text = ""
  const n = src.length
  for (let i = 0; i < n; i++) {
    const c = src[i]!
    if (c === "\\" && "_*`[".includes(src[i + 1] ?? "")) {
      text += src[++i]
      continue
    }
    if (!"_*`[".includes(c)) {
      text += c
      continue
    }
    const begin = i
    const endChar = c === "[" ? "]" : c
    let pre = false
    let language = ""
    i++
    if (c === "`" && src.startsWith("``", i)) {
      pre = true
      i += 2
      let end = i
      while (end < n && !isSpace(src[end]) && src[end] !== "`") end++
      if (end !== i && end < n && src[end] !== "`") {
        language = src.slice(i, end)
        i = end
      }
      if (src[i] === "\n" || src[i] === "\r") i += (src[i + 1] === "\n" || src[i + 1] === "\r") && src[i] !== src[i + 1] ? 2 : 1
    }
    const start = text.length
    while (i < n && (src[i] !== endChar || (pre && !src.startsWith("```", i)))) text += src[i++]
    if (i >= n) return { error: `Can't find end of the entity starting at byte offset ${utf8Offset(src, begin)}` }
    const length = text.length - start
    if (c === "[") {
      let url = text.slice(start)
      if (src[i + 1] === "(") {
        i += 2
        url = ""
        while (i < n && src[i] !== ")") url += src[i++]
      }
      const e = length > 0 ? linkEntity(start, length, url) : undefined
      if (e) entities.push(e)
    } else if (length > 0) {
      if (c === "_") entities.push({ type: "italic", offset: start, length })
      else if (c === "*") entities.push({ type: "bold", offset: start, length })
      else if (pre) entities.push(language ? { type: "pre", offset: start, length, language } : { type: "pre", offset: start, length })
      else entities.push({ type: "code", offset: start, length })
    }
    if (pre) i += 2
  }
  return { text, entities }
}

/** What a lenient HTML check leaves: tags dropped, the four named and all numeric references decoded. */
function stripTags(html: string): string {
  let out = ""
  for (let i = 0; i < html.length; ) {
    if (html[i] === "<") {
      const end = html.indexOf(">", i)
      if (end >= 0) {
        i = end + 1
        continue
      }
    }
    if (html[i] === "&") {
      const d = decodeHtmlEntity(html, i)
      if (d) {
        out += d.ch
        i = d.end
        continue
      }
    }
    out += html[i++]
  }
  return out
}

/** Telegram strips whitespace around a message; entities are clipped to what remains. */
function trimFormatted(text: string, entities: MessageEntity[]): { text: string; entities: MessageEntity[] } {
  let start = 0
  let end = text.length
  while (start < end && isSpace(text[start])) start++
  while (end > start && isSpace(text[end - 1])) end--
  if (start === 0 && end === text.length) return { text, entities }
  const clipped: MessageEntity[] = []
  for (const e of entities) {
    const s = Math.max(e.offset, start)
    const t = Math.min(e.offset + e.length, end)
    if (t > s) clipped.push({ ...e, offset: s - start, length: t - s })
  }
  return { text: text.slice(start, end), entities: clipped }
}

const DETECTORS: { type: "mention" | "bot_command" | "hashtag" | "url"; re: RegExp }[] = [
  { type: "url", re: /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'"]/g },
  { type: "mention", re: /(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![\w])/g },
  { type: "bot_command", re: /(?<![\w/])\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z][A-Za-z0-9_]{3,31})?(?![\w/])/g },
  { type: "hashtag", re: /(?<![\w#])#[\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*/gu },
]

/** The entities Telegram finds by itself (mentions, commands, hashtags, URLs), skipping text already inside code or links. */
function detectEntities(text: string, existing: MessageEntity[]): MessageEntity[] {
  const blocked = existing.filter((e) => ["code", "pre", "text_link", "text_mention", "url", "mention", "bot_command", "hashtag"].includes(e.type))
  const found: MessageEntity[] = []
  for (const { type, re } of DETECTORS) {
    for (const m of text.matchAll(re)) {
      const offset = m.index!
      const length = m[0].length
      const overlaps = [...blocked, ...found].some((e) => offset < e.offset + e.length && e.offset < offset + length)
      if (!overlaps) found.push({ type, offset, length })
    }
  }
  return sortEntities(found)
}

function withDetected(text: string, entities: MessageEntity[]): MessageEntity[] {
  return sortEntities([...entities, ...detectEntities(text, entities)])
}

/** Width and height from a PNG, JPEG or GIF header. */
function imageSize(b: Uint8Array): { width: number; height: number } | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return { width: view.getUint32(16), height: view.getUint32(20) }
  if (b.length >= 10 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return { width: view.getUint16(6, true), height: view.getUint16(8, true) }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2
    while (i + 9 < b.length && b[i] === 0xff) {
      const marker = b[i + 1]!
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
        return { height: view.getUint16(i + 5), width: view.getUint16(i + 7) }
      i += 2 + view.getUint16(i + 2)
    }
  }
  return undefined
}

if (import.meta.main) {
  const argv = process.argv.slice(2)
  const flag = (f: string) => {
    const i = argv.indexOf(f)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const port = flag("--port")
  const fake = startFakeTelegram({ port: port ? Number(port) : 0, ...(flag("--token") ? { token: flag("--token")! } : {}) })
  let logged = 0
  setInterval(() => {
    while (logged < fake.sent.length) {
      const c = fake.sent[logged++]!
      process.stderr.write(`${JSON.stringify({ method: c.method, status: c.status, params: c.params })}\n`)
    }
  }, 100)
  process.stdout.write(`${JSON.stringify({ url: fake.url, port: fake.port, token: fake.token })}\n`)
  const bye = () => void fake.stop().then(() => process.exit(0))
  process.on("SIGINT", bye)
  process.on("SIGTERM", bye)
}
