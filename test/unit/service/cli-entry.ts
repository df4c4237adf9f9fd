/**
 * The service commands mounted on a root command, for CLI-level tests before (and independently of) their
 * registration in cli/commands/index.ts.
 */
import { defineCommand, runMain } from "citty"
import { install, restart, start, status, stop, uninstall } from "../../../cli/commands/service.ts"

runMain(defineCommand({ meta: { name: "gateway" }, subCommands: { install, uninstall, status, start, stop, restart } }))
