/** What the rest of the gateway (methods, HTTP routes) may ask of the agent subsystem. */
import type { ApprovalRegistry } from "./approvals.ts"
import type { PromptReport } from "./prompt.ts"
import type { AgentRuntime } from "./runtime.ts"
import type { ToolResult } from "./tools/tool.ts"
import type { SessionRepo } from "../store/sessions.ts"

export interface ToolInfo {
  name: string
  description: string
  parameters: Record<string, unknown>
}

export interface AgentFacade {
  runtime: AgentRuntime
  sessions: SessionRepo
  approvals: ApprovalRegistry
  catalog(sessionKey?: string): Promise<ToolInfo[]>
  invoke(name: string, args: unknown, sessionKey: string, signal?: AbortSignal): Promise<ToolResult & { found: boolean }>
  bash(
    command: string,
    workdir: string | undefined,
    timeoutMs: number | undefined,
    signal?: AbortSignal,
  ): Promise<{ stdout: string; stderr: string; exitCode: number | null; denied?: string }>
  compact(key: string): Promise<boolean>
  promptReport(): Promise<PromptReport>
  workspace: string
  /** After a restart: resume, requeue or re-home every run and message the last process left unfinished. */
  recover(): void
  stop(): Promise<void>
}
