/**
 * How a CLI on this machine reaches the local gateway, and the one place that decides it: the running gateway's
 * runtime file (where it really listens), else GATEWAY_PORT, else gateway.json, else the default port; the secret
 * from the environment, the config or the generated token file. Sources are kept for error messages.
 */
import { isLoopbackAddress, readGeneratedToken } from "./auth.ts"
import { loadConfig } from "./load.ts"
import { resolvePaths } from "./paths.ts"
import { liveRuntime, type RuntimeInfo } from "./runtime.ts"
import { DEFAULT_PORT } from "./schema.ts"

export interface LocalConnection {
  url: string
  token?: string
  password?: string
  /** Where the defaults came from, for error messages. */
  source: string
  /** Where the URL came from: the runtime file, GATEWAY_PORT, gateway.json or the default. */
  urlSource: "runtime" | "env" | "config" | "default"
  /** Where the token/password came from, in the words a user would change it with. */
  tokenSource?: string
  passwordSource?: string
  /** The running gateway of this state home, when there is one. */
  runtime?: RuntimeInfo
  home: string
  tokenFile: string
}

/** Host clients use for a bind setting: a gateway bound to all interfaces is still reachable on loopback. */
function clientHost(bind: string): string {
  const host = bind === "loopback" || bind === "localhost" || bind === "lan" || bind === "0.0.0.0" || bind === "::" ? "127.0.0.1" : bind
  return host.includes(":") && !isLoopbackAddress(host) ? `[${host}]` : host
}

export async function localConnection(home: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<LocalConnection> {
  const paths = resolvePaths(home, env)
  const loaded = loadConfig(paths.config, paths.systemConfig)
  const gw = loaded.config?.gateway
  const runtime = await liveRuntime(paths)
  let url: string
  let urlSource: LocalConnection["urlSource"]
  if (runtime) {
    url = runtime.url
    urlSource = "runtime"
  } else {
    const port = env.GATEWAY_PORT ? Number(env.GATEWAY_PORT) : (gw?.port ?? DEFAULT_PORT)
    urlSource = env.GATEWAY_PORT ? "env" : gw && loaded.exists ? "config" : "default"
    url = `ws://${clientHost(gw?.bind ?? "loopback")}:${port}`
  }
  const envToken = env.GATEWAY_TOKEN ? "GATEWAY_TOKEN" : env.OPENCLAW_GATEWAY_TOKEN ? "OPENCLAW_GATEWAY_TOKEN" : undefined
  const generated = gw?.auth.password ? undefined : readGeneratedToken(paths)
  const token = (envToken && env[envToken]) || gw?.auth.token || generated
  const tokenSource = envToken ?? (gw?.auth.token ? `gateway.auth.token in ${paths.config}` : generated ? paths.tokenFile : undefined)
  const envPassword = env.GATEWAY_PASSWORD ? "GATEWAY_PASSWORD" : env.OPENCLAW_GATEWAY_PASSWORD ? "OPENCLAW_GATEWAY_PASSWORD" : undefined
  const password = (envPassword && env[envPassword]) || gw?.auth.password
  const passwordSource = envPassword ?? (gw?.auth.password ? `gateway.auth.password in ${paths.config}` : undefined)
  return { url, token, password, source: paths.config, urlSource, tokenSource, passwordSource, runtime, home: paths.home, tokenFile: paths.tokenFile }
}
