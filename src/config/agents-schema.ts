/**
 * Config of several agents in one gateway (OpenClaw's multi-agent model): `agents.list` names each agent with its own
 * workspace, model and tool policy, and top-level `bindings` route a channel, an account or a peer to one of them.
 * An empty list means one agent, "main", built from agents.defaults: a single-agent config never mentions either.
 */
import { z } from "zod"

/** Agent ids are one session-key segment: lowercase letters, digits, - and _ (OpenClaw normalises the same way). */
export const AGENT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/

export const AgentModel = z
  .union([
    z.string().min(1),
    z.strictObject({
      primary: z.string().min(1).describe("provider/model"),
      fallbacks: z.array(z.string().min(1)).optional().describe("Tried in order when the primary fails (default: models.fallbacks)"),
    }),
  ])
  .describe("Model for this agent as provider/model, or {primary, fallbacks} (default: agents.defaults.model, then models.default)")

/** A per-agent narrowing of the top-level tools policy: set keys replace the global ones, deny adds to it. */
export const AgentTools = z
  .strictObject({
    allow: z.array(z.string()).optional().describe("Only these tools for this agent (replaces tools.allow)"),
    deny: z.array(z.string()).optional().describe("Also never these tools for this agent (added to tools.deny)"),
    fs: z.strictObject({ roots: z.array(z.string()).optional().describe("Directories this agent's file tools may touch (default: its workspace)") }).optional(),
    exec: z
      .strictObject({
        mode: z.enum(["deny", "allowlist", "ask", "full"]).optional().describe("This agent's exec mode (replaces tools.exec.mode)"),
        allowlist: z.array(z.string()).optional().describe("This agent's exec allowlist (replaces tools.exec.allowlist)"),
      })
      .optional(),
  })
  .describe("Tool policy for this agent, over the top-level tools settings")

export const AgentIdentityConfig = z
  .strictObject({
    name: z.string().optional().describe("Display name (else IDENTITY.md's Name)"),
    theme: z.string().optional(),
    emoji: z.string().optional(),
    avatar: z.string().optional().describe("Workspace-relative path, http(s) URL or data URI"),
  })
  .describe("How the agent presents itself; IDENTITY.md in its workspace fills what is not set here")

export const AgentConfig = z
  .strictObject({
    id: z
      .string()
      .regex(AGENT_ID, "lowercase letters, digits, - and _ (at most 64), starting with a letter or digit")
      .describe("Agent id: session keys are agent:<id>:…"),
    default: z.boolean().optional().describe("Messages no binding routes go to this agent (default: the first in the list)"),
    name: z.string().min(1).optional().describe("Display name"),
    workspace: z
      .string()
      .min(1)
      .optional()
      .describe("Workspace directory (default: <state home>/workspace for the default agent, <state home>/workspace-<id> for others)"),
    model: AgentModel.optional(),
    tools: AgentTools.optional(),
    identity: AgentIdentityConfig.optional(),
  })
  .describe("One agent")

export const AgentsList = z
  .array(AgentConfig)
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Set<string>()
    list.forEach((a, i) => {
      if (seen.has(a.id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate agent id '${a.id}': each agent in agents.list needs its own id` })
      seen.add(a.id)
    })
    const defaults = list.filter((a) => a.default)
    if (defaults.length > 1) {
      ctx.addIssue({ code: "custom", message: `more than one default agent (${defaults.map((a) => a.id).join(", ")}): mark at most one with default: true` })
    }
  })
  .describe("The agents this gateway runs (empty: one agent, 'main', from agents.defaults)")

export const PEER_KINDS = ["direct", "group", "channel"] as const

export const Binding = z
  .strictObject({
    agentId: z.string().min(1).describe("The agent that answers what this binding matches (an id in agents.list)"),
    match: z
      .strictObject({
        channel: z.string().min(1).describe("Channel id: telegram, discord, …"),
        accountId: z.string().min(1).optional().describe("Only this bot account ('*' or omitted: any account of the channel)"),
        peer: z
          .strictObject({
            kind: z.enum(PEER_KINDS).describe("direct (a DM with this user id), group or channel (this chat id)"),
            id: z.string().min(1),
          })
          .optional()
          .describe("Only this conversation"),
      })
      .describe("Which messages: the most specific matching binding wins (peer, then account, then channel)"),
  })
  .describe("Routes a channel, an account or a conversation to an agent")

export const Bindings = z.array(Binding).default([]).describe("Which agent answers which channel, account or conversation")

/** Cross-checks between agents.list and bindings (run on the whole config): a binding must name a known agent. */
export function checkBindings(
  cfg: { agents: { list: { id: string }[] }; bindings: { agentId: string }[] },
  ctx: { addIssue(issue: { code: "custom"; path: (string | number)[]; message: string }): void },
): void {
  const ids = cfg.agents.list.length ? cfg.agents.list.map((a) => a.id) : ["main"]
  cfg.bindings.forEach((b, i) => {
    if (!ids.includes(b.agentId)) {
      ctx.addIssue({ code: "custom", path: ["bindings", i, "agentId"], message: `unknown agent '${b.agentId}' (agents.list has ${ids.join(", ")})` })
    }
  })
}
