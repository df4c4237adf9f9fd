/** `gateway call <method>`: any RPC by name, params as JSON; prints the payload. */
import { defineCommand } from "citty"
import { connectionArgs, fail, printJson, withClient } from "./_shared.ts"

export default defineCommand({
  meta: { name: "call", description: "Call a gateway RPC method and print its result (e.g. gateway call status --params '{}')" },
  args: {
    method: { type: "positional", description: "Method name, e.g. status, config.get, logs.tail", required: true },
    params: { type: "string", description: "Params as a JSON object", default: "{}", valueHint: "json" },
    "expect-final": { type: "boolean", description: "Wait past an 'accepted' reply for the final one (agent)", default: false },
    ...connectionArgs,
  },
  async run({ args }) {
    let params: unknown
    try {
      params = JSON.parse(args.params)
    } catch (err) {
      fail(`--params is not valid JSON: ${(err as Error).message}`, { json: args.json })
    }
    const timeoutMs = Number(args.timeout)
    const result = await withClient(args, undefined, (c) => c.rawRequest(args.method, params, { timeoutMs, expectFinal: args["expect-final"] }))
    // Scripts get exact JSON either way; humans get it indented too (results are structured).
    printJson(result)
  },
})
