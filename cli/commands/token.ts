/**
 * `gateway token new [--write]`: a strong random token for the gateway (32 random bytes, base64url). Non-loopback
 * binds refuse tokens shorter than 16 characters; this is the easy way to get a good one.
 */
import { randomBytes } from "node:crypto"
import { defineCommand } from "citty"
import { pathPatch } from "../../src/config/load.ts"
import { connectionArgs, printJson } from "./_shared.ts"
import { writeConfigPatch } from "./config.ts"

const create = defineCommand({
  meta: {
    name: "new",
    description: "Print a new random token; --write also stores it as gateway.auth.token (clients then need it: GATEWAY_TOKEN or --token)",
  },
  args: {
    write: { type: "boolean", default: false, description: "Store it as gateway.auth.token (through the running gateway, else in gateway.json)" },
    ...connectionArgs,
  },
  async run({ args }) {
    const token = randomBytes(32).toString("base64url")
    if (!args.write) {
      if (args.json) printJson({ token, written: false })
      else process.stdout.write(`${token}\n`)
      return
    }
    // The token goes to stdout once (the caller needs it for clients); writeConfigPatch reports the write.
    if (!args.json) process.stdout.write(`${token}\n`)
    await writeConfigPatch(args, pathPatch("gateway.auth.token", token), "set gateway.auth.token", { token, written: true })
  },
})

export default defineCommand({
  meta: { name: "token", description: "Gateway tokens: `gateway token new` prints a strong random one" },
  subCommands: { new: create },
})
