/** Where the gateway keeps its files. Never derived from import.meta (inside the binary that is /$bunfs). */
import { homedir } from "node:os"
import { join, resolve } from "node:path"

export interface Paths {
  /** State home: $GATEWAY_HOME, else ~/.gateway. */
  home: string
  config: string
  /** System-wide defaults layered under the user's config (written by OS images). */
  systemConfig: string
  /** Token generated on first run when none is configured (0600). */
  tokenFile: string
  /** Where the running daemon says it listens (0600, removed on a clean exit): how clients find it. */
  runtimeFile: string
  database: string
  logsDir: string
  workspace: string
  /** Cache for files extracted from the binary (the sqlite-vec extension). */
  cacheDir: string
}

function resolveHome(override?: string, env: NodeJS.ProcessEnv = process.env): string {
  const raw = override ?? env.GATEWAY_HOME ?? join(homedir(), ".gateway")
  return resolve(raw.startsWith("~/") ? join(homedir(), raw.slice(2)) : raw)
}

export function resolvePaths(homeOverride?: string, env: NodeJS.ProcessEnv = process.env): Paths {
  const home = resolveHome(homeOverride, env)
  const xdgCache = env.XDG_CACHE_HOME || join(homedir(), ".cache")
  return {
    home,
    config: env.GATEWAY_CONFIG_PATH ? resolve(env.GATEWAY_CONFIG_PATH) : join(home, "gateway.json"),
    systemConfig: env.GATEWAY_SYSTEM_CONFIG ? resolve(env.GATEWAY_SYSTEM_CONFIG) : "/etc/gateway/gateway.json",
    tokenFile: join(home, "gateway.token"),
    runtimeFile: join(home, "gateway.runtime.json"),
    database: join(home, "gateway.db"),
    logsDir: join(home, "logs"),
    workspace: join(home, "workspace"),
    cacheDir: join(xdgCache, "gateway"),
  }
}
