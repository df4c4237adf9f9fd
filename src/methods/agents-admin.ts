/**
 * agents.create|update|delete write agents.list (and bindings) in gateway.json through the config manager (validated,
 * checked against the file on disk, written atomically, applied live); agents.files.* read and write an agent's
 * bootstrap files, by name only: a name outside the list, a path or a symlink is refused.
 */
import { lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { join, relative, isAbsolute } from "node:path"
import { agentIds, findAgent } from "../agent/agents.ts"
import { ensureWorkspace } from "../agent/prompt.ts"
import { DEFAULT_AGENT } from "../agent/session-key.ts"
import { AGENT_ID } from "../config/agents-schema.ts"
import { ConfigError } from "../config/load.ts"
import { ConfigConflictError } from "../config/manager.ts"
import { ConfigWouldNotStart } from "../config/startup-check.ts"
import { GatewayError } from "../protocol/index.ts"
import type { MethodContext } from "./context.ts"
import type { PartialHandlers } from "./registry.ts"

/** The files agents.files.* may touch: OpenClaw's bootstrap names, nothing else. */
export const AGENT_FILE_NAMES = ["AGENTS.md", "SOUL.md", "TOOLS.md", "IDENTITY.md", "USER.md", "HEARTBEAT.md", "BOOTSTRAP.md", "MEMORY.md"] as const

type RawAgent = Record<string, unknown> & { id: string }

/** OpenClaw's normalisation of a name into an id: lowercase, runs of anything else become -, trimmed, 64 at most. */
export function agentIdFromName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+|[-_]+$/g, "")
    .slice(0, 64)
}

function agentNotFound(ctx: MethodContext, agentId: string): never {
  const { ids } = agentIds(ctx.gw.config.current)
  throw new GatewayError("INVALID_REQUEST", `unknown agent ${agentId} (agents.list has ${ids.join(", ")})`, { code: "AGENT_NOT_FOUND" })
}

/**
 * The file's agents.list and bindings (not the running config, whose defaults must not be written back). An empty
 * list stands for the implicit "main": it is written out explicitly (as the default) before another agent joins it.
 */
function fileState(ctx: MethodContext): { hash?: string; list: RawAgent[]; bindings: Record<string, unknown>[]; implicitMain: boolean } {
  const disk = ctx.gw.config.onDisk()
  const parsed = (disk.parsed ?? {}) as { agents?: { list?: RawAgent[] }; bindings?: Record<string, unknown>[] }
  const list = Array.isArray(parsed.agents?.list) ? parsed.agents.list.map((a) => ({ ...a })) : []
  const implicitMain = list.length === 0
  return {
    hash: disk.exists ? disk.hash : undefined,
    list: implicitMain ? [{ id: DEFAULT_AGENT, default: true }] : list,
    bindings: Array.isArray(parsed.bindings) ? parsed.bindings : [],
    implicitMain,
  }
}

/** Writes the patch through the config manager; its refusals become protocol errors that name the key. */
function writeConfig(ctx: MethodContext, patch: Record<string, unknown>, baseHash: string | undefined): void {
  try {
    // No gateway.json yet (a gateway running on defaults): the patch is the whole new file.
    const change = ctx.gw.config.onDisk().exists ? ctx.gw.config.patch(patch, baseHash) : ctx.gw.config.replace(JSON.stringify(patch))
    ctx.gw.log.info(`agents config written by ${ctx.caller.client.id} (${ctx.caller.connId})`, { changedPaths: change.changedPaths })
  } catch (err) {
    if (err instanceof ConfigConflictError) throw new GatewayError("UNAVAILABLE", `${err.message}`, { code: "CONFIG_BASE_HASH_MISMATCH", retryable: true })
    if (ConfigWouldNotStart.isInstance(err)) throw new GatewayError("INVALID_REQUEST", err.message, { code: "CONFIG_WOULD_NOT_START" })
    if (err instanceof ConfigError) {
      const first = err.issues[0]
      throw new GatewayError("INVALID_REQUEST", `invalid config: ${first?.path || "(root)"}: ${first?.message}`, { code: "INVALID_CONFIG" })
    }
    throw err
  }
}

function identityOf(a: RawAgent): Record<string, unknown> {
  return typeof a.identity === "object" && a.identity !== null ? { ...(a.identity as Record<string, unknown>) } : {}
}

/** The agent's workspace and the bootstrap file a name stands for; anything but a listed bare name is refused. */
function agentFile(ctx: MethodContext, agentId: string, name: string): { workspace: string; path: string } {
  const agent = findAgent(ctx.gw.config.current, { workspace: ctx.gw.paths.workspace }, agentId) ?? agentNotFound(ctx, agentId)
  if (!(AGENT_FILE_NAMES as readonly string[]).includes(name)) {
    throw new GatewayError("INVALID_REQUEST", `unsupported file "${name}": agents.files.* reads and writes only ${AGENT_FILE_NAMES.join(", ")}`, {
      code: "UNSUPPORTED_FILE",
    })
  }
  return { workspace: agent.workspace, path: join(agent.workspace, name) }
}

/** A file entry; a symlink is refused (it could point anywhere), whatever it points at. */
function entryOf(name: string, path: string, withContent: boolean) {
  let st: ReturnType<typeof lstatSync>
  try {
    st = lstatSync(path)
  } catch {
    return { name, path, missing: true }
  }
  if (!st.isFile()) throw new GatewayError("INVALID_REQUEST", `${name} is not a regular file (a symlink or directory); refused`, { code: "UNSUPPORTED_FILE" })
  return {
    name,
    path,
    missing: false,
    size: st.size,
    updatedAtMs: Math.floor(st.mtimeMs),
    ...(withContent ? { content: readFileSync(path, "utf8") } : {}),
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child)
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel)
}

