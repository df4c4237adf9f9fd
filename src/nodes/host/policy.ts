/**
 * The node host's system.run policy (config `node.exec`): deny / allowlist / ask / full, decided by the same hardened
 * matcher as the agent's exec tool (exec-check.ts through a ToolPolicy whose exec settings and roots are the node's).
 * system.run gets an argv, not a shell line: it is checked as the shell-quoted line that parses back to exactly those
 * words (so nothing in an argument reads as an operator or expansion), and run without a shell.
 */
import { statSync } from "node:fs"
import type { Config } from "../../config/schema.ts"
import { ConfigSchema } from "../../config/schema.ts"
import { approvalText } from "../../agent/tools/exec-launch.ts"
import { ToolPolicy, type ToolsConfig } from "../../agent/tools/policy.ts"

export type NodeExecConfig = Config["node"]["exec"]

export interface RunRequest {
  argv: string[]
  cwd?: string
  env?: Record<string, string>
}

export type RunDecision =
  | { decision: "allow"; argv: string[]; cwd: string; reason: string }
  | { decision: "ask"; argv: string[]; cwd: string; reason: string; text: string }
  | { decision: "deny"; reason: string }

/** One shell word that parses back to `arg` exactly (single quotes unless it is plainly safe). */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`
}

export class NodeRunPolicy {
  readonly tools: ToolPolicy

  constructor(
    private exec: () => NodeExecConfig,
    workspace: string,
  ) {
    // Everything but exec mode, allowlist, passEnv and roots keeps the defaults: no sandbox, scrubbed environment.
    const defaults = ConfigSchema.parse({}).tools
    const tools = (): ToolsConfig => {
      const e = this.exec()
      return {
        ...defaults,
        fs: { roots: e.roots },
        exec: { ...defaults.exec, mode: e.mode, allowlist: e.allowlist, passEnv: e.passEnv, timeoutSeconds: e.timeoutSeconds },
      }
    }
    this.tools = new ToolPolicy(tools, workspace)
  }

  decide(req: RunRequest): RunDecision {
    const { mode } = this.exec()
    if (!req.argv.length || !req.argv[0]) return { decision: "deny", reason: "system.run: command is empty (pass {command: [program, ...args]})" }
    if (mode === "deny") return { decision: "deny", reason: 'system.run is disabled on this node (node.exec.mode is "deny")' }
    const line = req.argv.map(shellQuote).join(" ")
    const cwd = this.workdir(req.cwd, mode === "full")
    if (typeof cwd !== "string") {
      if (mode === "ask") return { decision: "ask", argv: req.argv, cwd: cwd.path, reason: cwd.why, text: approvalText(line, req.env) }
      return { decision: "deny", reason: cwd.why }
    }
    const d = this.tools.checkExec(line, req.env ?? {}, cwd)
    if (d.decision === "allow") return { decision: "allow", argv: d.argv ?? req.argv, cwd, reason: d.reason }
    if (d.decision === "ask") return { decision: "ask", argv: req.argv, cwd, reason: d.reason, text: approvalText(line, req.env) }
    return { decision: "deny", reason: d.reason.replaceAll("tools.exec.", "node.exec.").replaceAll("tools.fs.roots", "node.exec.roots") }
  }

  /** The directory to run in: any existing one in full mode, else one inside the roots (default: the workspace). */
  private workdir(cwd: string | undefined, full: boolean): string | { why: string; path: string } {
    if (full) {
      const dir = cwd ?? this.tools.workspace
      try {
        if (statSync(dir).isDirectory()) return dir
      } catch {}
      return { why: `cwd ${dir} does not exist or is not a directory`, path: dir }
    }
    try {
      return this.tools.resolveDir(cwd)
    } catch (err) {
      return { why: (err as Error).message.replaceAll("tools.fs.roots", "node.exec.roots"), path: cwd ?? this.tools.workspace }
    }
  }

  /** The environment a command starts from (scrubbed, the node's exec HOME). */
  baseEnv(): Record<string, string> {
    return this.tools.execEnv()
  }
}
