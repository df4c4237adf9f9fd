/** Argument definitions and helpers shared by the CLI's client commands. */
import type { ArgsDef } from "citty"
import type { ConsolaInstance } from "consola/basic"
import { readFileSync } from "node:fs"
import { explainAuthError, type TargetInfo } from "../../src/client/explain.ts"
import { type ConnectOptions, GatewayClient, GatewayClosedError, GatewayRequestError, GatewayUnreachableError } from "../../src/client/index.ts"
import { localConnection } from "../../src/config/local.ts"
import type { Scope } from "../../src/protocol/index.ts"

export const homeArgs = {
  home: { type: "string", description: "State home (default $GATEWAY_HOME or ~/.gateway)", valueHint: "dir" },
} as const satisfies ArgsDef

export const jsonArgs = {
  json: { type: "boolean", description: "Print exact JSON for scripts", default: false },
} as const satisfies ArgsDef

export const connectionArgs = {
  url: { type: "string", description: "Gateway WebSocket URL (env GATEWAY_URL; default: the local gateway)", valueHint: "ws://host:port" },
  token: { type: "string", description: "Gateway token (env GATEWAY_TOKEN; default: the local gateway's token)" },
  password: { type: "string", description: "Gateway password (env GATEWAY_PASSWORD)" },
  timeout: { type: "string", description: "Timeout in milliseconds", default: "10000", valueHint: "ms" },
  ...homeArgs,
  ...jsonArgs,
} as const satisfies ArgsDef

export interface ConnectionArgValues {
  url?: string
  token?: string
  password?: string
  timeout?: string
  home?: string
}

export interface Target extends TargetInfo {
  token?: string
  password?: string
}

/**
 * --url/--token win; with an explicit URL, the local config's secret is not sent to a foreign host. Without one,
 * the local gateway as config/local.ts finds it (its runtime file first). Sources ride along for error messages.
 */
export async function resolveTarget(args: ConnectionArgValues): Promise<Target> {
  const env = process.env
  const explicitUrl = args.url || env.GATEWAY_URL
  const envToken = env.GATEWAY_TOKEN ? "GATEWAY_TOKEN" : env.OPENCLAW_GATEWAY_TOKEN ? "OPENCLAW_GATEWAY_TOKEN" : undefined
  const envPassword = env.GATEWAY_PASSWORD ? "GATEWAY_PASSWORD" : env.OPENCLAW_GATEWAY_PASSWORD ? "OPENCLAW_GATEWAY_PASSWORD" : undefined
  const local = await localConnection(args.home, env)
  if (explicitUrl) {
    return {
      url: explicitUrl,
      token: args.token || (envToken && env[envToken]) || undefined,
      password: args.password || (envPassword && env[envPassword]) || undefined,
      tokenSource: args.token ? "--token" : envToken,
      passwordSource: args.password ? "--password" : envPassword,
      // The local gateway's account of its secret only applies when the URL is that gateway's.
      runtime: local.runtime?.url === explicitUrl ? local.runtime : undefined,
      tokenFile: local.tokenFile,
    }
  }
  return {
    url: local.url,
    token: args.token || local.token,
    password: args.password || local.password,
    tokenSource: args.token ? "--token" : local.tokenSource,
    passwordSource: args.password ? "--password" : local.passwordSource,
    runtime: local.runtime,
    tokenFile: local.tokenFile,
  }
}

export function timeoutOf(args: ConnectionArgValues): number {
  const n = Number(args.timeout ?? 10_000)
  if (!Number.isFinite(n) || n <= 0) fail(`--timeout must be a positive number of milliseconds, got '${args.timeout}'`)
  return n
}

/** Connects to the target; the target is kept on the client so errors can be explained in CLI words. */
export async function connect(args: ConnectionArgValues, scopes?: readonly Scope[], extra: Partial<ConnectOptions> = {}): Promise<GatewayClient> {
  const target = await resolveTarget(args)
  lastTarget = target
  const { url, token, password } = target
  const ca = trustedCa(target)
  return GatewayClient.connect({ url, token, password, scopes, timeoutMs: timeoutOf(args), clientId: "cli", mode: "cli", ...(ca ? { ca } : {}), ...extra })
}

/**
 * The certificate to trust for wss://: GATEWAY_TLS_CA (a PEM file, e.g. a remote gateway's self-signed certificate
 * copied over and checked against its logged fingerprint), else the local gateway's own certificate.
 */
function trustedCa(target: Target): string | undefined {
  const file = process.env.GATEWAY_TLS_CA || (target.url.startsWith("wss:") ? target.runtime?.tls?.certPath : undefined)
  if (!file) return undefined
  try {
    return readFileSync(file, "utf8")
  } catch (err) {
    return fail(`cannot read the TLS certificate to trust (${file}): ${(err as Error).message}`)
  }
}

/** The target of the last connect(), for describeError. */
let lastTarget: Target | undefined

let consola: ConsolaInstance | undefined

/**
 * Human-facing CLI messages (stderr; plain without a TTY, NO_COLOR respected). Data goes to stdout, never here.
 * consola is created on first use: loading it (with node:util and node:tty) costs a command ~15 ms and ~9 MB, and
 * most commands (health, call, …) print no message through it.
 */
export const ui: ConsolaInstance = new Proxy({} as ConsolaInstance, {
  get(_, key) {
    consola ??= (require("consola/basic") as typeof import("consola/basic")).createConsola({
      stdout: process.stderr,
      stderr: process.stderr,
      formatOptions: { date: false },
    })
    const value = Reflect.get(consola, key, consola)
    return typeof value === "function" ? value.bind(consola) : value
  },
})

/** One line to stderr (or a JSON error on stdout with --json) and exit 1 (or `code`). */
export function fail(message: string, opts: { json?: boolean; error?: unknown; code?: number } = {}): never {
  if (opts.json) {
    const e = opts.error as { code?: string; details?: unknown } | undefined
    process.stdout.write(`${JSON.stringify({ ok: false, error: { code: e?.code ?? "ERROR", message, details: e?.details } }, null, 2)}\n`)
  } else {
    process.stderr.write(`gateway: ${message}\n`)
  }
  process.exit(opts.code ?? 1)
}

export function describeError(err: unknown, target: TargetInfo | undefined = lastTarget): string {
  if (err instanceof GatewayRequestError) {
    const auth = target && explainAuthError(err, target)
    if (auth) return auth
    const code = typeof err.details?.code === "string" ? err.details.code : err.code
    return `${err.message} [${code}]`
  }
  if (err instanceof GatewayUnreachableError || err instanceof GatewayClosedError) return err.message
  return (err as Error)?.message ?? String(err)
}

/** Runs a client action, turning every failure into one clear line and exit 1. */
export async function withClient<T>(
  args: ConnectionArgValues & { json?: boolean },
  scopes: readonly Scope[] | undefined,
  fn: (c: GatewayClient) => Promise<T>,
): Promise<T> {
  let client: GatewayClient | undefined
  try {
    client = await connect(args, scopes)
    return await fn(client)
  } catch (err) {
    return fail(describeError(err), { json: args.json, error: err })
  } finally {
    client?.close()
  }
}

/**
 * Exact JSON on stdout. console.log prints a single string verbatim, as process.stdout.write would with the newline,
 * but natively: the first touch of process.stdout in a compiled binary builds a Node stream (~15 ms of CPU).
 */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2))
}
