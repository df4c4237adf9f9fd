/**
 * How a command the policy let through is started: the words (the allowlist's checked argv, or `/bin/sh -c` for a
 * command the operator approved or full mode runs), inside bwrap when tools.exec.sandbox says so, with the policy's
 * environment plus the variables the call passes. Shared by the exec tool and the exec.bash RPC.
 */
import type { ExecDecision, ToolPolicy } from "./policy.ts"
import { bwrapArgv } from "./sandbox.ts"

export interface Launch {
  argv: string[]
  env: Record<string, string>
}

/** Throws a ToolError (HOME not private, bwrap missing) with a message for the model. */
export function prepareLaunch(policy: ToolPolicy, o: { command: string; decision: ExecDecision; cwd: string; env?: Record<string, string> }): Launch {
  const exec = policy.config.exec
  const env = { ...policy.execEnv(), ...o.env }
  const inner = o.decision.argv ?? ["/bin/sh", "-c", o.command]
  if (exec.sandbox !== "bwrap") return { argv: inner, env }
  const prefix = bwrapArgv({
    roots: policy.realRoots(),
    home: policy.execHome(),
    cwd: o.cwd,
    network: exec.sandboxNetwork,
    hide: policy.sandboxHidden(),
    path: env.PATH,
  })
  return { argv: [...prefix, ...inner], env }
}

/** The command as the operator sees it in an approval request: the variables the call sets come first. */
export function approvalText(command: string, env?: Record<string, string>): string {
  const quote = (v: string) => (/^[A-Za-z0-9_@%+=:,./-]*$/.test(v) && v !== "" ? v : `'${v.replaceAll("'", `'\\''`)}'`)
  const prefix = Object.entries(env ?? {}).map(([k, v]) => `${k}=${quote(v)} `)
  return `${prefix.join("")}${command}`
}
