/** Config for exposing the listener beyond loopback: TLS, the browser Origin allowlist and trusted-proxy auth. */
import ipaddr from "ipaddr.js"
import { z } from "zod"

export const Tls = z
  .strictObject({
    enabled: z.boolean().default(false).describe("Serve HTTPS and wss:// on the gateway port (flags --tls-cert/--tls-key or --tls-self-signed turn it on)"),
    certPath: z
      .string()
      .min(1)
      .optional()
      .describe("PEM certificate (chain) file; with keyPath. Omitted with autoGenerate: a self-signed one in <state dir>/tls/"),
    keyPath: z.string().min(1).optional().describe("PEM private key file for certPath"),
    autoGenerate: z
      .boolean()
      .default(false)
      .describe("Without certPath/keyPath, generate a self-signed certificate once (kept in <state dir>/tls/); its SHA-256 fingerprint is printed for pinning"),
  })
  .describe("TLS on the listener")

export const ControlUi = z
  .strictObject({
    allowedOrigins: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "Browser origins (scheme://host[:port]) allowed to open the WebSocket, besides loopback origins and the gateway's own address; others are refused with 403 before the upgrade",
      ),
  })
  .describe("Browser clients (the web page and other browser apps)")

const cidr = z.string().refine(
  (s) => {
    try {
      if (s.includes("/")) ipaddr.parseCIDR(s)
      else ipaddr.parse(s)
      return true
    } catch {
      return false
    }
  },
  { message: "must be an IP address or CIDR range" },
)

export const TrustedProxies = z
  .array(cidr)
  .default([])
  .describe("Addresses (IP or CIDR) of reverse proxies whose forwarded headers are trusted; required by gateway.auth.mode 'trusted-proxy'")

export const TrustedProxyAuth = z
  .strictObject({
    userHeader: z.string().min(1).default("x-forwarded-user").describe("Header in which the proxy passes the authenticated user"),
    requiredHeaders: z.array(z.string().min(1)).default([]).describe("Headers that must also be present on the proxied request"),
    allowUsers: z.array(z.string().min(1)).default([]).describe("If set, only these users are let in"),
  })
  .describe("trusted-proxy mode: the reverse proxy authenticates; the gateway trusts its user header from gateway.trustedProxies only")
