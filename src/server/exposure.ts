/**
 * What is checked on an HTTP request before it may become a WebSocket, for a gateway reachable beyond loopback:
 * the browser Origin allowlist (a web page on another site must not drive the agent through a visitor's browser) and,
 * in trusted-proxy mode, that the request came from a configured proxy carrying the user it authenticated.
 */
import ipaddr from "ipaddr.js"
import { isIP } from "node:net"
import { isLoopbackAddress } from "../config/local-secrets.ts"
import type { Config } from "../config/schema.ts"
import { isScope, type Scope } from "../protocol/index.ts"

/** The identity a trusted proxy vouched for; `scopes` narrows what the client may ask for (x-openclaw-scopes). */
export interface ProxyIdentity {
  user: string
  scopes?: Scope[]
}

export type UpgradeCheck = { ok: true; proxy?: ProxyIdentity } | { ok: false; status: 401 | 403; message: string }

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]", "::1"])

function isLoopbackHost(hostname: string): boolean {
  if (LOOPBACK_NAMES.has(hostname) || hostname.endsWith(".localhost")) return true
  const bare = hostname.replace(/^\[|\]$/g, "")
  return isIP(bare) !== 0 && ipaddr.process(bare).range() === "loopback"
}

/**
 * Whether a browser page from `origin` may open the WebSocket. Allowed: no Origin (not a browser), an origin in
 * gateway.controlUi.allowedOrigins ("*" allows all), a loopback origin, and the gateway's own address when the Host is
 * an IP literal (the page it serves, opened by address on the LAN). A same-origin check against a DNS Host is not
 * enough: a rebinding attacker controls both the name and the Origin.
 */
export function originAllowed(origin: string | null, hostHeader: string | null, allowed: string[]): boolean {
  if (origin === null) return true
  if (allowed.includes("*") || allowed.includes(origin)) return true
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false
  if (isLoopbackHost(url.hostname)) return true
  if (!hostHeader || hostHeader.toLowerCase() !== url.host.toLowerCase()) return false
  return isIP(url.hostname.replace(/^\[|\]$/g, "")) !== 0
}

/** Host names that can only mean this machine (the wildcard addresses too: a client dialling them reaches loopback). */
const LOCAL_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|0\.0\.0\.0|\[::\])(?::\d+)?$/i

/**
 * A direct local request (OpenClaw's direct_local): a loopback socket, no proxy in between (a reverse proxy on the
 * same machine, nginx or Tailscale Serve, connects from loopback on a remote visitor's behalf) and a local Host (a
 * DNS-rebinding page names its own host). The canvas host and silent device approval trust only this.
 */
export function isDirectLocal(remoteAddress: string, headers: Headers): boolean {
  if (!isLoopbackAddress(remoteAddress)) return false
  for (const h of ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip"]) if (headers.has(h)) return false
  return LOCAL_HOST.test(headers.get("host") ?? "")
}

/** Whether `address` is one of gateway.trustedProxies (addresses or CIDR ranges; IPv4-mapped IPv6 counts as IPv4). */
export function isTrustedProxy(address: string, proxies: string[]): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6
  try {
    addr = ipaddr.process(address.split("%")[0]!)
  } catch {
    return false
  }
  return proxies.some((p) => {
    try {
      if (!p.includes("/")) return ipaddr.process(p).toString() === addr.toString()
      const [range, bits] = ipaddr.parseCIDR(p)
      return range.kind() === addr.kind() && addr.match([range, bits] as never)
    } catch {
      return false
    }
  })
}

/** The trusted-proxy identity of a request, or why it is refused (only meaningful in that auth mode). */
export function proxyIdentity(headers: Headers, remoteAddress: string, gateway: Config["gateway"]): UpgradeCheck {
  const { userHeader, requiredHeaders, allowUsers } = gateway.auth.trustedProxy
  if (!isTrustedProxy(remoteAddress, gateway.trustedProxies)) {
    return { ok: false, status: 401, message: `trusted-proxy auth: ${remoteAddress} is not in gateway.trustedProxies` }
  }
  const user = headers.get(userHeader)?.trim()
  if (!user) return { ok: false, status: 401, message: `trusted-proxy auth: the proxy sent no ${userHeader} header` }
  const missing = requiredHeaders.filter((h) => !headers.get(h))
  if (missing.length) return { ok: false, status: 401, message: `trusted-proxy auth: missing header(s) ${missing.join(", ")}` }
  if (allowUsers.length && !allowUsers.includes(user))
    return { ok: false, status: 403, message: `trusted-proxy auth: user ${user} is not in gateway.auth.trustedProxy.allowUsers` }
  const scopeHeader = headers.get("x-openclaw-scopes")
  const scopes = scopeHeader === null ? undefined : scopeHeader.split(/[\s,]+/).filter(isScope)
  return { ok: true, proxy: { user, ...(scopes ? { scopes } : {}) } }
}

/** Every pre-upgrade check, in order: Origin, then (trusted-proxy mode) the proxy and its user. */
export function checkUpgrade(req: Request, remoteAddress: string, gateway: Config["gateway"]): UpgradeCheck {
  const origin = req.headers.get("origin")
  if (!originAllowed(origin, req.headers.get("host"), gateway.controlUi.allowedOrigins)) {
    return { ok: false, status: 403, message: `origin ${origin} is not allowed: add it to gateway.controlUi.allowedOrigins` }
  }
  if (gateway.auth.mode === "trusted-proxy") return proxyIdentity(req.headers, remoteAddress, gateway)
  return { ok: true }
}
