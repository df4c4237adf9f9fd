/** Offline edits of gateway.json (the CLI's `config set` when no gateway is running): patch, validate, write 0600. */
import { ConfigError, loadConfig, mergePatch, parseRaw, validate, writeConfigFile } from "./load.ts"
import type { Paths } from "./paths.ts"

export function patchConfigFile(paths: Paths, patch: Record<string, unknown>): { changed: boolean } {
  const loaded = loadConfig(paths.config)
  let base: unknown = {}
  if (loaded.raw !== null && loaded.raw.trim() !== "") {
    const parsed = parseRaw(loaded.raw)
    // An unparseable file is not overwritten: the user's text would be lost.
    if (parsed.issue) throw new ConfigError({ path: paths.config, issues: [parsed.issue] })
    base = parsed.value
  }
  const next = mergePatch(base, patch)
  const v = validate(next)
  if (!v.config) throw new ConfigError({ path: paths.config, issues: v.issues })
  const text = JSON.stringify(next, null, 2)
  const changed = JSON.stringify(base) !== JSON.stringify(next)
  if (changed || !loaded.exists) writeConfigFile(paths.config, text)
  return { changed }
}

/** CLI values: JSON5 when it parses (numbers, booleans, objects), else the literal string. */
export function parseCliValue(text: string): unknown {
  const parsed = parseRaw(text)
  return parsed.issue ? text : parsed.value
}
