/**
 * The agents this gateway runs, read from one place: agents.list, agent.identity.get, health, the router (bindings)
 * and the run loop (workspace, model, tool policy per agent) ask here. An empty agents.list is the single default
 * agent ("main") built from agents.defaults and the state home's workspace, so a single-agent config never names it.
 */
import { readFileSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, join, resolve } from "node:path"
import type { Config } from "../config/schema.ts"
import { DEFAULT_AGENT, normalizeSessionKey } from "./session-key.ts"
import type { ToolsConfig } from "./tools/policy.ts"

type AgentConfig = Config["agents"]["list"][number]

export interface AgentEntry {
  id: string
  /** Display name: identity.name, else the configured name, else IDENTITY.md's Name, else the id. */
  name: string
  workspace: string
  /** provider/model this agent uses, when one is configured. */
  model?: string
  /** Fallback models of this agent (agents.list[].model.fallbacks), else undefined: models.fallbacks apply. */
  fallbacks?: string[]
  isDefault: boolean
  /** The agents.list entry, when the agent is configured there (the implicit "main" has none). */
  config?: AgentConfig
}

export interface AgentIdentity {
  agentId: string
  name: string
  emoji?: string
  avatar?: string
}

export interface ListAgentsOptions {
  /** The default agent's workspace (Paths.workspace); other agents default to workspace-<id> beside it. */
  workspace: string
}

function expandHome(p: string): string {
  if (p === "~") return homedir()
  return p.startsWith("~/") ? join(homedir(), p.slice(2)) : p
}

/** Where an agent's workspace is: its own setting, else the default workspace (default agent) or workspace-<id>. */
export function agentWorkspace(entry: { id: string; workspace?: string }, isDefault: boolean, opts: ListAgentsOptions): string {
  if (entry.workspace) return resolve(dirname(opts.workspace), expandHome(entry.workspace))
  return isDefault ? opts.workspace : join(dirname(opts.workspace), `workspace-${entry.id}`)
}

/** A client's session key in full: a short key ("main", "notes") belongs to the named agent, else the default one. */
export function fullSessionKey(config: Config, raw: string, agentId?: string): string {
  return normalizeSessionKey(raw, agentId ?? agentIds(config).defaultId)
}

/** The configured ids and the default one, without touching the disk (the router asks on every message). */
export function agentIds(config: Config): { ids: string[]; defaultId: string } {
  const list = config.agents.list
  if (list.length === 0) return { ids: [DEFAULT_AGENT], defaultId: DEFAULT_AGENT }
  return { ids: list.map((a) => a.id), defaultId: (list.find((a) => a.default) ?? list[0]!).id }
}

/** Every configured agent, the default first. */
export function listAgents(config: Config, opts: ListAgentsOptions): AgentEntry[] {
  const list = config.agents.list
  const defaultsModel = config.agents.defaults.model ?? config.models.default
  if (list.length === 0) {
    const identity = readIdentity(opts.workspace)
    return [{ id: DEFAULT_AGENT, name: identity.name ?? DEFAULT_AGENT, workspace: opts.workspace, model: defaultsModel, isDefault: true }]
  }
  const defaultId = (list.find((a) => a.default) ?? list[0]!).id
  const entries = list.map((a): AgentEntry => {
    const isDefault = a.id === defaultId
    const workspace = agentWorkspace(a, isDefault, opts)
    const model = typeof a.model === "string" ? a.model : a.model?.primary
    const fallbacks = typeof a.model === "object" ? a.model.fallbacks : undefined
    const name = a.identity?.name ?? a.name ?? readIdentity(workspace).name ?? a.id
    return { id: a.id, name, workspace, model: model ?? defaultsModel, ...(fallbacks ? { fallbacks } : {}), isDefault, config: a }
  })
  return [...entries.filter((a) => a.isDefault), ...entries.filter((a) => !a.isDefault)]
}

/** What the run loop needs of one agent, without touching the disk; an unknown id runs as the default agent. */
export interface AgentRuntimeConfig {
  id: string
  workspace: string
  model?: string
  fallbacks?: string[]
  tools: ToolsConfig
}

export function agentRuntimeConfig(config: Config, opts: ListAgentsOptions, agentId: string): AgentRuntimeConfig {
  const list = config.agents.list
  const defaultsModel = config.agents.defaults.model ?? config.models.default
  if (list.length === 0) return { id: DEFAULT_AGENT, workspace: opts.workspace, model: defaultsModel, tools: config.tools }
  const def = list.find((a) => a.default) ?? list[0]!
  const a = list.find((x) => x.id === agentId) ?? def
  const model = typeof a.model === "string" ? a.model : a.model?.primary
  const fallbacks = typeof a.model === "object" ? a.model.fallbacks : undefined
  const entry = { id: a.id, name: a.id, workspace: agentWorkspace(a, a.id === def.id, opts), isDefault: a.id === def.id, config: a }
  return { id: a.id, workspace: entry.workspace, model: model ?? defaultsModel, ...(fallbacks ? { fallbacks } : {}), tools: agentToolsConfig(config, entry) }
}

/**
 * The tools config one agent runs with: the top-level tools settings, narrowed by agents.list[].tools (allow and
 * fs.roots and exec mode/allowlist replace, deny adds).
 */
export function agentToolsConfig(config: Config, agent: AgentEntry | undefined): ToolsConfig {
  const own = agent?.config?.tools
  if (!own) return config.tools
  const t = config.tools
  return {
    ...t,
    ...(own.allow ? { allow: own.allow } : {}),
    deny: [...t.deny, ...(own.deny ?? [])],
    fs: { ...t.fs, ...(own.fs?.roots ? { roots: own.fs.roots } : {}) },
    exec: { ...t.exec, ...(own.exec?.mode ? { mode: own.exec.mode } : {}), ...(own.exec?.allowlist ? { allowlist: own.exec.allowlist } : {}) },
  }
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
  const own = agent.config?.identity
  const emoji = own?.emoji ?? parsed.emoji
  const avatar = own?.avatar ?? parsed.avatar
  return { agentId: agent.id, name: own?.name ?? parsed.name ?? agent.name, ...(emoji ? { emoji } : {}), ...(avatar ? { avatar } : {}) }
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
