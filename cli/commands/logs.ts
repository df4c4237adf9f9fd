/** `gateway logs [--follow]`: the daemon's log through logs.tail (works against remote gateways too). */
import { defineCommand } from "citty"
import { type GatewayClient, GatewayUnreachableError } from "../../src/client/index.ts"
import { connect, connectionArgs, describeError, fail } from "./_shared.ts"

function render(line: string, json: boolean): string {
  if (json) return line
  try {
    const r = JSON.parse(line) as { time?: string; level?: string; subsystem?: string; message?: string; [k: string]: unknown }
    const { time, level, subsystem, message, ...rest } = r
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : ""
    return `${time ?? ""} ${(level ?? "").toUpperCase().padEnd(5)} [${subsystem ?? "-"}] ${message ?? ""}${extra}`
  } catch {
    return line
  }
}

export default defineCommand({
  meta: { name: "logs", description: "Print the gateway's recent log lines; --follow keeps printing new ones" },
  args: {
    follow: { type: "boolean", alias: "f", description: "Keep following new lines", default: false },
    limit: { type: "string", description: "How many recent lines to show first", default: "200" },
    interval: { type: "string", description: "Poll interval for --follow, in ms", default: "1000" },
    ...connectionArgs,
  },
  async run({ args }) {
    const limit = Number(args.limit)
    const interval = Number(args.interval)
    if (!Number.isInteger(limit) || limit < 1 || limit > 5000) fail(`--limit must be 1..5000, got '${args.limit}'`)
    if (!Number.isFinite(interval) || interval < 100) fail(`--interval must be at least 100 ms, got '${args.interval}'`)
    let client: GatewayClient
    try {
      client = await connect(args, ["operator.read"])
    } catch (err) {
      // A local gateway that is down still has logs: the service manager's (journald, launchd files) or the JSONL file.
      if (err instanceof GatewayUnreachableError && !args.url && !process.env.GATEWAY_URL) {
        const { followServiceLogs } = await import("../../src/service/logs.ts")
        const stop = new AbortController()
        process.on("SIGINT", () => stop.abort())
        process.exit(await followServiceLogs({ home: args.home, limit, follow: args.follow, signal: stop.signal }))
      }
      return fail(describeError(err), { json: args.json, error: err })
    }
    try {
      let res = await client.request("logs.tail", { limit })
      for (const l of res.lines) process.stdout.write(`${render(l, args.json)}\n`)
      while (args.follow) {
        await Bun.sleep(interval)
        res = await client.request("logs.tail", { cursor: res.cursor, limit: 5000 })
        if (res.reset && !args.json) process.stdout.write("--- log rotated ---\n")
        for (const l of res.lines) process.stdout.write(`${render(l, args.json)}\n`)
      }
    } catch (err) {
      fail(describeError(err), { json: args.json, error: err })
    } finally {
      client.close()
    }
  },
})
