/**
 * `gateway memory status | search QUERY [--limit N] [--json] | reindex [--full]`: the agent's memory index. The
 * replies are typed by the protocol's memory method schemas.
 */
import { defineCommand } from "citty"
import { connectionArgs, fail, printJson, withClient } from "./_shared.ts"

const status = defineCommand({
  meta: { name: "status", description: "Files, chunks, provider, vector mode and last sync of the memory index" },
  args: { ...connectionArgs },
  async run({ args }) {
    const s = await withClient(args, ["operator.read"], (c) => c.request("memory.status", {}))
    if (args.json) return printJson(s)
    const lines = [
      `memory     ${s.enabled ? "enabled" : "disabled"} (${s.workspace})`,
      `files      ${s.files}`,
      `chunks     ${s.chunks} (${s.embedded} with vectors)`,
      `provider   ${s.provider ? `${s.provider} ${s.model}${s.dims ? ` (${s.dims} dims)` : ""}` : "none"}`,
      `vectors    ${s.mode}${s.modeReason ? ` — ${s.modeReason}` : ""}`,
      `last sync  ${s.lastSyncAt ? `${new Date(s.lastSyncAt).toISOString()} (${s.lastSyncMs} ms)` : "not yet"}${s.rebuilding ? ", rebuilding" : ""}`,
      ...(s.lastError ? [`error      ${s.lastError}`] : []),
      ...s.skipped.map((k) => `skipped    ${k.path}: ${k.reason}`),
    ]
    process.stdout.write(`${lines.join("\n")}\n`)
  },
})

const search = defineCommand({
  meta: { name: "search", description: "Search memory as the agent's memory_search does" },
  args: {
    query: { type: "positional", required: true, description: "What to look for" },
    limit: { type: "string", description: "Most results to show (default: memory.search.maxResults)" },
    ...connectionArgs,
  },
  async run({ args }) {
    const limit = args.limit === undefined ? undefined : Number(args.limit)
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 100)) fail(`--limit must be a whole number from 1 to 100, got '${args.limit}'`)
    const res = await withClient(args, ["operator.read"], (c) => c.request("memory.search", { query: args.query, ...(limit ? { maxResults: limit } : {}) }))
    if (args.json) return printJson({ results: res.results })
    if (res.mode === "keyword-only") process.stderr.write(`keyword search only${res.fallback ? `: ${res.fallback}` : ""}\n`)
    if (res.results.length === 0) return void process.stdout.write("no matches\n")
    for (const r of res.results) {
      process.stdout.write(`${r.path}:${r.startLine}-${r.endLine}  ${r.score.toFixed(3)}\n${r.snippet.replace(/^/gm, "  ")}\n\n`)
    }
  },
})

const reindex = defineCommand({
  meta: { name: "reindex", description: "Reindex changed memory files now (--full: every file)" },
  args: { full: { type: "boolean", default: false, description: "Re-read and re-chunk every file" }, ...connectionArgs },
  async run({ args }) {
    const r = await withClient(args, ["operator.read", "operator.write"], (c) => c.request("memory.reindex", { full: args.full }, { timeoutMs: 600_000 }))
    if (args.json) return printJson(r)
    process.stdout.write(
      `indexed ${r.indexed}, unchanged ${r.unchanged}, removed ${r.removed}, skipped ${r.skipped}, embedded ${r.embedded} chunks in ${r.ms} ms\n`,
    )
  },
})

export default defineCommand({
  meta: { name: "memory", description: "The agent's memory index: status, search, reindex" },
  subCommands: { status, search, reindex },
})
