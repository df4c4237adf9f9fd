/**
 * The commands a node host offers: system.run (an argv, run without a shell under the node's policy; in ask mode
 * an operator approves through the gateway) and system.which (where programs are on the commands' PATH).
 * Each returns the payload, or throws a NodeCommandError that the host sends back as the result's error.
 */
import { z } from "zod"
import { runCommand } from "../../agent/tools/exec.ts"
import type { NodeRunPolicy } from "./policy.ts"

export const NODE_COMMANDS = ["system.run", "system.which"] as const

export class NodeCommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const SystemRunParams = z.object({
  command: z.array(z.string()).min(1, "command must name the program: [program, ...args]"),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  timeoutMs: z.number().int().positive().optional(),
})

const SystemWhichParams = z.object({ bins: z.array(z.string().min(1)).max(256) })

export interface CommandContext {
  policy: NodeRunPolicy
  /**
   * The kill timeout (node.exec.timeoutSeconds, cut to the time the gateway still waits for this invoke; 0 or less
   * once it has given up) and the output cap. Asked again after an approval, which may have taken most of the time.
   */
  limits(): { timeoutMs: number; maxOutputBytes: number }
  /** Asks the gateway's operators (exec.approval.requested); resolves false when denied or unanswered in time. */
  approve(text: string, cwd: string): Promise<boolean>
}

function parse<T extends z.ZodType>(schema: T, command: string, params: unknown): z.infer<T> {
  const r = schema.safeParse(params ?? {})
  if (!r.success)
    throw new NodeCommandError("INVALID_PARAMS", `${command}: ${r.error.issues.map((i) => `${i.path.join(".") || "params"}: ${i.message}`).join("; ")}`)
  return r.data
}

export async function systemRun(params: unknown, ctx: CommandContext): Promise<{ stdout: string; stderr: string; exitCode: number | null; timedOut: boolean }> {
  const p = parse(SystemRunParams, "system.run", params)
  const d = ctx.policy.decide({ argv: p.command, cwd: p.cwd, env: p.env })
  if (d.decision === "deny") throw new NodeCommandError("SYSTEM_RUN_DENIED", d.reason)
  const approved = d.decision !== "ask" || (await ctx.approve(d.text, d.cwd))
  const limits = ctx.limits()
  // The gateway already answered the caller with TIMEOUT: running now would be a command nobody waits for.
  if (limits.timeoutMs <= 0) throw new NodeCommandError("TIMEOUT", "system.run: the invoke timed out before the command could start")
  if (!approved) throw new NodeCommandError("SYSTEM_RUN_DENIED", `an operator did not approve the command (${d.reason})`)
  const res = await runCommand({
    command: p.command.join(" "),
    argv: d.argv,
    workdir: d.cwd,
    baseEnv: ctx.policy.baseEnv(),
    env: p.env,
    // The caller may ask for less time than node.exec.timeoutSeconds, never more.
    timeoutMs: Math.min(p.timeoutMs ?? limits.timeoutMs, limits.timeoutMs),
    maxOutputChars: limits.maxOutputBytes,
  })
  return { stdout: res.stdout, stderr: res.stderr, exitCode: res.exitCode, timedOut: res.timedOut }
}

export function systemWhich(params: unknown, ctx: CommandContext): { bins: Record<string, string> } {
  const p = parse(SystemWhichParams, "system.which", params)
  const PATH = ctx.policy.baseEnv().PATH ?? ""
  const bins: Record<string, string> = {}
  for (const name of p.bins) {
    const found = Bun.which(name, { PATH })
    if (found) bins[name] = found
  }
  return { bins }
}

export async function runNodeCommand(command: string, params: unknown, ctx: CommandContext): Promise<unknown> {
  switch (command) {
    case "system.run":
      return systemRun(params, ctx)
    case "system.which":
      return systemWhich(params, ctx)
    default:
      throw new NodeCommandError("UNKNOWN_COMMAND", `this node does not offer ${command} (it offers ${NODE_COMMANDS.join(", ")})`)
  }
}
