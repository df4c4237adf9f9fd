/**
 * The SSRF guard for tools that open URLs on the model's behalf (web_fetch; a browser tool's navigation later).
 * Untrusted text (web pages, chat messages) must never widen what tools can do, so a URL is refused when its host is,
 * or resolves to, any address that is not public: loopback (the gateway itself), private networks, link-local, cloud
 * metadata and the other special ranges in ip-class.ts, unless tools.web.allowPrivate lists it.
 *
 * Checking a name and then letting fetch resolve it again leaves a DNS-rebinding window: the second answer can differ.
 * So checkUrl resolves once and returns the addresses it checked, and pinTo builds the request that connects to one of
 * them literally while the Host header and TLS (SNI and certificate verification) keep the original name.
 */
import { lookup } from "node:dns/promises"
import { classifyAddress, type IP, METADATA_NAMES, parseIpLiteral } from "./ip-class.ts"
import { allowsAddress, allowsName, bareName, parseAllowList } from "./net-allow.ts"
import { ToolError } from "./tool.ts"

export interface ResolvedAddress {
  address: string
  family: number
}

/** Host name → every address it has (A and AAAA). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>

/** getaddrinfo, as fetch itself would resolve (hosts file included). */
export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true })

export interface GuardOptions {
  /** tools.web.allowPrivate. */
  allowPrivate: readonly string[]
  /** Default: systemResolver. */
  resolve?: Resolver
  /** Ends a hanging lookup (the lookup itself cannot be cancelled; its answer is then ignored). */
  signal?: AbortSignal
  /** The URL whose redirect led here, named in the refusal. */
  redirectedFrom?: URL
}

export interface CheckedUrl {
  url: URL
  /** The addresses that passed, in resolver order: connect only to these (pinTo). */
  addresses: string[]
}

const ALLOW_HINT =
  "Web tools reach only public internet addresses, so that a web page or a message cannot steer them into this machine or its network; other spellings of the same address are refused too. If the person running the gateway wants this host reachable, they can list it in tools.web.allowPrivate in the gateway config (a host, host:port, IP or CIDR)."

/** An absolute http(s) URL without credentials, or a ToolError saying what to pass instead. */
export function parseHttpUrl(raw: string, tool = "This tool"): URL {
  let u: URL
  try {
    u = new URL(raw.trim())
  } catch {
    throw new ToolError({ message: `"${raw}" is not a valid absolute URL. Pass a full URL such as https://example.com/page.` })
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new ToolError({ message: `${tool} only fetches http:// and https:// URLs, not ${u.protocol}. Use the read tool for local files.` })
  if (u.username || u.password) throw new ToolError({ message: "URLs with embedded credentials (user:password@) are not fetched. Remove them from the URL." })
  return u
}

function refuse(url: URL, reason: string, from?: URL): never {
  const subject = from ? `${from} redirected to ${url}, which is refused` : `Refused to fetch ${url}`
  throw new ToolError({ message: `${subject}: ${reason}. ${ALLOW_HINT}` })
}

function raceSignal<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener("abort", onAbort, { once: true })
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort))
  })
}

function defaultPort(url: URL): number {
  return Number(url.port) || (url.protocol === "https:" ? 443 : 80)
}

/**
 * Resolves the URL's host once and checks every address; refuses (ToolError, readable by the model) when any one is
 * not public and not allowed. Call it again for every redirect hop.
 */
export async function checkUrl(url: URL, o: GuardOptions): Promise<CheckedUrl> {
  if (url.protocol !== "http:" && url.protocol !== "https:") refuse(url, `only http:// and https:// URLs are fetched, not ${url.protocol}`, o.redirectedFrom)
  if (url.username || url.password) refuse(url, "URLs with embedded credentials (user:password@) are not fetched", o.redirectedFrom)
  const allow = parseAllowList(o.allowPrivate)
  const port = defaultPort(url)
  const literal = parseIpLiteral(url.hostname)
  if (literal) {
    const cls = classifyAddress(literal)
    if (cls && !allowsAddress(allow, literal, port, cls.metadata)) refuse(url, `${literal} is ${cls.description}`, o.redirectedFrom)
    return { url, addresses: [literal.toString()] }
  }

  const host = bareName(url.hostname)
  // A listed name is trusted whatever it resolves to (but metadata, below): the person named it (their NAS, say).
  const trusted = allowsName(allow, host, port)
  if (!trusted) {
    // localhost is this machine by definition (RFC 6761); resolving it would only confirm that.
    if (host === "localhost" || host.endsWith(".localhost"))
      refuse(url, `${host} is a loopback name (localhost and *.localhost always mean this machine)`, o.redirectedFrom)
    if (METADATA_NAMES.has(host)) refuse(url, `${host} is the name of a cloud metadata endpoint`, o.redirectedFrom)
  }

  let resolved: ResolvedAddress[]
  try {
    resolved = await raceSignal((o.resolve ?? systemResolver)(host), o.signal)
  } catch (err) {
    if (o.signal?.aborted) throw err
    const code = (err as { code?: string }).code
    throw new ToolError({
      message: `Could not resolve the host name "${host}"${code ? ` (${code})` : ""}${o.redirectedFrom ? `, the target of a redirect from ${o.redirectedFrom}` : ""}. Check the spelling of the URL.`,
    })
  }
  const addresses: IP[] = []
  for (const r of resolved) {
    const ip = parseIpLiteral(r.address)
    if (!ip) refuse(url, `${host} resolves to "${r.address}", which is not an IP address`, o.redirectedFrom)
    addresses.push(ip)
  }
  if (!addresses.length) throw new ToolError({ message: `The host name "${host}" has no addresses. Check the spelling of the URL.` })
  // ANY refused address refuses the host: otherwise the connection could go to that one. A listed name still never
  // reaches a cloud metadata address that is not listed itself.
  for (const ip of addresses) {
    const cls = classifyAddress(ip)
    if (cls && (!trusted || cls.metadata) && !allowsAddress(allow, ip, port, cls.metadata))
      refuse(url, `${host} resolves to ${ip}, ${cls.description}`, o.redirectedFrom)
  }
  return { url, addresses: addresses.map(String) }
}

export interface PinnedRequest {
  /** The URL with the checked address as its host (no fragment): what the socket connects to. */
  url: URL
  /** The original host (and port), for the Host header. */
  host: string
  /** For https to a name: the name for SNI and certificate verification. */
  serverName?: string
}

/**
 * The request that reaches `address` and nothing else: fetch gets an IP literal, so it does no lookup of its own (no
 * second DNS answer), while the server still sees the original Host and, over https, the certificate is verified for
 * the original name (Bun's fetch `tls.serverName`).
 */
export function pinTo(url: URL, address: string): PinnedRequest {
  const target = new URL(url)
  target.hash = ""
  target.hostname = address.includes(":") ? `[${address}]` : address
  const name = bareName(url.hostname)
  const isName = !parseIpLiteral(url.hostname)
  return { url: target, host: url.host, serverName: url.protocol === "https:" && isName ? name : undefined }
}
