/**
 * What a tool is: an id, an LLM-readable description, zod parameters, and an execute function that returns text
 * for the model. Validation failures and thrown errors become LLM-readable error results (never crashes), and
 * output is capped centrally.
 */
import { z } from "zod"
import { describeIssues } from "../../protocol/index.ts"
import { NamedError } from "../../util/named-error.ts"

export interface ToolContext {
  /** Session the call belongs to (agent:<id>:<...>). */
  sessionKey: string
  runId: string
  toolCallId: string
  /** Aborted when the run is cancelled; long tools must stop promptly. */
  signal: AbortSignal
  /** The agent's workspace: the default cwd and a default allowed root. */
  workspace: string
  /** Progress for `tool` update events (optional). */
  update?(partial: string): void
}

export interface ToolResult {
  /** Text the model sees. */
  output: string
  isError?: boolean
  /** Structured extras for clients (not sent to the model). */
  meta?: Record<string, unknown>
}

export interface ToolDef<P extends z.ZodType = z.ZodType> {
  name: string
  description: string
  parameters: P
  /** Upper bound on output characters before truncation (default 50 000). */
  maxOutputChars?: number
  execute(args: z.output<P>, ctx: ToolContext): Promise<ToolResult>
}

/** An error whose message is written for the model (what went wrong, how to fix the call). */
export const ToolError = NamedError.create("ToolError", (z) => z.object({ message: z.string() }))
export type ToolError = InstanceType<typeof ToolError>

export function defineTool<P extends z.ZodType>(def: ToolDef<P>): ToolDef<P> {
  return def
}

const DEFAULT_MAX_OUTPUT = 50_000

function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  const head = Math.floor(max * 0.7)
  const tail = max - head
  return `${text.slice(0, head)}\n\n[... ${text.length - max} characters truncated ...]\n\n${text.slice(-tail)}`
}

/** Runs a tool with validation, error mapping and the output cap. Never throws (aborts included). */
export async function runTool(def: ToolDef, rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
  const parsed = def.parameters.safeParse(rawArgs ?? {})
  if (!parsed.success) {
    return {
      output: `Invalid arguments for ${def.name}: ${describeIssues(parsed.error)}. Rewrite the call so it matches the tool's parameters.`,
      isError: true,
    }
  }
  try {
    const res = await def.execute(parsed.data, ctx)
    return { ...res, output: truncate(res.output, def.maxOutputChars ?? DEFAULT_MAX_OUTPUT) }
  } catch (err) {
    if (ctx.signal.aborted) return { output: `${def.name} was aborted.`, isError: true }
    const msg = ToolError.isInstance(err) ? err.message : `${def.name} failed: ${(err as Error)?.message ?? String(err)}`
    return { output: msg, isError: true }
  }
}

/** JSON Schema of a tool's parameters (tools.catalog, and what model adapters send). */
export function toolJsonSchema(def: ToolDef): Record<string, unknown> {
  return z.toJSONSchema(def.parameters, { io: "input", unrepresentable: "any" }) as Record<string, unknown>
}

/** A tool as a model adapter sees it: plain JSON Schema, no zod (the AI SDK side is a separate bundle). */
export interface ModelTool {
  name: string
  description: string
  inputSchema: Record<string, unknown>
}

const modelTools = new WeakMap<ToolDef, ModelTool>()

/** Cached per definition: generating JSON Schema is far too slow to repeat on every model call. */
export function toModelTool(def: ToolDef): ModelTool {
  let t = modelTools.get(def)
  if (!t) {
    const { $schema: _ignored, ...inputSchema } = toolJsonSchema(def)
    t = { name: def.name, description: def.description, inputSchema }
    modelTools.set(def, t)
  }
  return t
}