export const agentsAdminHandlers = {
  "agents.create": (p, ctx) => {
    const agentId = agentIdFromName(p.name)
    if (!AGENT_ID.test(agentId)) throw new GatewayError("INVALID_REQUEST", `name "${p.name}" gives no usable agent id (letters or digits needed)`)
    if (agentId === DEFAULT_AGENT) throw new GatewayError("INVALID_REQUEST", `"${DEFAULT_AGENT}" is reserved for the default agent; pick another name`)
    const state = fileState(ctx)
    if (state.list.some((a) => a.id === agentId) || agentIds(ctx.gw.config.current).ids.includes(agentId)) {
      throw new GatewayError("INVALID_REQUEST", `agent ${agentId} already exists`, { code: "AGENT_EXISTS" })
    }
    const identity = { name: p.name, ...(p.emoji ? { emoji: p.emoji } : {}), ...(p.avatar ? { avatar: p.avatar } : {}) }
    const entry: RawAgent = { id: agentId, name: p.name, ...(p.workspace ? { workspace: p.workspace } : {}), ...(p.model ? { model: p.model } : {}), identity }
    writeConfig(ctx, { agents: { list: [...state.list, entry] } }, state.hash)
    const created = findAgent(ctx.gw.config.current, { workspace: ctx.gw.paths.workspace }, agentId)
    if (!created) throw new GatewayError("UNAVAILABLE", `agent ${agentId} was written but is not running (a system config layer overrides agents.list?)`)
    ensureWorkspace(created.workspace)
    return { ok: true as const, agentId, name: p.name, workspace: created.workspace, ...(p.model ? { model: p.model } : {}) }
  },

  "agents.update": (p, ctx) => {
    const state = fileState(ctx)
    const i = state.list.findIndex((a) => a.id === p.agentId)
    if (i < 0) agentNotFound(ctx, p.agentId)
    const a: RawAgent = { ...state.list[i]! }
    const identity = identityOf(a)
    if (p.name !== undefined) {
      a.name = p.name
      identity.name = p.name
    }
    if (p.emoji !== undefined) identity.emoji = p.emoji
    if (p.avatar !== undefined) identity.avatar = p.avatar
    if (Object.keys(identity).length) a.identity = identity
    if (p.workspace !== undefined) a.workspace = p.workspace
    if (p.model === null) delete a.model
    else if (p.model !== undefined) a.model = p.model
    const list = state.list.map((x, j) => (j === i ? a : x))
    writeConfig(ctx, { agents: { list } }, state.hash)
    const updated = findAgent(ctx.gw.config.current, { workspace: ctx.gw.paths.workspace }, p.agentId)
    if (updated) ensureWorkspace(updated.workspace)
    return { ok: true as const, agentId: p.agentId }
  },

  "agents.delete": (p, ctx) => {
    const opts = { workspace: ctx.gw.paths.workspace }
    const agent = findAgent(ctx.gw.config.current, opts, p.agentId) ?? agentNotFound(ctx, p.agentId)
    if (agent.isDefault || agent.id === DEFAULT_AGENT) {
      throw new GatewayError("INVALID_REQUEST", `agent ${agent.id} is the default agent and cannot be deleted; make another agent the default first`)
    }
    const state = fileState(ctx)
    const list = state.list.filter((a) => a.id !== p.agentId)
    const bindings = state.bindings.filter((b) => b.agentId !== p.agentId)
    const removedBindings = state.bindings.length - bindings.length
    writeConfig(ctx, { agents: { list }, ...(removedBindings ? { bindings } : {}) }, state.hash)
    // Only a workspace inside the state home is removed: a configured path elsewhere may hold the user's own files.
    if (p.deleteFiles && isInside(agent.workspace, ctx.gw.paths.home) && agent.workspace !== ctx.gw.paths.workspace) {
      rmSync(agent.workspace, { recursive: true, force: true })
    }
    return { ok: true as const, agentId: p.agentId, removedBindings }
  },

  "agents.files.list": (p, ctx) => {
    const agent = findAgent(ctx.gw.config.current, { workspace: ctx.gw.paths.workspace }, p.agentId) ?? agentNotFound(ctx, p.agentId)
    const files = AGENT_FILE_NAMES.flatMap((name) => {
      try {
        return [entryOf(name, join(agent.workspace, name), false)]
      } catch {
        return [] // a symlink or directory under a bootstrap name is not offered
      }
    })
    return { agentId: agent.id, workspace: agent.workspace, files }
  },

  "agents.files.get": (p, ctx) => {
    const { workspace, path } = agentFile(ctx, p.agentId, p.name)
    return { agentId: p.agentId, workspace, file: entryOf(p.name, path, true) }
  },

  "agents.files.set": (p, ctx) => {
    const { workspace, path } = agentFile(ctx, p.agentId, p.name)
    entryOf(p.name, path, false) // refuses a symlink or directory in its place
    ensureWorkspace(workspace)
    // Written beside and renamed over: a reader never sees half a file, a crash never leaves one.
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
    writeFileSync(tmp, p.content, { mode: 0o600 })
    renameSync(tmp, path)
    return { ok: true as const, agentId: p.agentId, workspace, file: entryOf(p.name, path, true) }
  },
} satisfies PartialHandlers
