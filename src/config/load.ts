/** Reading, validating and writing gateway.json. The only code that touches the config file. */
import { createHash } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import JSON5 from "json5"
import type { z } from "zod"
import { NamedError } from "../util/named-error.ts"
import { isRedactionMarker, REDACTED, redactUrlCredentials } from "../util/secrets.ts"
import { ConfigSchema, SENSITIVE_KEYS, type Config } from "./schema.ts"
import { fileWriteError } from "./state-home.ts"

export interface ConfigIssue {
  path: string
  message: string
}

export interface LoadedConfig {
  path: string
  exists: boolean
  raw: string | null
  /** The user's file as parsed (before defaults), or null when absent or unparseable. */
  parsed: unknown
  /** The validated config with defaults, or null when invalid. */
  config: Config | null
  /** sha256 of the raw file text; the baseHash clients must send to write. */
  hash: string
  issues: ConfigIssue[]
  warnings: string[]
}

/** The config file (or a write to it) does not validate; `gateway run` exits 78 on it. */
export class ConfigError extends NamedError.create(
  "ConfigError",
  (z) => z.object({ path: z.string(), issues: z.array(z.object({ path: z.string(), message: z.string() })) }),
  (d) => `invalid config ${d.path}:\n${formatIssues(d.issues)}`,
) {
  /** Same as data.issues (src/methods/config.ts reads it here). */
  get issues(): ConfigIssue[] {
    return this.data.issues
  }
}

/** Issues as an indented list, one per line (error messages and reload logs). */
export function formatIssues(issues: ConfigIssue[]): string {
  return issues.map((i) => `  - ${i.path || "(root)"}: ${i.message}`).join("\n")
}

export function hashRaw(raw: string | null): string {
  return createHash("sha256")
    .update(raw ?? "")
    .digest("hex")
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((issue) => {
    const base = issue.path.map(String).join(".")
    if (issue.code === "unrecognized_keys") {
      return { path: issue.keys.map((k) => (base ? `${base}.${k}` : k)).join(", "), message: "unknown key" }
    }
    return { path: base, message: issue.message }
  })
}

/** JSON5 (so comments and trailing commas are fine); returns an issue instead of throwing. */
export function parseRaw(raw: string): { value?: unknown; issue?: ConfigIssue } {
  try {
    return { value: JSON5.parse(raw) }
  } catch (err) {
    return { issue: { path: "", message: `not valid JSON: ${(err as Error).message.replace(/^JSON5: /, "")}` } }
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
}

/** Deep merge used for layering /etc/gateway/gateway.json under the user's file: objects merge, the rest replaces. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v)
  return out
}

export function validate(value: unknown): { config?: Config; issues: ConfigIssue[] } {
  const result = ConfigSchema.safeParse(value)
  return result.success ? { config: result.data, issues: [] } : { issues: zodIssues(result.error) }
}

function readLayer(path: string): { exists: boolean; raw: string | null; value?: unknown; issue?: ConfigIssue } {
  if (!existsSync(path)) return { exists: false, raw: null, value: {} }
  const raw = readFileSync(path, "utf8")
  const parsed = raw.trim() === "" ? { value: {} } : parseRaw(raw)
  return { exists: true, raw, ...parsed }
}

/** Loads the system layer (if any) and the user's file, merged and validated. Never throws for bad content. */
export function loadConfig(path: string, systemPath?: string): LoadedConfig {
  const user = readLayer(path)
  const sys = systemPath ? readLayer(systemPath) : { exists: false, raw: null, value: {} }
  const issues: ConfigIssue[] = []
  const warnings: string[] = []
  if (sys.issue) issues.push({ path: `${systemPath}`, message: sys.issue.message })
  if (user.issue) issues.push(user.issue)
  if (!isPlainObject(user.value) && !user.issue) issues.push({ path: "", message: "the config must be a JSON object" })
  let config: Config | null = null
  if (issues.length === 0) {
    const merged = deepMerge(sys.value ?? {}, user.value ?? {})
    const v = validate(merged)
    issues.push(...v.issues)
    config = v.config ?? null
  }
  if (sys.exists && systemPath) warnings.push(`system defaults from ${systemPath} apply under this file`)
  return {
    path,
    exists: user.exists,
    raw: user.raw,
    parsed: user.issue ? null : (user.value ?? null),
    config,
    hash: hashRaw(user.raw),
    issues,
    warnings,
  }
}

/**
 * Writes the file atomically (temp file + rename) with mode 0600: it may hold tokens. Keeps one .bak. A failed
 * write throws StateHomeError naming the config file (not the temp file it failed on) and what to do.
 */
export function writeConfigFile(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    if (existsSync(path)) {
      const previous = readFileSync(path)
      writeFileSync(`${path}.bak`, previous, { mode: 0o600 })
    }
    writeFileSync(tmp, text.endsWith("\n") ? text : `${text}\n`, { mode: 0o600 })
    chmodSync(tmp, 0o600)
    renameSync(tmp, path)
  } catch (err) {
    try {
      rmSync(tmp, { force: true })
    } catch {
      // A read-only directory has no temp file to remove either.
    }
    throw fileWriteError(err, path) ?? err
  }
}

