/**
 * Offline edits of gateway.json (the CLI's `config set` when no gateway is running): patch, validate, check that the
 * gateway would still start, write 0600.
 */
import { ConfigError, deepMerge, loadConfig, mergePatchPruned, parseRaw, validate, writeConfigFile } from "./load.ts"
import { applyOverrides, envOverrides } from "./manager.ts"
import type { Paths } from "./paths.ts"
import { checkChange } from "./startup-check.ts"

/**
 * `env` stands in for the next start's environment (GATEWAY_TOKEN and the like apply over the file), as it would
 * for `gateway run` from this shell.
 */
export function patchConfigFile(paths: Paths, patch: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): { changed: boolean } {
  const loaded = loadConfig(paths.config, paths.systemConfig)
  let base: unknown = {}
  if (loaded.raw !== null && loaded.raw.trim() !== "") {
    const parsed = parseRaw(loaded.raw)
    // An unparseable file is not overwritten: the user's text would be lost.
    if (parsed.issue) throw new ConfigError({ path: paths.config, issues: [parsed.issue] })
    base = parsed.value
  }
  const next = mergePatchPruned(base, patch)
  const v = validate(next)
  if (!v.config) throw new ConfigError({ path: paths.config, issues: v.issues })
  const overrides = safeOverrides(env)
  const system = loadConfig(paths.systemConfig)
  const merged = validate(deepMerge(system.parsed ?? {}, next)).config ?? v.config
  checkChange(loaded.config && applyOverrides(loaded.config, overrides), applyOverrides(merged, overrides))
  const text = JSON.stringify(next, null, 2)
  const changed = JSON.stringify(base) !== JSON.stringify(next)
  if (changed || !loaded.exists) writeConfigFile(paths.config, text)
  return { changed }
}

/** A malformed GATEWAY_PORT is start-up's problem to report, not a reason to refuse an unrelated edit. */
function safeOverrides(env: NodeJS.ProcessEnv) {
  try {
    return envOverrides(env)
  } catch {
    return envOverrides({ ...env, GATEWAY_PORT: undefined })
  }
}

/** CLI values: JSON5 when it parses (numbers, booleans, objects), else the literal string. */
export function parseCliValue(text: string): unknown {
  const parsed = parseRaw(text)
  return parsed.issue ? text : parsed.value
}
