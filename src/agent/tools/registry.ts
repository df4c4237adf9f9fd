/**
 * The built-in tools of one agent: read, write, edit, ls, apply_patch, exec, process, web_fetch, web_search, browser and canvas, sharing one
 * ToolPolicy (tools.allow / tools.deny, file roots, exec mode) and one process registry. list() is what the policy
 * allows; the agent (agent/index.ts) adds its per-session tools (sessions_*), filtered by the same policy, and offers
 * the lot to the model, tools.catalog and tools.invoke.
 */
import { createApplyPatchTool } from "./apply-patch.ts"
import { createCanvasTool } from "./canvas.ts"
import { type BrowserHost, createBrowserTool } from "./browser/index.ts"
import { createExecTool, type ApproveFn } from "./exec.ts"
import { createEditTool, createLsTool, createReadTool, createWriteTool } from "./fs-tools.ts"
import { ToolPolicy, type ToolsConfig } from "./policy.ts"
import { createProcessTool, ProcessRegistry } from "./process.ts"
import type { ToolDef } from "./tool.ts"
import { createWebFetchTool } from "./web-fetch.ts"
import { createWebSearchTool } from "./web-search.ts"

export interface ToolRegistryOptions {
  /** The tools config, or a getter so live config reloads apply to the next call. */
  config: ToolsConfig | (() => ToolsConfig)
  /** The agent's workspace: default root for file tools and default cwd for exec. */
  workspace: string
  /** Operator approval for exec in ask mode. */
  approve: ApproveFn
  /** Folders read may read besides the roots (eligible skills' folders). */
  readRoots?: () => string[]
  /** The gateway's one browser, shared by every agent; without it this registry starts its own. */
  browser?: BrowserHost
}

export interface ToolRegistry {
  /** Tools the policy allows, in a stable order (read from the config at each call). */
  list(): ToolDef[]
  /** An allowed tool by name (case-insensitive); undefined when unknown or denied. */
  get(name: string): ToolDef | undefined
  policy: ToolPolicy
  /** Background commands started by exec; the agent kills them all on stop. */
  processes: ProcessRegistry
  /** Releases what tools hold between calls (the browser, unless it is the gateway's shared one); the agent calls it on stop. */
  close(): Promise<void>
}

export function createToolRegistry(o: ToolRegistryOptions): ToolRegistry {
  const policy = new ToolPolicy(o.config, o.workspace, { readRoots: o.readRoots })
  const processes = new ProcessRegistry()
  const browser = createBrowserTool({ policy, host: o.browser })
  const builtins: ToolDef[] = [
    createReadTool(policy),
    createWriteTool(policy),
    createEditTool(policy),
    createLsTool(policy),
    createApplyPatchTool(policy),
    createExecTool({ policy, processes, approve: o.approve }),
    createProcessTool(processes),
    createWebFetchTool({ policy }),
    createWebSearchTool({ policy }),
    browser,
    createCanvasTool(),
  ] as ToolDef[]
  const byName = new Map<string, ToolDef>()
  for (const t of builtins) byName.set(t.name.toLowerCase(), t)
  return {
    list: () => builtins.filter((t) => policy.isAllowed(t.name)),
    get(name) {
      const t = byName.get(name.toLowerCase())
      return t && policy.isAllowed(t.name) ? t : undefined
    },
    policy,
    processes,
    close: () => browser.close(),
  }
}

export { createBrowserHost, type BrowserHost } from "./browser/index.ts"
