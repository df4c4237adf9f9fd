/**
 * The agent's memory tools: memory_search (hybrid search over MEMORY.md and memory/*.md) and memory_get (lines of one
 * of those files, to read around a hit). Offered beside the registry's tools and filtered by the same tools.allow /
 * tools.deny; memory_get reads memory files only, whatever the file roots allow.
 */
import { z } from "zod"
import { defineTool, ToolError, type ToolDef } from "../agent/tools/tool.ts"
import type { MemoryService } from "./service.ts"

export function createMemoryTools(memory: MemoryService): ToolDef[] {
  return [
    defineTool({
      name: "memory_search",
      description:
        "Search the long-term memory files (MEMORY.md and memory/*.md) by meaning and keywords. Use it before answering about prior work, decisions, people, preferences or todos; then memory_get to read around a hit, and cite it as Source: <path>#<line>.",
      parameters: z.object({
        query: z.string().min(1).max(2000).describe("What to look for, in any language"),
        maxResults: z.number().int().min(1).max(50).optional().describe("How many results (default 6)"),
        minScore: z.number().min(0).max(1).optional().describe("Drop results scoring below this (0..1)"),
      }),
      async execute(args) {
        const res = await memory.search(args.query, { maxResults: args.maxResults, minScore: args.minScore })
        const head = res.mode === "keyword-only" ? `(keyword search only${res.fallback ? `: ${res.fallback}` : ""})\n` : ""
        const body = res.results.length
          ? res.results.map((r) => `${r.path}#${r.startLine}-${r.endLine} (score ${r.score.toFixed(2)})\n${r.snippet}`).join("\n\n---\n\n")
          : "No memory matched."
        return { output: head + body, meta: { ...res } }
      },
    }),
    defineTool({
      name: "memory_get",
      description:
        "Read lines of a memory file (MEMORY.md or memory/*.md, or a sessions/<key>/<id> transcript that memory_search returned), e.g. around a hit. A missing file reads as empty.",
      parameters: z.object({
        path: z.string().min(1).describe("Workspace-relative path, e.g. memory/2026-12-03.md"),
        from: z.number().int().min(1).optional().describe("First line (1-based, default 1)"),
        lines: z.number().int().min(1).max(5000).optional().describe("How many lines (default: to the end)"),
      }),
      async execute(args) {
        try {
          const r = memory.read(args.path, args.from, args.lines)
          return { output: r.text, meta: { path: r.path, from: r.from, to: r.to, totalLines: r.totalLines } }
        } catch (err) {
          throw new ToolError({ message: (err as Error).message })
        }
      },
    }),
  ] as ToolDef[]
}
