#!/usr/bin/env bun
/**
 * The binary's entry point. Subcommands are loaded on demand so `--help` and `--version` never evaluate the server,
 * the store or any channel library. The command line is checked here first (cli/argv.ts): citty itself ignores
 * unknown flags and extra arguments, which is how a typo runs the wrong thing and exits 0.
 */
import { defineCommand, runCommand } from "citty"
import { VERSION } from "../src/version.ts"
import { renderHelp, resolveCommand, UsageError } from "./argv.ts"
import { commands } from "./commands/index.ts"

// A compiled binary must never act as the `bun` CLI, whatever the environment says.
delete process.env.BUN_BE_BUN

const main = defineCommand({
  meta: {
    name: "gateway",
    version: VERSION,
    description: "An always-on AI agent gateway in one executable (OpenClaw gateway protocol v4 on ws://127.0.0.1:18789)",
  },
  subCommands: commands,
})

/** Exit codes: 0 ok, 1 failure, 2 usage error (as getopt programs do). */
async function run(rawArgs: string[]): Promise<void> {
  if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) return void process.stdout.write(`${VERSION}\n`)
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

run(process.argv.slice(2)).catch((err: unknown) => {
  // Commands report their own failures; what reaches here is unexpected: one line, the stack on request.
  const e = err as Error & { code?: string }
  const usage = e?.name === "CLIError"
  process.stderr.write(`gateway: ${e?.message ?? String(err)}\n`)
  if (process.env.GATEWAY_DEBUG) process.stderr.write(`${e?.stack ?? ""}\n`)
  else if (!usage) process.stderr.write("(set GATEWAY_DEBUG=1 to see where)\n")
  process.exit(usage ? 2 : 1)
})
