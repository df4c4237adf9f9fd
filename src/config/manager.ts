/**
 * The running daemon's view of its config: the validated file plus flag/env overrides, hot reload on file change
 * or SIGHUP, and guarded writes for config.set / config.patch.
 */
import { watch, type FSWatcher } from "node:fs"
import { basename, dirname } from "node:path"
import {
  ConfigError,
  changedPaths,
  formatIssues,
  hashRaw,
  loadConfig,
  mergePatchPruned,
  parseRaw,
  restoreRedacted,
  validate,
  writeConfigFile,
  type LoadedConfig,
} from "./load.ts"
import { NamedError } from "../util/named-error.ts"
import { StartupRefusal } from "./auth.ts"
import type { Paths } from "./paths.ts"
import { RESTART_PATHS, type Config } from "./schema.ts"
import { checkChange, startupProblems } from "./startup-check.ts"

/** Values from flags and environment; they win over the file and are never written back to it. */
export interface ConfigOverrides {
  port?: number
  bind?: string
  token?: string
  password?: string
  /** --tls-cert/--tls-key (TLS from files) or --tls-self-signed (a generated certificate). */
  tlsCert?: string
  tlsKey?: string
  tlsSelfSigned?: boolean
}

export interface ConfigChange {
  changedPaths: string[]
  /** The subset that only takes effect after a restart. */
  restartPaths: string[]
  hash: string
}

/** A write's baseHash is missing or no longer matches the file (someone else changed it): read again, then retry. */
export const ConfigConflictError = NamedError.create("ConfigConflictError", (z) => z.object({ message: z.string() }))
export type ConfigConflictError = InstanceType<typeof ConfigConflictError>

export function isRestartPath(path: string): boolean {
  return RESTART_PATHS.some((p) => path === p || path.startsWith(`${p}.`))
}

/** Overrides from the environment: GATEWAY_PORT, GATEWAY_TOKEN (or OPENCLAW_GATEWAY_TOKEN), GATEWAY_PASSWORD. */
export function envOverrides(env: NodeJS.ProcessEnv = process.env): ConfigOverrides {
  const out: ConfigOverrides = {}
  if (env.GATEWAY_PORT) {
    const port = Number(env.GATEWAY_PORT)
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new StartupRefusal({ message: `GATEWAY_PORT must be a port number (0-65535), got '${env.GATEWAY_PORT}'` })
    out.port = port
  }
  const token = env.GATEWAY_TOKEN || env.OPENCLAW_GATEWAY_TOKEN
  if (token) out.token = token
  const password = env.GATEWAY_PASSWORD || env.OPENCLAW_GATEWAY_PASSWORD
  if (password) out.password = password
  return out
}

export function applyOverrides(config: Config, o: ConfigOverrides): Config {
  const gateway = { ...config.gateway, auth: { ...config.gateway.auth } }
  if (o.port !== undefined) gateway.port = o.port
  if (o.bind !== undefined) gateway.bind = o.bind
  if (o.token !== undefined) gateway.auth.token = o.token
  if (o.password !== undefined) gateway.auth.password = o.password
  if (o.tlsCert !== undefined || o.tlsKey !== undefined) gateway.tls = { ...gateway.tls, enabled: true, certPath: o.tlsCert, keyPath: o.tlsKey }
  else if (o.tlsSelfSigned) gateway.tls = { ...gateway.tls, enabled: true, autoGenerate: true }
  return { ...config, gateway }
}

type Listener = (change: ConfigChange, config: Config) => void

export class ConfigManager {
  private loaded: LoadedConfig
  private effective: Config
  private listeners = new Set<Listener>()
  private watcher: FSWatcher | undefined
  private debounce: Timer | undefined
  /** Hash of our own last write, so the watcher does not re-apply it. */
  private lastWrittenHash: string | undefined

  constructor(
    readonly paths: Paths,
    private overrides: ConfigOverrides = {},
    private log: (level: "info" | "warn" | "error", msg: string) => void = () => {},
  ) {
    this.loaded = loadConfig(paths.config, paths.systemConfig)
    if (!this.loaded.config) throw new ConfigError({ path: paths.config, issues: this.loaded.issues })
    this.effective = applyOverrides(this.loaded.config, overrides)
  }

  get current(): Config {
    return this.effective
  }

  get file(): LoadedConfig {
    return this.loaded
  }

