/** Every door's session spec becomes an OpenClaw-compatible session key here, and nowhere else. */
import { DEFAULT_AGENT, normalizeSessionKey, subagentKey } from "../agent/session-key.ts"
import type { SessionSpec } from "./inbound.ts"

/** Key parts come from outside (chat ids, user fields): keep them to one segment. */
function part(s: string): string {
  return s.replaceAll(":", "_").trim() || "_"
}

export function resolveSessionKey(spec: SessionSpec): string {
  const agentId = spec.agentId ?? DEFAULT_AGENT
  switch (spec.kind) {
    case "key":
      return normalizeSessionKey(spec.key, agentId)
    case "main":
      return `agent:${agentId}:main`
    case "explicit":
      return `agent:${agentId}:explicit:${spec.id}`
    case "subagent":
      return subagentKey(agentId)
    case "openai":
      return `agent:${agentId}:openai:${spec.user ?? crypto.randomUUID()}`
    case "channel": {
      // OpenClaw's per-account-channel-peer layout; groups and channels are keyed by chat, threads add a suffix.
      const account = spec.accountId ? `${part(spec.accountId)}:` : ""
      const base = `agent:${agentId}:${part(spec.channel)}:${account}${spec.chatType === "direct" ? "dm" : spec.chatType}:${part(spec.peerId)}`
      return spec.threadId ? `${base}:thread:${part(spec.threadId)}` : base
    }
  }
}
