/** Session keys as OpenClaw forms them: agent:<agentId>:<rest>; "main" is the default agent's main session. */

export const DEFAULT_AGENT = "main"

export function normalizeSessionKey(raw: string, agentId = DEFAULT_AGENT): string {
  const key = raw.trim()
  if (key.startsWith("agent:")) return key
  if (key === "" || key === "main") return `agent:${agentId}:main`
  return `agent:${agentId}:${key}`
}

export function agentIdOf(key: string): string {
  const parts = key.split(":")
  return parts[0] === "agent" && parts[1] ? parts[1] : DEFAULT_AGENT
}

export function kindOf(key: string): string {
  const rest = key.split(":").slice(2)
  if (rest[0] === "main") return "main"
  if (rest[0] === "subagent") return "subagent"
  if (rest[0] === "explicit") return "explicit"
  if (rest.includes("group")) return "group"
  if (rest.includes("dm")) return "direct"
  return "other"
}

export function subagentKey(agentId: string): string {
  return `agent:${agentId}:subagent:${crypto.randomUUID()}`
}
