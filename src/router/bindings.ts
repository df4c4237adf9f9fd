/**
 * Which agent answers a channel message: the most specific binding that matches wins (a conversation, then an
 * account, then the whole channel; the first listed among equals), else the default agent. Bindings only pick the
 * agent; access (pairing, allowlists, mentions) was decided by the channel before the router saw the message.
 */
import type { Config } from "../config/schema.ts"
import type { Origin } from "./inbound.ts"

type Binding = Config["bindings"][number]

/** 3: a conversation; 2: an account; 1: the channel; 0: no match. */
function specificity(b: Binding, o: Origin): number {
  const m = b.match
  if (m.channel !== o.channel) return 0
  if (m.accountId && m.accountId !== "*" && m.accountId !== o.accountId) return 0
  if (m.peer) {
    // A DM is the sender's conversation; a group or channel is the chat's. Origins stored before chatType was
    // recorded match by either id.
    const peerId = o.chatType ? (o.chatType === "direct" ? o.senderId : o.chatId) : undefined
    const kindOk = !o.chatType || o.chatType === m.peer.kind
    const idOk = peerId !== undefined ? peerId === m.peer.id : m.peer.id === o.chatId || (m.peer.kind === "direct" && m.peer.id === o.senderId)
    return kindOk && idOk ? 3 : 0
  }
  return m.accountId && m.accountId !== "*" ? 2 : 1
}

/** The bound agent for a channel origin, or undefined when no binding matches. */
export function boundAgent(bindings: readonly Binding[], origin: Origin): string | undefined {
  if (origin.door !== "channel" || !origin.channel) return undefined
  let best: { agentId: string; score: number } | undefined
  for (const b of bindings) {
    const score = specificity(b, origin)
    if (score > (best?.score ?? 0)) best = { agentId: b.agentId, score }
  }
  return best?.agentId
}
