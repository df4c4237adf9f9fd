/**
 * Who may talk to the agent through a channel. Direct messages follow dmPolicy (pairing by default: an unknown sender
 * gets a one-time code and nothing reaches the agent until the owner approves it); groups must be allowed and, by
 * default, mention the bot. Untrusted text never changes any of this: only config and the owner's approvals do.
 */
import type { ChannelRepo } from "../store/channels.ts"
import type { InboundMessage } from "./types.ts"

export interface AccessConfig {
  dmPolicy: "pairing" | "allowlist" | "open" | "disabled"
  allowFrom: string[]
  groups: { policy: "allowlist" | "open" | "disabled"; allow: string[]; requireMention: boolean }
  debounceMs: number
}

export type AccessDecision =
  | { action: "accept" }
  /** Reply with this pairing code (new, or the sender's live one) and stop. */
  | { action: "pair"; code: string; fresh: boolean }
  /** Drop silently (the reason goes to the debug log). */
  | { action: "drop"; reason: string }

export const PAIRING_TTL_MS = 60 * 60_000
export const MAX_PENDING_PER_CHANNEL = 3
/** No 0/O or 1/I/L: the code is read off a phone and typed into a terminal. */
const CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

export function pairingCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  return Array.from(bytes, (b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join("")
}

export function decideAccess(msg: InboundMessage, cfg: AccessConfig, repo: ChannelRepo, now = Date.now()): AccessDecision {
  if (msg.chatType !== "direct") {
    const g = cfg.groups
    if (g.policy === "disabled") return { action: "drop", reason: "groups are disabled" }
    const allowed = g.allow.includes(msg.chatId) || (msg.guildId !== undefined && g.allow.includes(msg.guildId))
    if (g.policy === "allowlist" && !allowed) return { action: "drop", reason: `group ${msg.chatId} is not in groups.allow` }
    if (g.requireMention && !msg.mentioned) return { action: "drop", reason: "not mentioned" }
    return { action: "accept" }
  }
  if (cfg.dmPolicy === "disabled") return { action: "drop", reason: "direct messages are disabled" }
  if (cfg.dmPolicy === "open") return { action: "accept" }
  if (cfg.allowFrom.includes(msg.senderId) || repo.isAllowed(msg.channel, msg.senderId)) return { action: "accept" }
  if (cfg.dmPolicy === "allowlist") return { action: "drop", reason: `sender ${msg.senderId} is not in allowFrom` }
  const live = repo.pendingFor(msg.channel, msg.senderId, now)
  if (live) return { action: "pair", code: live.code, fresh: false }
  if (repo.pending(msg.channel, now).length >= MAX_PENDING_PER_CHANNEL) {
    return { action: "drop", reason: `already ${MAX_PENDING_PER_CHANNEL} pairing requests pending on ${msg.channel}` }
  }
  const code = pairingCode()
  repo.addPairing({
    code,
    channel: msg.channel,
    accountId: msg.accountId,
    senderId: msg.senderId,
    senderName: msg.senderName ?? null,
    chatId: msg.chatId,
    createdAt: now,
    expiresAt: now + PAIRING_TTL_MS,
  })
  return { action: "pair", code, fresh: true }
}

/** What a stranger is told (no agent involved). */
export function pairingReply(channel: string, code: string): string {
  return [
    "This assistant only talks to people its owner has approved.",
    `Your pairing code: ${code} (valid for 1 hour).`,
    `Ask the owner to run: gateway pairing approve ${channel} ${code}`,
  ].join("\n")
}
