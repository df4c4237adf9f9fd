/** `gateway health`: is the gateway up and well? Exit 0 when it answers ok. */
import { defineCommand } from "citty"
import { connectionArgs, fail, printJson, withClient } from "./_shared.ts"

export default defineCommand({
  meta: { name: "health", description: "Ask the running gateway for its health (exit 0 when healthy)" },
  args: { ...connectionArgs },
  async run({ args }) {
    const started = performance.now()
    const health = await withClient(args, ["operator.read"], (c) => c.request("health"))
    if (args.json) printJson(health)
    else {
      const ms = Math.round(performance.now() - started)
      // console.log writes the same bytes as process.stdout.write without building a Node stream first (~15 ms).
      console.log(`gateway ${health.ok ? "ok" : "NOT ok"} · ${health.agents.length} agent(s) · ${health.sessions.count} session(s) · ${ms} ms`)
    }
    if (!health.ok) fail("gateway reports unhealthy", { json: false })
  },
})
