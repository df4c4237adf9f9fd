/**
 * Authentication failures in the words of the command line: the gateway answers in protocol terms ("set auth.token
 * in connect params"); a person needs --token, GATEWAY_TOKEN, the gateway.token file or `gateway token new`. What
 * the local gateway's runtime file says about its own secret makes the advice exact.
 */
import { join } from "node:path"
import type { RuntimeInfo } from "../config/runtime.ts"
import type { GatewayRequestError } from "./index.ts"

export interface TargetInfo {
  url: string
  /** Where the token sent came from: "--token", "GATEWAY_TOKEN", a file… (undefined: none was sent). */
  tokenSource?: string
  passwordSource?: string
  /** The runtime file of the gateway at `url`, when it is this machine's. */
  runtime?: RuntimeInfo
  /** The generated token file of the state home in use. */
  tokenFile?: string
}

/** The CLI sentence for an AUTH_* refusal (with its code in brackets), or undefined for any other error. */
export function explainAuthError(err: GatewayRequestError, t: TargetInfo): string | undefined {
  const code = typeof err.details?.code === "string" ? err.details.code : undefined
  if (!code?.startsWith("AUTH_")) return undefined
  const rt = t.runtime
  const tokenHow = (): string => {
    if (rt?.authSource === "flag" || rt?.authSource === "env")
      return "it was started with --token or GATEWAY_TOKEN; pass that token with --token or GATEWAY_TOKEN"
    if (rt?.authSource === "generated") {
      const file = join(rt.home, "gateway.token")
      return code === "AUTH_TOKEN_MISSING"
        ? `it uses the token in ${file}, which this user cannot read; pass it with --token or GATEWAY_TOKEN`
        : `it uses the token in ${file}; drop --token and GATEWAY_TOKEN to use it, or make a new one with 'gateway token new --write'`
    }
    if (rt?.authSource === "config")
      return `it uses gateway.auth.token from ${rt.configPath} as it was when it started; if that changed since, restart it ('gateway restart'), else pass its token with --token or GATEWAY_TOKEN`
    return "pass its token with --token or GATEWAY_TOKEN (a local gateway's is gateway.auth.token in its gateway.json, else the gateway.token file in its state home; 'gateway token new --write' makes a new one)"
  }
  const passwordWhere =
    rt?.authSource === "flag" || rt?.authSource === "env" ? "it was started with --password or GATEWAY_PASSWORD" : "gateway.auth.password in its gateway.json"
  let sentence: string
  switch (code) {
    case "AUTH_TOKEN_MISMATCH":
      sentence = `the gateway at ${t.url} rejected the token from ${t.tokenSource ?? "this command"}: ${tokenHow()}`
      break
    case "AUTH_TOKEN_MISSING":
      sentence = `the gateway at ${t.url} needs a token and none was sent: ${tokenHow()}`
      break
    case "AUTH_PASSWORD_MISMATCH":
      sentence = `the gateway at ${t.url} rejected the password from ${t.passwordSource ?? "this command"}: pass its password with --password or GATEWAY_PASSWORD (${passwordWhere})`
      break
    case "AUTH_PASSWORD_MISSING":
      sentence = `the gateway at ${t.url} needs a password and none was sent: pass it with --password or GATEWAY_PASSWORD (${passwordWhere})`
      break
    case "AUTH_RATE_LIMITED": {
      const ms = Number(err.details?.retryAfterMs)
      const wait = Number.isFinite(ms) && ms > 0 ? ` for ${Math.ceil(ms / 1000)} s` : ""
      sentence = `the gateway at ${t.url} refuses this address${wait} after too many failed attempts; wait, then retry with the right --token or --password`
      break
    }
    default:
      sentence = `the gateway at ${t.url} refused this command's credentials (${err.message}); pass --token/GATEWAY_TOKEN or --password/GATEWAY_PASSWORD`
  }
  return `${sentence} [${code}]`
}
