/**
 * How a CLI on this machine reaches the local gateway, and the one place that decides it: the running gateway's
 * runtime file (where it really listens), else GATEWAY_PORT, else gateway.json, else the default port; the secret
 * from the environment, the config or the generated token file. Sources are kept for error messages.
 *
 * Every client command starts here, so it avoids what costs a short-lived process most: zod (loading it and building
 * the config schema is ~30 ms and ~15 MB), node:crypto and node:net. The config is validated only when the answer
 * depends on it: when a config layer sets gateway.port, gateway.bind, gateway.auth.token or gateway.auth.password
 * (or cannot be parsed), since a config that does not validate counts as absent. A config that sets none of them
 * gives the defaults whether it validates or not, so it is only parsed (JSON5) to see that. The answers are the
 * validated ones in every case (test/unit/config-local.test.ts compares both ways).
 */
import { existsSync, readFileSync } from "node:fs"
import JSON5 from "json5"
import { isLoopbackAddress, readGeneratedToken } from "./local-secrets.ts"
import { resolvePaths, type Paths } from "./paths.ts"
import { liveRuntime, type RuntimeInfo } from "./runtime.ts"

/** gateway.port's default: src/config/schema.ts's DEFAULT_PORT (a unit test keeps them equal; the schema loads zod). */
export const DEFAULT_PORT = 18789
/** gateway.bind's default in the schema (same test). */
export const DEFAULT_BIND = "loopback"

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

/** The part of the config a client needs, as the validated config has it (defaults when it does not validate). */
interface ConnectionSettings {
  port: number
  bind: string
  token?: string
  password?: string
  /** The user's gateway.json exists. */
  exists: boolean
  /** Whether the config validates; asked only where nothing else decides (it may load zod). */
  valid(): boolean
}

/** Host clients use for a bind setting: a gateway bound to all interfaces is still reachable on loopback. */
function clientHost(bind: string): string {
  const host = bind === "loopback" || bind === "localhost" || bind === "lan" || bind === "0.0.0.0" || bind === "::" ? "127.0.0.1" : bind
  return host.includes(":") && !isLoopbackAddress(host) ? `[${host}]` : host
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** A config layer as config/load.ts reads it: absent and blank files are `{}`; `unreadable` when JSON5 fails. */
function readLayer(path: string): { exists: boolean; value?: unknown; unreadable?: true } {
  if (!existsSync(path)) return { exists: false, value: {} }
  const raw = readFileSync(path, "utf8")
  if (raw.trim() === "") return { exists: true, value: {} }
  try {
    return { exists: true, value: JSON5.parse(raw) }
  } catch {
    return { exists: true, unreadable: true }
  }
}

/**
 * True when `layer` sets (or might set) a setting a client reads, or is no object at all. A "__proto__" key counts as
 * setting everything: the merge in config/load.ts turns it into the merged object's prototype, whose keys zod reads.
 */
function setsConnection(layer: unknown): boolean {
  const has = (o: Record<string, unknown>, key: string) => Object.hasOwn(o, key) || Object.hasOwn(o, "__proto__")
  if (!isPlainObject(layer)) return true
  if (!has(layer, "gateway")) return false
  const g = layer.gateway
  if (!isPlainObject(g)) return true
  if (has(g, "port") || has(g, "bind")) return true
  if (!has(g, "auth")) return false
  const a = g.auth
  return !isPlainObject(a) || has(a, "token") || has(a, "password")
}

/** The full load (zod), on demand: synchronous, for valid(). */
const configLoader = () => require("./load.ts") as typeof import("./load.ts")

function validated(paths: Paths, loadConfig: typeof import("./load.ts")["loadConfig"]): ConnectionSettings {
  const loaded = loadConfig(paths.config, paths.systemConfig)
  const gw = loaded.config?.gateway
  return {
    port: gw?.port ?? DEFAULT_PORT,
    bind: gw?.bind ?? DEFAULT_BIND,
    token: gw?.auth.token,
    password: gw?.auth.password,
    exists: loaded.exists,
    valid: () => loaded.config !== null,
  }
}

async function connectionSettings(paths: Paths): Promise<ConnectionSettings> {
  const user = readLayer(paths.config)
  const sys = readLayer(paths.systemConfig)
  if (user.unreadable || sys.unreadable || setsConnection(user.value) || setsConnection(sys.value)) {
    return validated(paths, (await import("./load.ts")).loadConfig)
  }
  // Nothing a client reads is set: the defaults, whether the config validates or not.
  let valid: boolean | undefined
  return {
    port: DEFAULT_PORT,
    bind: DEFAULT_BIND,
    exists: user.exists,
    valid: () => (valid ??= configLoader().loadConfig(paths.config, paths.systemConfig).config !== null),
  }
}

export async function localConnection(home: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<LocalConnection> {
  const paths = resolvePaths(home, env)
  const gw = await connectionSettings(paths)
  const runtime = await liveRuntime(paths)
  let url: string
  let urlSource: () => LocalConnection["urlSource"]
  if (runtime) {
    url = runtime.url
    urlSource = () => "runtime"
  } else {
    const port = env.GATEWAY_PORT ? Number(env.GATEWAY_PORT) : gw.port
    // "config" only for a file that validates (one that does not counts as absent): decided when asked.
    urlSource = () => (env.GATEWAY_PORT ? "env" : gw.exists && gw.valid() ? "config" : "default")
    url = `ws://${clientHost(gw.bind)}:${port}`
  }
  const envToken = env.GATEWAY_TOKEN ? "GATEWAY_TOKEN" : env.OPENCLAW_GATEWAY_TOKEN ? "OPENCLAW_GATEWAY_TOKEN" : undefined
  const generated = gw.password ? undefined : readGeneratedToken(paths)
  const token = (envToken && env[envToken]) || gw.token || generated
  const tokenSource = envToken ?? (gw.token ? `gateway.auth.token in ${paths.config}` : generated ? paths.tokenFile : undefined)
  const envPassword = env.GATEWAY_PASSWORD ? "GATEWAY_PASSWORD" : env.OPENCLAW_GATEWAY_PASSWORD ? "OPENCLAW_GATEWAY_PASSWORD" : undefined
  const password = (envPassword && env[envPassword]) || gw.password
  const passwordSource = envPassword ?? (gw.password ? `gateway.auth.password in ${paths.config}` : undefined)
  const connection = { url, token, password, source: paths.config, tokenSource, passwordSource, runtime, home: paths.home, tokenFile: paths.tokenFile }
  let source: LocalConnection["urlSource"] | undefined
  return Object.defineProperty(connection, "urlSource", { enumerable: true, get: () => (source ??= urlSource()) }) as LocalConnection
}
