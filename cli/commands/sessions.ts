/** `gateway sessions list | show KEY | reset KEY | delete KEY | compact KEY | abort KEY | export KEY`. */
import { defineCommand } from "citty"
import { connectionArgs, printJson, withClient } from "./_shared.ts"

const keyArg = { key: { type: "positional", required: true, description: "Session key, e.g. agent:main:main (or just main)" } } as const

function age(ms: number): string {
  const s = Math.round((Date.now() - ms) / 1000)
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : s < 86400 ? `${Math.round(s / 3600)}h ago` : `${Math.round(s / 86400)}d ago`
}

const list = defineCommand({
  meta: { name: "list", description: "Sessions, most recently active first" },
  args: { limit: { type: "string", default: "50", description: "How many" }, ...connectionArgs },
  async run({ args }) {
    const res = (await withClient(args, ["operator.read"], (c) => c.rawRequest("sessions.list", { limit: Number(args.limit) }))) as {
      sessions: { key: string; kind: string; updatedAt: number; totalTokens: number; hasActiveRun: boolean; model?: string }[]
    }
    if (args.json) return printJson(res)
    if (res.sessions.length === 0) return void process.stdout.write("no sessions yet\n")
    const rows = res.sessions.map((s) => [s.key, kindLabel(s.kind), age(s.updatedAt), `${s.totalTokens} tok${s.hasActiveRun ? "  running" : ""}`])
    const header = ["KEY", "KIND", "UPDATED", "TOKENS"]
    const width = (i: number) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length))
    const line = (r: string[]) => `${r[0]!.padEnd(width(0))}  ${r[1]!.padEnd(width(1))}  ${r[2]!.padEnd(width(2))}  ${r[3]}`.trimEnd()
    process.stdout.write(`${line(header)}\n`)
    for (const r of rows) process.stdout.write(`${line(r)}\n`)
  },
})

/**
 * The wire's session kinds are OpenClaw's; "other" is what a key chosen by the user (--session work) gets there,
 * which reads as "unknown" in a table: call it what it is.
 */
function kindLabel(kind: string): string {
  return kind === "other" ? "named" : kind
}

const show = defineCommand({
  meta: { name: "show", description: "A session's details and recent messages" },
  args: { ...keyArg, ...connectionArgs },
  async run({ args }) {
    const res = (await withClient(args, ["operator.read"], (c) => c.rawRequest("sessions.transcript", { key: args.key }))) as {
      key: string
      messages: { role: string; content: string }[]
    }
    if (args.json) return printJson(res)
    process.stdout.write(`${res.key}\n`)
    for (const m of res.messages) process.stdout.write(`\n[${m.role}] ${m.content}\n`)
  },
})

const exportCmd = defineCommand({
  meta: { name: "export", description: "The full transcript as JSONL (one message per line) on stdout" },
  args: { ...keyArg, ...connectionArgs },
  async run({ args }) {
    const res = (await withClient(args, ["operator.read"], (c) => c.rawRequest("sessions.get", { key: args.key, limit: 5000 }))) as {
      key: string
      entry: Record<string, unknown>
      messages: unknown[]
    }
    process.stdout.write(`${JSON.stringify({ type: "session", key: res.key, ...res.entry })}\n`)
    for (const m of res.messages) process.stdout.write(`${JSON.stringify({ type: "message", ...(m as object) })}\n`)
  },
})

function simple(name: string, method: string, description: string) {
  return defineCommand({
    meta: { name, description },
    args: { ...keyArg, ...connectionArgs },
    async run({ args }) {
      const res = await withClient(args, ["operator.read", "operator.write"], (c) => c.rawRequest(method, { key: args.key }, { timeoutMs: 120_000 }))
      if (args.json) printJson(res)
      else process.stdout.write(`${name}: ${args.key} ok\n`)
    },
  })
}

export default defineCommand({
  meta: { name: "sessions", description: "List, inspect, export, reset, compact or abort agent sessions" },
  subCommands: {
    list,
    show,
    export: exportCmd,
    reset: simple("reset", "sessions.reset", "Start a fresh transcript (the old one stays in the database)"),
    delete: simple("delete", "sessions.delete", "Remove the session entry"),
    compact: simple("compact", "sessions.compact", "Summarise older turns now"),
    abort: simple("abort", "sessions.abort", "Abort the running turn and drop queued ones"),
  },
})
