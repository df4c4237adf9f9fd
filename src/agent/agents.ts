/**
 * The agents this gateway runs, read from one place: agents.list, agent.identity.get, health and the router ask
 * here. Today that is the single default agent ("main") built from agents.defaults and the state home's workspace;
 * multi-agent configuration extends this function rather than adding a second source.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { Config } from "../config/schema.ts"
import { DEFAULT_AGENT } from "./session-key.ts"

export interface AgentEntry {
  id: string
  /** Display name: IDENTITY.md's Name, else the id. */
  name: string
  workspace: string
  /** provider/model this agent uses, when one is configured. */
  model?: string
  isDefault: boolean
}

export interface AgentIdentity {
  agentId: string
  name: string
  emoji?: string
  avatar?: string
}

export interface ListAgentsOptions {
  /** The default agent's workspace (Paths.workspace). */
  workspace: string
}

/** Every configured agent, the default first. */
export function listAgents(config: Config, opts: ListAgentsOptions): AgentEntry[] {
  const model = config.agents.defaults.model ?? config.models.default
  const identity = readIdentity(opts.workspace)
  return [{ id: DEFAULT_AGENT, name: identity.name ?? DEFAULT_AGENT, workspace: opts.workspace, model, isDefault: true }]
}

/** The default agent's id (what a request without agentId or session key runs as). */
export function defaultAgentId(config: Config, opts: ListAgentsOptions): string {
  return listAgents(config, opts).find((a) => a.isDefault)?.id ?? DEFAULT_AGENT
}

export function findAgent(config: Config, opts: ListAgentsOptions, id: string): AgentEntry | undefined {
  return listAgents(config, opts).find((a) => a.id === id)
}

/** Name, emoji and avatar from an agent's IDENTITY.md ("Name: …", "Emoji: …", "Avatar: …" lines, "- **Name:** …" too). */
export function agentIdentity(agent: AgentEntry): AgentIdentity {
  const parsed = readIdentity(agent.workspace)
  return { agentId: agent.id, name: parsed.name ?? agent.name, emoji: parsed.emoji, avatar: parsed.avatar }
}

interface ParsedIdentity {
  name?: string
  emoji?: string
  avatar?: string
}

export function parseIdentity(text: string): ParsedIdentity {
  const out: ParsedIdentity = {}
  for (const line of text.split(/\r?\n/)) {
    // "Name: X", "- Name: X", "**Name:** X", "- **Name**: X"
    const m = /^\s*(?:[-*]\s+)?(?:\*\*)?\s*(name|emoji|avatar)\s*(?::\s*\*\*|\*\*\s*:|:)\s*(.*?)\s*$/i.exec(line)
    if (!m) continue
    const key = m[1]!.toLowerCase() as keyof ParsedIdentity
    const value = m[2]!.replace(/^\*+|\*+$/g, "").trim()
    // Template placeholders such as "(pick something you like)" are not values.
    if (!value || /^\(.*\)$/.test(value) || out[key] !== undefined) continue
    out[key] = value
  }
  return out
}

function readIdentity(workspace: string): ParsedIdentity {
  try {
    return parseIdentity(readFileSync(join(workspace, "IDENTITY.md"), "utf8"))
  } catch {
    return {}
  }
}
