/** Chat channels: pairing requests, approved senders and the outbox of replies to deliver. */
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core"

/** A stranger's DM produced a one-time code; the owner approves or dismisses it. */
export const channelPairing = sqliteTable(
  "channel_pairing",
  {
    code: text("code").primaryKey(),
    channel: text("channel").notNull(),
    accountId: text("account_id").notNull(),
    senderId: text("sender_id").notNull(),
    senderName: text("sender_name"),
    chatId: text("chat_id").notNull(),
    /** pending → approved | dismissed | expired */
    status: text("status").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    decidedAt: integer("decided_at"),
  },
  (t) => [index("channel_pairing_sender").on(t.channel, t.senderId, t.status)],
)

/** Senders allowed to DM the bot besides the config's allowFrom (approved pairings, CLI approvals). */
export const channelAllow = sqliteTable(
  "channel_allow",
  {
    channel: text("channel").notNull(),
    senderId: text("sender_id").notNull(),
    senderName: text("sender_name"),
    via: text("via").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.channel, t.senderId] })],
)

/**
 * Replies waiting to be delivered (and what became of them). `key` is unique per chunk of a reply to a target, so a
 * reply queued twice (a run finished again after a restart, a retried `send`) is stored and sent once.
 */
export const outbox = sqliteTable(
  "outbox",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    key: text("key").notNull().unique(),
    runId: text("run_id"),
    channel: text("channel").notNull(),
    accountId: text("account_id"),
    /** { to, threadId?, replyTo? } as JSON. */
    target: text("target").notNull(),
    /** text | file */
    kind: text("kind").notNull(),
    body: text("body").notNull(),
    /** pending → sending → sent | failed */
    status: text("status").notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    lastError: text("last_error"),
    platformMessageId: text("platform_message_id"),
    createdAt: integer("created_at").notNull(),
    sentAt: integer("sent_at"),
  },
  (t) => [index("outbox_due").on(t.status, t.nextAttemptAt), index("outbox_run").on(t.runId)],
)
