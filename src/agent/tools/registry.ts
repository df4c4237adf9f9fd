/**
 * The built-in tools of one agent, filtered by tools.allow / tools.deny: read, write, edit, ls, apply_patch, exec,
 * process, web_fetch, plus any extra tools the runtime adds (sessions, memory, …). tools.catalog lists list() with
 * toolJsonSchema; the runner calls get(name).
 */
import { createApplyPatchTool } from "./apply-patch.ts"
import { createExecTool, type ApproveFn } from "./exec.ts"
import { createEditTool, createLsTool, createReadTool, createWriteTool } from "./fs-tools.ts"
import { ToolPolicy, type ToolsConfig } from "./policy.ts"
import { createProcessTool, ProcessRegistry, type ProcessRegistryOptions } from "./process.ts"
import type { ToolDef } from "./tool.ts"
import { createWebFetchTool } from "./web-fetch.ts"

export interface ToolRegistryOptions {
  /** The tools config, or a getter so live config reloads apply to the next call. */
  config: ToolsConfig | (() => ToolsConfig)
  /** The agent's workspace: default root for file tools and default cwd for exec. */
  workspace: string
  /** Operator approval for exec in ask mode. */
  approve: ApproveFn
  /** More tools (same name as a built-in replaces it). */
  extraTools?: ToolDef[]
  /** Share a process registry (default: a new one). */
  processes?: ProcessRegistry
  processOptions?: ProcessRegistryOptions
}

export interface ToolRegistry {
  /** Tools the policy allows, in a stable order. */
  list(): ToolDef[]
  /** An allowed tool by name (case-insensitive); undefined when unknown or denied. */
  get(name: string): ToolDef | undefined
  /** Every tool, allowed or not. */
  all(): ToolDef[]
  policy: ToolPolicy
  processes: ProcessRegistry
}

export function createToolRegistry(o: ToolRegistryOptions): ToolRegistry {
  const policy = new ToolPolicy(o.config, o.workspace)
  const processes = o.processes ?? new ProcessRegistry(o.processOptions)
  const builtins: ToolDef[] = [
    createReadTool(policy),
    createWriteTool(policy),
    createEditTool(policy),
    createLsTool(policy),
    createApplyPatchTool(policy),
    createExecTool({ policy, processes, approve: o.approve }),
    createProcessTool(processes),
    createWebFetchTool({ policy }),
  ] as ToolDef[]
  const byName = new Map<string, ToolDef>()
  for (const t of [...builtins, ...(o.extraTools ?? [])]) byName.set(t.name.toLowerCase(), t)
  const all = () => [...byName.values()]
  return {
    list: () => all().filter((t) => policy.isAllowed(t.name)),
    get(name) {
      const t = byName.get(name.toLowerCase())
      return t && policy.isAllowed(t.name) ? t : undefined
    },
    all,
    policy,
    processes,
  }
}
