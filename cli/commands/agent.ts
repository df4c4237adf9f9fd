/** `gateway agent --message …`: one agent turn, streamed: reply text on stdout, tool activity on stderr. */
import { defineCommand } from "citty"
import type { GatewayClient } from "../../src/client/index.ts"
import { connect, connectionArgs, describeError, fail, printJson, ui } from "./_shared.ts"

export default defineCommand({
  meta: { name: "agent", description: "Run one agent turn and stream the reply (tool calls shown as they run)" },
  args: {
    message: { type: "string", alias: "m", description: "The message to send", required: true },
    session: { type: "string", description: "Session key (default: the agent's main session, agent:<id>:main)", valueHint: "key" },
    agent: { type: "string", description: "Agent id from agents.list (default: the default agent)", valueHint: "id" },
    model: { type: "string", description: "Model for this run, as provider/model" },
    "run-timeout": { type: "string", description: "Abort the run after this many seconds (default: agents.defaults.timeoutSeconds)" },
    ...connectionArgs,
  },
  async run({ args }) {
    let client: GatewayClient | undefined
    const runId = crypto.randomUUID()
    // "main" without an agent: the gateway resolves it to the default agent's main session.
    const sessionKey = args.session ?? (args.agent ? `agent:${args.agent}:main` : "main")
    try {
      client = await connect(args, ["operator.read", "operator.write"], { caps: ["tool-events"] })
      const c = client
      let printed = false
      c.onEvent((ev) => {
        if (ev.event !== "agent") return
        const p = ev.payload as { runId: string; stream: string; data: Record<string, unknown> }
        if (p.runId !== runId || args.json) return
        if (p.stream === "assistant" && typeof p.data.delta === "string") {
          process.stdout.write(p.data.delta)
          printed = true
        } else if (p.stream === "tool" && p.data.phase === "start") {
          ui.info(`tool ${p.data.name} ${JSON.stringify(p.data.args ?? {}).slice(0, 200)}`)
        } else if (p.stream === "tool" && p.data.phase === "result") {
          const out = String(p.data.result ?? "")
          ;(p.data.isError ? ui.warn : ui.success)(`tool ${p.data.name}: ${out.length > 200 ? `${out.slice(0, 200)}…` : out}`)
        } else if (p.stream === "compaction") ui.info(`compaction ${p.data.phase}`)
      })
      process.on("SIGINT", () => {
        c.rawRequest("sessions.abort", { key: sessionKey, runId }, { timeoutMs: 3000 }).finally(() => process.exit(130))
      })
      const params: Record<string, unknown> = { message: args.message, idempotencyKey: runId, sessionKey }
      if (args.agent) params.agentId = args.agent
      if (args.model) params.model = args.model
      if (args["run-timeout"]) params.timeout = Number(args["run-timeout"])
      const final = (await c.rawRequest("agent", params, { expectFinal: true, timeoutMs: 0 })) as {
        status: string
        summary?: string
        result?: { payloads?: { text?: string }[] }
      }
      if (args.json) printJson(final)
      else {
        if (!printed) process.stdout.write(final.result?.payloads?.map((p) => p.text ?? "").join("\n") ?? "")
        process.stdout.write("\n")
        if (final.status !== "ok") fail(`run ended with status ${final.status}: ${final.summary ?? ""}`)
      }
    } catch (err) {
      fail(describeError(err), { json: args.json, error: err })
    } finally {
      client?.close()
    }
  },
})
