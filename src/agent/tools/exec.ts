/**
 * exec: runs a shell command in the workspace, gated by tools.exec.mode (deny / allowlist / ask / full; exec-check.ts).
 * A command the allowlist accepts runs as the words the policy checked, without a shell; one the operator approved, or
 * any in full mode, runs with `/bin/sh -c`; either way with the policy's environment and HOME, in bwrap when
 * tools.exec.sandbox says so (exec-launch.ts). A command still running after tools.exec.backgroundAfterMs (or started
 * with background: true) keeps running in the ProcessRegistry and is managed with the `process` tool. Timeouts and
 * aborts kill the whole process group.
 *
 * runCommand is the plain form the exec.bash RPC uses (its caller checks the policy and prepares the launch).
 */
import { z } from "zod"
import { approvalText, prepareLaunch } from "./exec-launch.ts"
import type { ToolPolicy } from "./policy.ts"
import { formatDuration, OUTPUT_RETURN_CHARS, ProcessRegistry, tailWithNote, type ManagedProcess } from "./process.ts"
import { defineTool, ToolError, type ToolContext, type ToolDef } from "./tool.ts"

/** Asks the operator to approve a command (ask mode); false = denied or unanswered. */
export type ApproveFn = (command: string, cwd: string, ctx: ToolContext) => Promise<boolean>

export interface RunCommandOptions {
  command: string
  /** The exact words to run instead of `/bin/sh -c command` (see prepareLaunch). */
  argv?: string[]
  workdir: string
  /** The environment to start from instead of the gateway's own. */
  baseEnv?: Record<string, string>
  env?: Record<string, string>
  /** Kill the process group after this long (default: no limit). */
  timeoutMs?: number
  signal?: AbortSignal
  /** Sent to stdin, then EOF (default: stdin is /dev/null). */
  stdin?: string
  /** Characters kept per stream (a rolling tail; default 200 000). */
  maxOutputChars?: number
}

export interface RunCommandResult {
  stdout: string
  stderr: string
  /** null when killed by a signal. */
  exitCode: number | null
  signal: string | null
  timedOut: boolean
  aborted: boolean
  /** Some output was dropped from the front of stdout or stderr. */
  truncated: boolean
  durationMs: number
}

/** Runs a shell command to completion. Never throws for the command's own failure; check exitCode / timedOut. */
export async function runCommand(o: RunCommandOptions): Promise<RunCommandResult> {
  const registry = new ProcessRegistry({ maxBufferChars: o.maxOutputChars })
  const started = Date.now()
  let p: ManagedProcess
  try {
    p = registry.spawn({ command: o.command, argv: o.argv, cwd: o.workdir, baseEnv: o.baseEnv, env: o.env, timeoutMs: o.timeoutMs, stdinText: o.stdin })
  } catch (err) {
    // The program could not start (an allowlisted one missing since the check): as a shell would report it.
    return {
      stdout: "",
      stderr: `${(err as Error).message}\n`,
      exitCode: 127,
      signal: null,
      timedOut: false,
      aborted: false,
      truncated: false,
      durationMs: Date.now() - started,
    }
  }
  let aborted = false
  const onAbort = () => {
    aborted = true
    void p.kill()
  }
  if (o.signal?.aborted) onAbort()
  else o.signal?.addEventListener("abort", onAbort, { once: true })
  try {
    await p.done
  } finally {
    o.signal?.removeEventListener("abort", onAbort)
  }
  return {
    stdout: p.stdout.retained,
    stderr: p.stderr.retained,
    exitCode: p.exitCode,
    signal: p.signalCode,
    timedOut: p.timedOut,
    aborted,
    truncated: p.stdout.dropped > 0 || p.stderr.dropped > 0,
    durationMs: (p.endedAt ?? Date.now()) - p.startedAt,
  }
}

const ExecParams = z.object({
  command: z
    .string()
    .min(1)
    .describe("Shell command, run with /bin/sh -c (pipes and redirects work when the policy allows them; allowlisted commands run without a shell)"),
  workdir: z.string().optional().describe("Working directory, relative to the workspace or absolute inside the allowed roots (default: the workspace)"),
  env: z.record(z.string(), z.string()).optional().describe("Extra environment variables for this command"),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe("Kill the command (and its children) after this many seconds (default and maximum: tools.exec.timeoutSeconds)"),
  background: z
    .boolean()
    .optional()
    .describe("Start in the background and return at once with a sessionId (for servers, watchers, long builds); use the process tool to poll, write or kill"),
})

export interface ExecToolOptions {
  policy: ToolPolicy
  processes: ProcessRegistry
  approve: ApproveFn
}

function finishedText(p: ManagedProcess, retainedForLog: boolean): string {
  const out = p.output.retained
  const body = out.length ? tailWithNote(out, OUTPUT_RETURN_CHARS, p.output.dropped) : "(no output)"
  const d = formatDuration((p.endedAt ?? Date.now()) - p.startedAt)
  let status: string
  if (p.timedOut) status = `[killed: timed out after ${d}; pass a larger timeoutSeconds or background: true for long commands]`
  else if (p.killed) status = `[killed after ${d}]`
  else if (p.signalCode) status = `[terminated by ${p.signalCode} after ${d}]`
  else status = `[exit code ${p.exitCode} · ${d}]`
  const more = retainedForLog
    ? `\n[output was long: the last ${p.output.retained.length} characters are kept; read them with process action "log" sessionId "${p.id}"]`
    : ""
  return `${body.endsWith("\n") ? body : `${body}\n`}${status}${more}`
}

