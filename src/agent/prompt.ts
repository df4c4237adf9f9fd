/**
 * The workspace and the system prompt. Bootstrap files are created on first run with short defaults; the prompt
 * stays lean on purpose (OpenClaw's runs to ~45,000 characters and small local models drown in it): identity,
 * tool list, a few rules, then the workspace files under per-file and total caps.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { ToolDef } from "./tools/tool.ts"

export const BOOTSTRAP_FILES: Record<string, string> = {
  "AGENTS.md": `# AGENTS.md

How you work here:
- This folder is your workspace. Keep notes and files here.
- Read a file before you change it. Prefer small, exact edits.
- Ask before anything destructive or irreversible.
- When you finish, say briefly what you did.
`,
  "SOUL.md": `# SOUL.md

Be direct, warm and brief. Skip filler. Say when you are unsure.
`,
  "USER.md": `# USER.md

(About the person you help: name, time zone, preferences. Fill in as you learn.)
`,
  "IDENTITY.md": `# IDENTITY.md

Name: Gateway assistant
`,
  "TOOLS.md": `# TOOLS.md

(Notes about local tools and conventions: paths, hosts, commands that work here.)
`,
  "MEMORY.md": `# MEMORY.md

(Durable facts worth remembering across sessions. Keep it short and current.)
`,
  "HEARTBEAT.md": `# HEARTBEAT.md

(Checks to run on a heartbeat. Leave empty to skip heartbeats.)
`,
}

/** Order in which workspace files enter the prompt. MEMORY.md only in the main session (it is private). */
const PROMPT_ORDER = ["AGENTS.md", "SOUL.md", "IDENTITY.md", "USER.md", "TOOLS.md", "MEMORY.md"]

export function ensureWorkspace(dir: string): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const created: string[] = []
  for (const [name, text] of Object.entries(BOOTSTRAP_FILES)) {
    const file = join(dir, name)
    if (!existsSync(file)) {
      writeFileSync(file, text, { mode: 0o600 })
      created.push(name)
    }
  }
  return created
}

/** Over the cap: keep the head and the tail with a marker between, so the model knows to read the file. */
export function capText(text: string, max: number, name: string): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false }
  const head = Math.floor(max * 0.7)
  const tail = Math.floor(max * 0.2)
  return { text: `${text.slice(0, head)}\n\n[... ${name} truncated; read the file for the rest ...]\n\n${text.slice(-tail)}`, truncated: true }
}

export interface PromptOptions {
  workspace: string
  tools: ToolDef[]
  sessionKey: string
  isSubagent: boolean
  isMainSession: boolean
  model: string
  perFileMax: number
  totalMax: number
  extra?: string
  /** The skills section (src/skills/prompt.ts): a compact list; the model reads a SKILL.md with `read`. */
  skills?: string
  now?: Date
}

export interface PromptReport {
  chars: number
  files: { name: string; rawChars: number; injectedChars: number; truncated: boolean }[]
}

export function buildSystemPrompt(o: PromptOptions): { prompt: string; report: PromptReport } {
  const lines: string[] = []
  lines.push(
    o.isSubagent ? "You are a sub-agent: finish the task you were given and reply with the result." : "You are a personal assistant running inside gateway.",
  )
  if (o.tools.length) {
    lines.push("", "## Tools", ...o.tools.map((t) => `- ${t.name}: ${t.description.split("\n")[0]}`))
    lines.push("Call tools when they help; independent calls may run in parallel. Tool errors explain how to fix the call.")
  }
  if (o.skills && !o.isSubagent) lines.push("", o.skills)
  lines.push("", "## Rules", "- Be concise. Do not invent facts or tool results.", "- Ask before destructive actions.")
  lines.push("", `## Runtime`, `workspace=${o.workspace} | session=${o.sessionKey} | model=${o.model} | time=${(o.now ?? new Date()).toISOString()}`)
  const files: PromptReport["files"] = []
  if (!o.isSubagent) {
    let budget = o.totalMax
    const ctx: string[] = []
    for (const name of PROMPT_ORDER) {
      if (name === "MEMORY.md" && !o.isMainSession) continue
      let raw = ""
      try {
        raw = readFileSync(join(o.workspace, name), "utf8").trim()
      } catch {
        continue
      }
      if (!raw || budget <= 0) continue
      const capped = capText(raw, Math.min(o.perFileMax, budget), name)
      budget -= capped.text.length
      files.push({ name, rawChars: raw.length, injectedChars: capped.text.length, truncated: capped.truncated })
      ctx.push(`## ${name}`, capped.text, "")
    }
    if (ctx.length) lines.push("", "# Project Context", ...ctx)
  }
  if (o.extra) lines.push("", o.extra)
  const prompt = lines.join("\n")
  return { prompt, report: { chars: prompt.length, files } }
}
