/** JSON Schema for gateway.json, generated from the zod schema (config.schema, README reference, $schema). */
import { z } from "zod"
import { ConfigSchema, SENSITIVE_KEYS } from "./schema.ts"

let cached: Record<string, unknown> | undefined

export function configJsonSchema(): Record<string, unknown> {
  // io: "input" so that keys with defaults are optional, as they are in the file.
  cached ??= z.toJSONSchema(ConfigSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>
  return cached
}

export interface UiHint {
  label?: string
  help?: string
  sensitive?: boolean
}

/** Flattened per-path hints (`gateway.auth.token` → {help, sensitive}) as OpenClaw's config.schema returns them. */
export function configUiHints(): Record<string, UiHint> {
  const hints: Record<string, UiHint> = {}
  const walk = (node: Record<string, unknown>, path: string) => {
    const props = node.properties as Record<string, Record<string, unknown>> | undefined
    if (!props) return
    for (const [key, child] of Object.entries(props)) {
      const p = path ? `${path}.${key}` : key
      const hint: UiHint = {}
      if (typeof child.description === "string") hint.help = child.description
      if (SENSITIVE_KEYS.has(key)) hint.sensitive = true
      if (Object.keys(hint).length) hints[p] = hint
      walk(child, p)
    }
  }
  walk(configJsonSchema(), "")
  return hints
}

/** One row per leaf setting, for the README's config reference (records appear as `<id>`, arrays of objects as `[]`). */
export function configReferenceMarkdown(): string {
  const rows: string[] = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
  const row = (p: string, child: Record<string, unknown>) => {
    const type = Array.isArray(child.enum) ? child.enum.map((v) => `\`${JSON.stringify(v)}\``).join(" \\| ") : String(child.type ?? "any")
    const def = child.default === undefined ? "" : `\`${JSON.stringify(child.default)}\``
    const desc = String(child.description ?? "").replace(/\|/g, "\\|")
    rows.push(`| \`${p}\` | ${type} | ${def} | ${desc} |`)
  }
  const walk = (node: Record<string, unknown>, path: string) => {
    const props = node.properties as Record<string, Record<string, unknown>> | undefined
    for (const [key, child] of Object.entries(props ?? {})) {
      if (key === "$schema") continue
      const p = path ? `${path}.${key}` : key
      const record = child.additionalProperties as Record<string, unknown> | undefined
      const items = child.items as Record<string, unknown> | undefined
      if (child.type === "object" && child.properties) walk(child, p)
      else if (child.type === "object" && record && typeof record === "object" && record.properties) {
        row(p, child)
        walk(record, `${p}.<id>`)
      } else if (child.type === "array" && items?.properties) {
        row(p, child)
        walk(items, `${p}[]`)
      } else row(p, child)
    }
  }
  walk(configJsonSchema(), "")
  return rows.join("\n")
}