export { REDACTED } from "../util/secrets.ts"

/**
 * A copy with every secret masked: values under secret-named keys (token, password, apiKey, botToken, …), every value
 * of a `headers` map (an Authorization header is as secret as a key) and of a skill's `env` map
 * (skills.entries.<key>.env holds the skill's API keys by variable name), and credentials inside URLs.
 */
export function redact(value: unknown): unknown {
  return redactValue(value, undefined, false, [])
}

/** A map whose every value is secret, whatever its keys: any `headers`, and skills.entries.<key>.env. */
function isSecretMap(path: readonly string[], key: string): boolean {
  return key === "headers" || (key === "env" && path.length === 3 && path[0] === "skills" && path[1] === "entries")
}

function redactValue(value: unknown, key: string | undefined, isHeader: boolean, path: readonly string[]): unknown {
  if (typeof value === "string") return isHeader || (key !== undefined && SENSITIVE_KEYS.has(key)) ? REDACTED : redactUrlCredentials(value)
  if (Array.isArray(value)) return value.map((v) => redactValue(v, undefined, false, path))
  if (!isPlainObject(value)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value))
    out[k] = isSecretMap(path, k) && isPlainObject(v) ? redactHeaders(v, [...path, k]) : redactValue(v, k, false, [...path, k])
  return out
}

function redactHeaders(headers: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(headers)) out[k] = redactValue(v, k, true, [...path, k])
  return out
}

/** Every secret value in a config (for scrubbing log lines): what redact() would mask, URL credentials aside. */
export function secretValues(value: unknown): string[] {
  const found = new Set<string>()
  const walk = (v: unknown, key: string | undefined, isHeader: boolean, path: readonly string[]) => {
    if (typeof v === "string") {
      // Short values would scrub ordinary words out of log lines; a secret that short is refused elsewhere anyway.
      if ((isHeader || (key !== undefined && SENSITIVE_KEYS.has(key))) && v.length >= 6) found.add(v)
      return
    }
    if (Array.isArray(v)) for (const x of v) walk(x, undefined, false, path)
    else if (isPlainObject(v))
      for (const [k, x] of Object.entries(v))
        if (isSecretMap(path, k) && isPlainObject(x)) for (const [hk, hv] of Object.entries(x)) walk(hv, hk, true, [...path, k, hk])
        else walk(x, k, false, [...path, k])
  }
  walk(value, undefined, false, [])
  return [...found]
}

/** Puts stored secrets back where a client echoed a redacted value (the marker, or a URL with masked credentials). */
export function restoreRedacted(next: unknown, current: unknown): unknown {
  if (isRedactionMarker(next)) return current
  if (typeof next === "string" && typeof current === "string" && next !== current && redactUrlCredentials(current) === next) return current
  if (Array.isArray(next)) return next.map((v, i) => restoreRedacted(v, Array.isArray(current) ? current[i] : undefined))
  if (!isPlainObject(next)) return next
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(next)) out[k] = restoreRedacted(v, isPlainObject(current) ? current[k] : undefined)
  return out
}

/** RFC 7396 JSON merge patch: null deletes, objects merge, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

/**
 * mergePatch, then drops the objects its deletions emptied (`unset gateway.auth.token` must not leave
 * `"gateway": {"auth": {}}` behind). Only along deleted paths: an empty object the user wrote stays.
 */
export function mergePatchPruned(target: unknown, patch: unknown): unknown {
  const out = mergePatch(target, patch)
  prune(out, patch)
  return out
}

/** True when `patch` deleted something under this object; empties such objects out of `value`. */
function prune(value: unknown, patch: unknown): boolean {
  if (!isPlainObject(value) || !isPlainObject(patch)) return false
  let deleted = false
  for (const [k, p] of Object.entries(patch)) {
    if (p === null) deleted = true
    else if (prune(value[k], p)) {
      deleted = true
      if (isPlainObject(value[k]) && Object.keys(value[k]).length === 0) delete value[k]
    }
  }
  return deleted
}

/** Leaf paths whose values differ between two configs, e.g. ["gateway.port", "logging.level"]. */
export function changedPaths(a: unknown, b: unknown, prefix = ""): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)])
    return [...keys].sort().flatMap((k) => changedPaths(a[k], b[k], prefix ? `${prefix}.${k}` : k))
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix]
}

/** Reads a dotted path ("gateway.auth.mode") out of a plain object. */
export function getPath(value: unknown, path: string): unknown {
  let cur: unknown = value
  for (const part of path.split(".").filter(Boolean)) {
    if (!isPlainObject(cur)) return undefined
    cur = cur[part]
  }
  return cur
}

/** Builds the merge patch that sets one dotted path, e.g. setPatch("a.b", 1) = {a: {b: 1}}. */
export function pathPatch(path: string, value: unknown): Record<string, unknown> {
  const parts = path.split(".").filter(Boolean)
  if (parts.length === 0) throw new Error("empty config key")
  let patch: unknown = value
  for (const part of parts.reverse()) patch = { [part]: patch }
  return patch as Record<string, unknown>
}
