#!/usr/bin/env bun
/**
 * The binary's entry point. `--version` is answered before anything else is loaded; everything else (citty, the
 * command-line check, the lazy command map) is imported after it, so no command pays for another's modules: the
 * build splits the code into chunks and each command loads only those it uses. The command line is checked first
 * (cli/argv.ts): citty itself ignores unknown flags and extra arguments, which is how a typo runs the wrong thing
 * and exits 0.
 */
import { VERSION } from "../src/version.ts"

// A compiled binary must never act as the `bun` CLI, whatever the environment says.
delete process.env.BUN_BE_BUN

/** Exit codes: 0 ok, 1 failure, 2 usage error (as getopt programs do). */
async function run(rawArgs: string[]): Promise<void> {
  const [{ defineCommand, runCommand }, { renderHelp, resolveCommand, UsageError }, { commands }] = await Promise.all([
    import("citty"),
    import("./argv.ts"),
    import("./commands/index.ts"),
  ])
  const main = defineCommand({
    meta: {
      name: "gateway",
      version: VERSION,
      description: "An always-on AI agent gateway in one executable (OpenClaw gateway protocol v4 on ws://127.0.0.1:18789)",
    },
    subCommands: commands,
  })
  let resolved: Awaited<ReturnType<typeof resolveCommand>>
  try {
    resolved = await resolveCommand(main, rawArgs)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`gateway: ${err.message}\n`)
    process.exit(2)
  }
  if (resolved.help) {
    const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb"
    process.stdout.write(`${await renderHelp(resolved.chain, color)}\n\n`)
    process.exit(0)
  }
  await runCommand(main, { rawArgs })
}

const rawArgs = process.argv.slice(2)
// console.log, not process.stdout.write: in a compiled binary the first touch of process.stdout builds a Node
// stream (~15 ms of CPU); console.log writes the same bytes natively.
if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) console.log(VERSION)
else {
  run(rawArgs).catch((err: unknown) => {
    // Commands report their own failures; what reaches here is unexpected: one line, the stack on request.
    const e = err as Error & { code?: string }
    const usage = e?.name === "CLIError"
    process.stderr.write(`gateway: ${e?.message ?? String(err)}\n`)
    if (process.env.GATEWAY_DEBUG) process.stderr.write(`${e?.stack ?? ""}\n`)
    else if (!usage) process.stderr.write("(set GATEWAY_DEBUG=1 to see where)\n")
    process.exit(usage ? 2 : 1)
  })
}