  /**
   * The file as it is on disk now. It differs from `file` after an invalid edit (kept out by reload) or an edit
   * not yet reloaded (reload.mode off); config.get reports this, so its hash is the one writes are checked against.
   */
  onDisk(): LoadedConfig {
    return loadConfig(this.paths.config, this.paths.systemConfig)
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Re-reads the file; keeps the last good config if the new one is invalid. */
  reload(reason: string): ConfigChange | undefined {
    const next = loadConfig(this.paths.config, this.paths.systemConfig)
    if (!next.config) {
      this.log("error", `config reload (${reason}) rejected, keeping the running config:\n${formatIssues(next.issues)}`)
      return undefined
    }
    // A hand edit cannot be refused, but whoever restarts the gateway next should not be the first to hear of it.
    const problems = startupProblems(applyOverrides(next.config, this.overrides))
    if (problems.length) this.log("error", `${this.paths.config} changed: the next start would fail with: ${problems[0]!.message}`)
    return this.apply(next)
  }

  private apply(next: LoadedConfig): ConfigChange | undefined {
    const before = this.effective
    const beforeFile = this.loaded.config
    this.loaded = next
    this.effective = applyOverrides(next.config!, this.overrides)
    const changed = changedPaths(before, this.effective)
    // A restart-only key changed in the file counts even where a flag or variable masks it in the running config:
    // the file is what the next start reads, and "applied" would be a lie.
    const fileRestart = beforeFile ? changedPaths(beforeFile, next.config).filter(isRestartPath) : []
    const restartPaths = [...new Set([...changed.filter(isRestartPath), ...fileRestart])].sort()
    if (changed.length === 0 && restartPaths.length === 0) return undefined
    const change: ConfigChange = { changedPaths: changed, restartPaths, hash: next.hash }
    for (const l of this.listeners) l(change, this.effective)
    return change
  }

  /** Replaces the whole file (config.set). baseHash, when given, must match the file on disk. */
  replace(raw: string, baseHash?: string): ConfigChange & { config: Config } {
    const disk = this.checkBase(baseHash, false)
    const parsed = parseRaw(raw)
    if (parsed.issue) throw new ConfigError({ path: this.paths.config, issues: [parsed.issue] })
    const value = restoreRedacted(parsed.value, disk.parsed ?? this.loaded.parsed)
    return this.write(value)
  }

  /** Applies a JSON merge patch to the file (config.patch). baseHash is required once a file exists. */
  patch(raw: string | Record<string, unknown>, baseHash?: string): ConfigChange & { config: Config } {
    const disk = this.checkBase(baseHash, true)
    let patch: unknown = raw
    if (typeof raw === "string") {
      const parsed = parseRaw(raw)
      if (parsed.issue) throw new ConfigError({ path: this.paths.config, issues: [parsed.issue] })
      patch = parsed.value
    }
    if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
      throw new ConfigError({ path: this.paths.config, issues: [{ path: "", message: "a patch must be a JSON object" }] })
    }
    // The patch applies to the text baseHash vouches for (the file on disk), not to the last config that loaded:
    // merging onto that would silently drop edits made to the file since.
    if (disk.parsed === null)
      throw new ConfigError({ path: this.paths.config, issues: [...disk.issues, { path: "", message: "cannot patch it; replace it with config.set" }] })
    const base = disk.parsed as Record<string, unknown>
    const value = restoreRedacted(mergePatchPruned(base, patch), base)
    return this.write(value)
  }

  /** Returns the file on disk once baseHash (when given) is known to match it. */
  private checkBase(baseHash: string | undefined, required: boolean): LoadedConfig {
    const disk = this.onDisk()
    if (baseHash === undefined) {
      if (required && disk.exists) throw new ConfigConflictError({ message: "baseHash is required: call config.get and send its hash" })
      return disk
    }
    if (baseHash !== disk.hash) {
      throw new ConfigConflictError({ message: "config changed since it was read (baseHash does not match); call config.get and retry" })
    }
    return disk
  }

  private write(value: unknown): ConfigChange & { config: Config } {
    const v = validate(value)
    if (!v.config) throw new ConfigError({ path: this.paths.config, issues: v.issues })
    // Checked with this process's flags and variables applied: they come back with the next start as well.
    checkChange(this.effective, applyOverrides(v.config, this.overrides))
    const text = JSON.stringify(value, null, 2)
    writeConfigFile(this.paths.config, text)
    this.lastWrittenHash = hashRaw(`${text}\n`)
    const next = loadConfig(this.paths.config, this.paths.systemConfig)
    if (!next.config) throw new ConfigError({ path: this.paths.config, issues: next.issues })
    const change = this.apply(next) ?? { changedPaths: [], restartPaths: [], hash: next.hash }
    return { ...change, config: this.effective }
  }

  /** Watches the config file's directory (editors replace files, which breaks a watch on the file itself). */
  watch(debounceMs: number): void {
    if (this.watcher) return
    const dir = dirname(this.paths.config)
    const name = basename(this.paths.config)
    try {
      this.watcher = watch(dir, { persistent: false }, (_event, file) => {
        if (file && file !== name) return
        clearTimeout(this.debounce)
        this.debounce = setTimeout(() => {
          const hash = loadConfig(this.paths.config).hash
          if (hash === this.loaded.hash || hash === this.lastWrittenHash) return
          this.reload("file changed")
        }, debounceMs)
      })
    } catch (err) {
      this.log("warn", `cannot watch ${dir} for config changes (${(err as Error).message}); send SIGHUP to reload`)
    }
  }

  close(): void {
    clearTimeout(this.debounce)
    this.watcher?.close()
    this.watcher = undefined
  }
}
