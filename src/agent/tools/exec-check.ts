/**
 * The exec decision (tools.exec.mode): deny, full, or for allowlist and ask whether the command runs on the
 * allowlist's word alone. That takes all of: one plain invocation (no operators, substitutions or expansions), a
 * listed program installed outside the roots, no variable that steers programs, none of the program's refused
 * switches (exec-rules.ts), path arguments inside tools.fs.roots, and for git a repository whose configuration runs
 * nothing. Allowlist mode refuses anything short of that, saying why; ask mode asks the operator instead.
 */
import { lstatSync, realpathSync } from "node:fs"
import { basename, isAbsolute, resolve } from "node:path"
import { checkProgramArgs, describeRefusal, isGit } from "./exec-rules.ts"
import { gitRepoRefusal } from "./git-repo.ts"
import { isHookVariable } from "./hook-env.ts"
import type { ExecDecision, ToolPolicy } from "./policy.ts"
import { expandWord, isAssignment, parseCommand } from "./shell-words.ts"

/** Why a command needs more than the allowlist: `why` for the operator, `message` for the model in allowlist mode. */
type Vetted = { ok: true; argv: string[] } | { ok: false; why: string; message: string }

function refuse(why: string, message: string): Vetted {
  return { ok: false, why, message }
}

function lexists(p: string): boolean {
  try {
    lstatSync(p)
    return true
  } catch {
    return false
  }
}

/**
 * The part of an argument that may be a path: the word itself, the value after "=" (--file=x, if=x), or for a short
 * option with an attached value (-f/etc/x, -I../inc) what follows from its first `/`, `.` or `~`.
 */
function pathCandidates(arg: string): string[] {
  if (arg === "" || arg === "-" || arg === "--") return []
  const eq = arg.indexOf("=")
  if (arg.startsWith("-")) {
    if (eq !== -1) return [arg.slice(eq + 1)]
    if (arg.startsWith("--")) return []
    const m = /[/.~]/.exec(arg.slice(2))
    return m ? [arg.slice(2 + m.index)] : []
  }
  return eq > 0 ? [arg, arg.slice(eq + 1)] : [arg]
}

/** The first argument naming a path outside the roots (or a broken or hard link), with why. */
function pathProblem(policy: ToolPolicy, args: string[], skip: Set<number>, cwd: string): { arg: string; why: string } | undefined {
  for (const [i, arg] of args.entries()) {
    if (skip.has(i)) continue
    for (const c of pathCandidates(arg)) {
      if (!c) continue
      const abs = resolve(cwd, c)
      // A word that neither looks like a path nor names one is just a word.
      if (!c.includes("/") && !c.startsWith(".") && !c.startsWith("~") && !lexists(abs)) continue
      const why = policy.commandPathProblem(abs)
      if (why) return { arg, why }
    }
  }
  return undefined
}

/** The installed program a listed name runs: found on the trusted PATH, symlinks resolved. */
function resolveProgram(program: string, path: string): { path: string; real: string } | undefined {
  const found = isAbsolute(program) ? program : program.includes("/") ? undefined : (Bun.which(program, { PATH: path }) ?? undefined)
  if (!found) return undefined
  try {
    return { path: found, real: realpathSync(found) }
  } catch {
    return undefined
  }
}