function runningText(p: ManagedProcess, why: string): string {
  const tail = p.output.tail(4000).replace(/\n$/, "")
  return [
    `status: running`,
    `sessionId: ${p.id}`,
    `pid: ${p.pid}`,
    `${why} Use the process tool with sessionId "${p.id}": action "poll" for new output and the exit status, "write" to send stdin, "kill" to stop it.`,
    `tail:`,
    tail.length ? tail : "(no output yet)",
  ].join("\n")
}

export function createExecTool(o: ExecToolOptions): ToolDef<typeof ExecParams> {
  const { policy, processes, approve } = o
  return defineTool({
    name: "exec",
    description: [
      "Run a shell command (/bin/sh -c) in the workspace and return its combined stdout+stderr and exit code.",
      "Commands still running after a few seconds (or started with background: true) continue in the background; the result then has a sessionId for the process tool.",
      "Commands may need operator approval or be restricted to allowlisted programs, depending on the gateway's policy.",
      "stdin stays open: a program waiting for input ends up in the background, where process write answers it; pass input with a pipe or heredoc, or </dev/null, when you do not want that.",
      "Prefer the read/write/edit/ls tools for file operations.",
    ].join("\n"),
    parameters: ExecParams,
    async execute(args, ctx) {
      const cfg = policy.config.exec
      const command = args.command
      const cwd = policy.resolveDir(args.workdir)
      const decision = policy.checkExec(command, args.env, cwd)
      if (decision.decision === "deny") throw new ToolError({ message: decision.reason })
      if (decision.decision === "ask") {
        // The operator sees the variables the call sets too: they can change what the command does.
        const ok = await approve(approvalText(command, args.env), cwd, ctx)
        if (ctx.signal.aborted) throw new ToolError({ message: "exec was aborted while waiting for approval." })
        if (!ok)
          throw new ToolError({
            message:
              "The command was denied by the operator (or the approval request timed out). Do not retry the same command; ask the user, or find another way.",
          })
      }
      const timeoutSeconds = Math.min(args.timeoutSeconds ?? cfg.timeoutSeconds, cfg.timeoutSeconds)
      if (ctx.signal.aborted) throw new ToolError({ message: "exec was aborted." })
      const launch = prepareLaunch(policy, { command, decision, cwd, env: args.env })
      let p: ManagedProcess
      try {
        p = processes.spawn({ command, argv: launch.argv, cwd, baseEnv: launch.env, timeoutMs: timeoutSeconds * 1000, interactiveStdin: true })
      } catch (err) {
        throw new ToolError({ message: `Could not start the command: ${(err as Error).message}` })
      }

      if (args.background) {
        p.backgrounded = true
        processes.add(p)
        // Give a command that fails at once a moment to say so.
        await Promise.race([p.done, new Promise((r) => setTimeout(r, 100))])
        if (!p.running) {
          p.pollCursor = p.output.total
          return { output: `${finishedText(p, false)}\n(sessionId: ${p.id})`, meta: { sessionId: p.id, exitCode: p.exitCode, status: "exited" } }
        }
        return { output: runningText(p, "Started in the background."), meta: { status: "running", sessionId: p.id, pid: p.pid } }
      }

      // Foreground: wait for the exit, the background threshold, or an abort.
      let lastUpdate = 0
      const offUpdate = ctx.update
        ? p.onChange(() => {
            const now = Date.now()
            if (now - lastUpdate < 500) return
            lastUpdate = now
            ctx.update?.(p.output.tail(2000))
          })
        : () => {}
      let onAbort: (() => void) | undefined
      const aborted = new Promise<"abort">((r) => {
        onAbort = () => r("abort")
        if (ctx.signal.aborted) r("abort")
        else ctx.signal.addEventListener("abort", onAbort, { once: true })
      })
      const after = cfg.backgroundAfterMs
      let timer: Timer | undefined
      const yielded = after > 0 ? new Promise<"yield">((r) => (timer = setTimeout(() => r("yield"), after))) : new Promise<"yield">(() => {})
      const outcome = await Promise.race([p.done.then(() => "done" as const), aborted, yielded])
      clearTimeout(timer)
      offUpdate()
      if (onAbort) ctx.signal.removeEventListener("abort", onAbort)

      if (outcome === "abort") {
        await p.kill()
        throw new ToolError({ message: "exec was aborted; the command was killed." })
      }
      if (outcome === "yield") {
        p.backgrounded = true
        p.pollCursor = p.output.total
        processes.add(p)
        return {
          output: runningText(p, `Still running after ${formatDuration(after)}, so it continues in the background.`),
          meta: { status: "running", sessionId: p.id, pid: p.pid },
        }
      }
      const long = p.output.dropped > 0 || p.output.retained.length > OUTPUT_RETURN_CHARS
      if (long) processes.add(p)
      return {
        output: finishedText(p, long),
        isError: p.timedOut ? true : undefined,
        meta: {
          exitCode: p.exitCode,
          signal: p.signalCode,
          timedOut: p.timedOut,
          durationMs: (p.endedAt ?? Date.now()) - p.startedAt,
          ...(long ? { sessionId: p.id } : {}),
        },
      }
    },
  })
}
