import { mkdtempSync, realpathSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigSchema, type ConfigInput } from "../../../src/config/schema.ts"
import { ToolPolicy, type ToolsConfig } from "../../../src/agent/tools/policy.ts"
import { runTool, type ToolContext, type ToolDef, type ToolResult } from "../../../src/agent/tools/tool.ts"

export function tempDir(prefix = "gw-tools-"): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)))
}

export function toolsConfig(tools: NonNullable<ConfigInput["tools"]> = {}): ToolsConfig {
  return ConfigSchema.parse({ tools }).tools
}

export function policyFor(workspace: string, tools: NonNullable<ConfigInput["tools"]> = {}): ToolPolicy {
  return new ToolPolicy(toolsConfig(tools), workspace)
}

export function ctx(workspace: string, signal: AbortSignal = new AbortController().signal): ToolContext {
  return { sessionKey: "agent:main:test", runId: "run-1", toolCallId: "call-1", signal, workspace }
}

export function call(def: ToolDef, args: unknown, workspace: string, signal?: AbortSignal): Promise<ToolResult> {
  return runTool(def, args, ctx(workspace, signal))
}
