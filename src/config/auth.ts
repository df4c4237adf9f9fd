/** Resolves who may connect: the bind address, the auth mode and its secret, and the refusal rules. */
import { randomBytes } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { isIP } from "node:net"
import { NamedError } from "../util/named-error.ts"
export { isLoopbackAddress, readGeneratedToken } from "./local-secrets.ts"
import { isLoopbackAddress } from "./local-secrets.ts"
import type { Paths } from "./paths.ts"
import type { Config } from "./schema.ts"

export interface ResolvedBind {
  host: string
  loopback: boolean
}

export interface ResolvedAuth {
  mode: "token" | "password" | "none" | "trusted-proxy"
  token?: string
  password?: string
  /** True when the token came from the generated token file rather than config, flag or env. */
  generated: boolean
}

/** The gateway must not start with this configuration (an unsafe bind or a missing secret); `gateway run` exits 78. */
export const StartupRefusal = NamedError.create("StartupRefusal", (z) => z.object({ message: z.string() }))
export type StartupRefusal = InstanceType<typeof StartupRefusal>

/** Off loopback a guessable secret is an open door: these are the shortest accepted. */
export const MIN_TOKEN_CHARS = 16
export const MIN_PASSWORD_CHARS = 12

export function resolveBind(bind: string): ResolvedBind {
  if (bind === "loopback" || bind === "localhost") return { host: "127.0.0.1", loopback: true }
  if (bind === "lan") return { host: "0.0.0.0", loopback: false }
  if (!isIP(bind)) throw new StartupRefusal({ message: `gateway.bind must be 'loopback', 'lan' or an IP address, got '${bind}'` })
  return { host: bind, loopback: isLoopbackAddress(bind) }
}

/** Reads the generated token, creating it (0600) when absent. */
function ensureGeneratedToken(paths: Paths): string {
  if (existsSync(paths.tokenFile)) {
    const token = readFileSync(paths.tokenFile, "utf8").trim()
    if (token.length >= 16) return token
  }
  mkdirSync(dirname(paths.tokenFile), { recursive: true, mode: 0o700 })
  const token = randomBytes(24).toString("hex")
  writeFileSync(paths.tokenFile, `${token}\n`, { mode: 0o600 })
  chmodSync(paths.tokenFile, 0o600)
  return token
}

/**
 * Loopback with nothing configured gets a generated token kept in the state home, so other local users cannot
 * drive the agent and the CLI still works with no setup. Beyond loopback a secret must be configured explicitly.
 */
export function resolveAuth(config: Config, paths: Paths, bind: ResolvedBind): ResolvedAuth {
  return finishAuth(planAuth(config, bind), paths)
}

/**
 * Who may connect, decided without touching the disk: the refusal rules, and `generated: true` (token not read yet)
 * where the generated token applies. Start-up checks this before binding the port and `config set` checks a new
 * config with it, so both refuse for the same reasons.
 */
export function planAuth(config: Config, bind: ResolvedBind): ResolvedAuth {
  const { mode, token, password } = config.gateway.auth
  const effectiveMode = mode ?? (password && !token ? "password" : "token")
  if (effectiveMode === "trusted-proxy") {
    if (config.gateway.trustedProxies.length === 0) {
      throw new StartupRefusal({
        message:
          "gateway.auth.mode is 'trusted-proxy' but gateway.trustedProxies is empty: list the reverse proxy's address(es), " +
          "or anyone could claim to be any user by sending the user header",
      })
    }
    return { mode: "trusted-proxy", generated: false }
  }
  if (effectiveMode === "none") {
    if (!bind.loopback) {
      throw new StartupRefusal({
        message:
          `refusing to listen on ${bind.host} with gateway.auth.mode 'none': anyone on the network could drive the agent. ` +
          `Set a token (--token, GATEWAY_TOKEN or gateway.auth.token) or bind to loopback (--bind loopback).`,
      })
    }
    return { mode: "none", generated: false }
  }
  if (effectiveMode === "password") {
    if (!password)
      throw new StartupRefusal({ message: "gateway.auth.mode is 'password' but no password is set (--password, GATEWAY_PASSWORD or gateway.auth.password)" })
    if (!bind.loopback && password.length < MIN_PASSWORD_CHARS) {
      throw new StartupRefusal({
        message:
          `refusing to listen on ${bind.host} with a ${password.length}-character password: off loopback it must have at least ${MIN_PASSWORD_CHARS} characters. ` +
          `Use a token instead: 'gateway token new --write' creates a strong one.`,
      })
    }
    return { mode: "password", password, generated: false }
  }
  if (token) {
    if (!bind.loopback && token.length < MIN_TOKEN_CHARS) {
      throw new StartupRefusal({
        message:
          `refusing to listen on ${bind.host} with a ${token.length}-character token: off loopback it must have at least ${MIN_TOKEN_CHARS} characters. ` +
          `Create a strong one with 'gateway token new --write' (or: openssl rand -base64 32).`,
      })
    }
    return { mode: "token", token, generated: false }
  }
  if (!bind.loopback) {
    throw new StartupRefusal({
      message:
        `refusing to listen on ${bind.host} without a token or password. ` +
        `Create one with 'gateway token new --write' (or pass --token <secret> / GATEWAY_TOKEN, at least ${MIN_TOKEN_CHARS} characters), ` +
        `or keep the default --bind loopback.`,
    })
  }
  return { mode: "token", generated: true }
}

/** A plan's generated token read from (or created in) the state home: the one auth step that writes. */
export function finishAuth(plan: ResolvedAuth, paths: Paths): ResolvedAuth {
  return plan.generated && !plan.token ? { ...plan, token: ensureGeneratedToken(paths) } : plan
}
