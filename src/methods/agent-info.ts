/** agents.list and agent.identity.get, read from the one agent list (src/agent/agents.ts). */
import { agentIdentity, findAgent, listAgents } from "../agent/agents.ts"
import { agentIdOf } from "../agent/session-key.ts"
import { GatewayError } from "../protocol/index.ts"
import type { PartialHandlers } from "./registry.ts"

export const agentInfoHandlers = {
  "agents.list": (_p, { gw }) => {
    const agents = listAgents(gw.config.current, { workspace: gw.paths.workspace })
    return {
      defaultId: agents.find((a) => a.isDefault)?.id ?? agents[0]!.id,
      ownership: "sole",
      selectionRequired: false,
      mainKey: "main",
      // Direct messages from each sender get their own session, as OpenClaw's default dmScope does.
      scope: "per-sender",
      agents: agents.map((a) => {
        const identity = agentIdentity(a)
        return {
          id: a.id,
          name: a.name,
          workspace: a.workspace,
          default: a.isDefault,
          identity: { name: identity.name, ...(identity.emoji ? { emoji: identity.emoji } : {}), ...(identity.avatar ? { avatar: identity.avatar } : {}) },
          ...(a.model ? { model: { primary: a.model, ...(a.fallbacks ? { fallbacks: a.fallbacks } : {}) } } : {}),
        }
      }),
    }
  },

  "agent.identity.get": (p, { gw }) => {
    const opts = { workspace: gw.paths.workspace }
    const cfg = gw.config.current
    const id = p.agentId ?? (p.sessionKey?.startsWith("agent:") ? agentIdOf(p.sessionKey) : undefined)
    const agent = id ? findAgent(cfg, opts, id) : (listAgents(cfg, opts).find((a) => a.isDefault) ?? listAgents(cfg, opts)[0])
    if (!agent) throw new GatewayError("INVALID_REQUEST", `unknown agent ${id}`, { code: "AGENT_NOT_FOUND" })
    const identity = agentIdentity(agent)
    return {
      agentId: agent.id,
      name: identity.name,
      ...(identity.emoji ? { emoji: identity.emoji } : {}),
      ...(identity.avatar ? { avatar: identity.avatar } : {}),
    }
  },
} satisfies PartialHandlers
