#!/usr/bin/env bun
/**
 * The binary's entry point. Subcommands are loaded on demand so `--help` and `--version` never evaluate the server,
 * the store or any channel library.
 */
import { defineCommand, runMain } from "citty"
import { VERSION } from "../src/version.ts"
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

runMain(main)