function vet(policy: ToolPolicy, command: string, env: Record<string, string>, cwd: string): Vetted {
  const { allowlist } = policy.config.exec
  const parsed = parseCommand(command)
  if (parsed.operators.length) {
    const ops = parsed.operators.join(" ")
    return refuse(
      `the command uses shell operators (${ops})`,
      `Shell operators (${ops}) are not allowed: tools.exec.mode is "allowlist", which runs one allowlisted program per call. Split the command into separate exec calls without pipes, redirects, substitutions or chaining.`,
    )
  }
  if (parsed.unterminated) return refuse("the command has an unterminated quote", "The command has an unterminated quote. Close it and call exec again.")
  if (parsed.expansions.length) {
    const exps = parsed.expansions.join(" ")
    return refuse(
      `the command uses shell expansions (${exps})`,
      `Shell expansions (${exps}) are not allowed: in allowlist mode a command runs as the words it is written with, without a shell. Write the values out (or pass variables with env for the program itself to read).`,
    )
  }
  const [first, ...rest] = parsed.words
  if (!first) return refuse("the command is empty", "The command is empty. Pass the shell command to run.")
  if (isAssignment(first))
    return refuse(
      `it sets ${first.text.split("=")[0]} before the program`,
      `Variable assignments before the program (${first.text}) are not allowed in allowlist mode. Pass variables with the exec tool's env parameter.`,
    )
  const program = first.text
  if (!policy.isProgramAllowlisted(program))
    return refuse(
      `${program} is not allowlisted`,
      `Program "${program}" is not on tools.exec.allowlist (allowed: ${allowlist.length ? allowlist.join(", ") : "none"}). Use one of the allowed programs or another tool.`,
    )
  const hooks = Object.keys(env).filter(isHookVariable)
  if (hooks.length)
    return refuse(
      `it sets ${hooks.join(", ")}`,
      `Setting ${hooks.join(", ")} is not allowed in allowlist mode: these variables change which program runs or what it loads. Run the command without them.`,
    )

  let baseEnv: Record<string, string>
  try {
    baseEnv = policy.execEnv()
  } catch (err) {
    return refuse((err as Error).message, (err as Error).message)
  }
  const home = baseEnv.HOME ?? policy.execHome()
  const args: string[] = []
  try {
    for (const w of rest) args.push(...expandWord(w, cwd, home))
  } catch (err) {
    return refuse((err as Error).message, `${(err as Error).message}.`)
  }

  const resolved = resolveProgram(program, baseEnv.PATH ?? "")
  const names = [basename(program), ...(resolved && basename(resolved.real) !== "busybox" ? [basename(resolved.real)] : [])]
  const verdict = checkProgramArgs(names, args)
  if (verdict.refusal) {
    const text = describeRefusal(verdict.refusal)
    return refuse(text, `${text} by the exec policy, although ${program} is allowlisted. Do the task without it, or with another tool.`)
  }
  if (!resolved) return refuse(`${program} was not found`, `Program "${program}" is allowlisted but was not found on PATH (${baseEnv.PATH}).`)
  if (policy.isInsideRoots(resolved.real))
    return refuse(
      `${program} is ${resolved.real}, inside the allowed directories`,
      `Program "${program}" resolves to ${resolved.real}, inside the allowed directories where commands can write; only programs installed outside them run from the allowlist.`,
    )
  const bad = pathProblem(policy, args, verdict.notPaths, cwd)
  if (bad)
    return refuse(
      `argument "${bad.arg}" of ${program}: ${bad.why}`,
      `${program}: argument "${bad.arg}" is refused: ${bad.why}. Commands may only name paths inside the allowed directories (tools.fs.roots).`,
    )
  if (isGit(names)) {
    const why = gitRepoRefusal({
      cwd,
      repoArgs: verdict.gitRepoArgs ?? [],
      env: { ...baseEnv, ...env },
      inside: (p) => policy.isInsideRoots(p),
    })
    if (why)
      return refuse(`git: ${why}`, `git is refused here by the exec policy: ${why}. Remove that setting (git config --unset <key>) or ask the user to run git.`)
  }
  return { ok: true, argv: [resolved.path, ...args] }
}

export function checkExecCommand(policy: ToolPolicy, command: string, env: Record<string, string>, cwd: string): ExecDecision {
  const { mode } = policy.config.exec
  if (!command.trim()) return { decision: "deny", reason: "The command is empty. Pass the shell command to run." }
  if (mode === "deny")
    return {
      decision: "deny",
      reason: 'exec is disabled by the gateway\'s tool policy (tools.exec.mode is "deny"). Do the task with the other tools, or ask the user to enable exec.',
    }
  if (mode === "full") return { decision: "allow", reason: "tools.exec.mode is full" }
  const v = vet(policy, command, env, cwd)
  if (v.ok) return { decision: "allow", reason: `${parseCommand(command).words[0]?.text} is allowlisted`, argv: v.argv }
  if (mode === "allowlist") return { decision: "deny", reason: v.message }
  return { decision: "ask", reason: `operator approval needed: ${v.why}` }
}
