/** How a CLI on this machine reaches the local gateway: URL and secret from the state home's config and token file. */
import { isLoopbackAddress, readGeneratedToken } from "./auth.ts"
import { loadConfig } from "./load.ts"
import { resolvePaths } from "./paths.ts"
import { DEFAULT_PORT } from "./schema.ts"

export interface LocalConnection {
  url: string
  token?: string
  password?: string
  /** Where the defaults came from, for error messages. */
  source: string
}

export function localConnection(home: string | undefined, env: NodeJS.ProcessEnv = process.env): LocalConnection {
  const paths = resolvePaths(home, env)
  const loaded = loadConfig(paths.config, paths.systemConfig)
  const gw = loaded.config?.gateway
  const port = env.GATEWAY_PORT ? Number(env.GATEWAY_PORT) : (gw?.port ?? DEFAULT_PORT)
  const bind = gw?.bind ?? "loopback"
  // A gateway bound to all interfaces is still reachable on loopback from here.
  const host = bind === "loopback" || bind === "lan" || bind === "0.0.0.0" || bind === "::" ? "127.0.0.1" : bind
  const hostPart = host.includes(":") && !isLoopbackAddress(host) ? `[${host}]` : host
  const token = env.GATEWAY_TOKEN || env.OPENCLAW_GATEWAY_TOKEN || gw?.auth.token || (gw?.auth.password ? undefined : readGeneratedToken(paths))
  const password = env.GATEWAY_PASSWORD || env.OPENCLAW_GATEWAY_PASSWORD || gw?.auth.password
  return { url: `ws://${hostPart}:${port}`, token, password, source: paths.config }
}
