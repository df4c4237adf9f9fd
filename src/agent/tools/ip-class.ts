/**
 * Which IP addresses web tools refuse, and why: the special-purpose ranges of the IANA IPv4 and IPv6 registries,
 * cloud metadata endpoints, and IPv6 forms that wrap an IPv4 address. Pure: no DNS, no sockets.
 */
import ipaddr from "ipaddr.js"

export type IP = ipaddr.IPv4 | ipaddr.IPv6

export interface AddressClass {
  /** Short name, e.g. "loopback", "private", "cloud metadata". */
  kind: string
  /** For messages: "a loopback address (127.0.0.0/8)". */
  description: string
  /** A cloud metadata endpoint (also when wrapped in IPv6): only an exact allowPrivate entry allows it. */
  metadata: boolean
}

type Range = { cidr: string; kind: string; description: string; net: [IP, number] }

function range(cidr: string, kind: string, what = `${/^[aeiou]/i.test(kind) ? "an" : "a"} ${kind} address`): Range {
  return { cidr, kind, description: `${what} (${cidr})`, net: ipaddr.parseCIDR(cidr) }
}

/**
 * Cloud metadata endpoints hand out credentials to whoever asks from inside the instance. They sit inside ranges
 * refused anyway, but are named apart so the message is clear and so a CIDR in tools.web.allowPrivate never covers them.
 */
const METADATA_ADDRESSES = new Set([
  "169.254.169.254", // AWS, Azure, GCP, Oracle, DigitalOcean, OpenStack
  "169.254.170.2", // AWS ECS task metadata
  "100.100.100.200", // Alibaba Cloud
  "fd00:ec2::254", // AWS over IPv6
])

/** Names of metadata services (they resolve to the addresses above inside a cloud, and to nothing useful outside). */
export const METADATA_NAMES = new Set(["metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"])

// Order matters: the first match names the class, so the narrower ranges come first.
const V4: Range[] = [
  range("0.0.0.0/8", "unspecified", 'an unspecified ("this network") address'),
  range("10.0.0.0/8", "private"),
  range("100.64.0.0/10", "shared address space (CGNAT)", "a shared address space (CGNAT) address"),
  range("127.0.0.0/8", "loopback"),
  range("169.254.0.0/16", "link-local"),
  range("172.16.0.0/12", "private"),
  range("192.0.0.0/24", "IETF protocol assignments", "an IETF protocol assignments address"),
  range("192.0.2.0/24", "documentation"),
  range("192.88.99.0/24", "reserved", "a reserved (former 6to4 relay) address"),
  range("192.168.0.0/16", "private"),
  range("198.18.0.0/15", "benchmarking"),
  range("198.51.100.0/24", "documentation"),
  range("203.0.113.0/24", "documentation"),
  range("224.0.0.0/4", "multicast"),
  range("255.255.255.255/32", "broadcast", "the broadcast address"),
  range("240.0.0.0/4", "reserved"),
]

const V6: Range[] = [
  range("::/128", "unspecified"),
  range("::1/128", "loopback"),
  range("64:ff9b:1::/48", "private", "a local-use NAT64 address"),
  range("100::/64", "reserved", "a discard-only address"),
  range("2001:2::/48", "benchmarking"),
  range("2001:db8::/32", "documentation"),
  range("3fff::/20", "documentation"),
  range("fc00::/7", "private", "a private (unique local) address"),
  range("fe80::/10", "link-local"),
  range("fec0::/10", "private", "a private (deprecated site-local) address"),
  range("ff00::/8", "multicast"),
]

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3")
const NAT64 = ipaddr.parseCIDR("64:ff9b::/96")
const SIX_TO_FOUR = ipaddr.parseCIDR("2002::/16")
const TEREDO = ipaddr.parseCIDR("2001::/32")
const COMPATIBLE = ipaddr.parseCIDR("::/96")

function v4(hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff])
}

/**
 * An IP literal in any spelling that URL parsers or inet_aton accept, normalised: brackets and trailing dots removed,
 * IPv4 in decimal (2130706433), octal (0177.0.0.1), hex (0x7f.0.0.1), short (127.1) and mixed forms. Undefined for
 * anything that is not an address (a host name).
 */
export function parseIpLiteral(host: string): IP | undefined {
  let h = host.trim().toLowerCase()
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1)
  else h = h.replace(/\.+$/, "")
  if (!h) return undefined
  try {
    if (h.includes(":")) return ipaddr.IPv6.isValid(h) ? ipaddr.IPv6.parse(h) : undefined
    return ipaddr.IPv4.isValid(h) ? ipaddr.IPv4.parse(h) : undefined
  } catch {
    return undefined
  }
}

function toIp(address: IP | string): IP | undefined {
  return typeof address === "string" ? parseIpLiteral(address) : address
}

const METADATA: AddressClass = { kind: "cloud metadata", description: "a cloud metadata endpoint", metadata: true }

function classify4(ip: ipaddr.IPv4): AddressClass | undefined {
  if (METADATA_ADDRESSES.has(ip.toString())) return METADATA
  const r = V4.find((x) => ip.match(x.net as [ipaddr.IPv4, number]))
  return r && { kind: r.kind, description: r.description, metadata: false }
}

/**
 * An IPv6 address that carries an IPv4 address. The legacy forms (mapped, compatible) are refused whatever they wrap:
 * no public host is reached that way. The translation forms (NAT64, 6to4, Teredo) are refused when what they wrap is.
 */
function wrapped(ip: ipaddr.IPv6): AddressClass | undefined {
  const p = ip.parts as [number, number, number, number, number, number, number, number]
  const carrying = (form: string, kind: string, inner: ipaddr.IPv4, always: boolean): AddressClass | undefined => {
    const c = classify4(inner)
    if (!c && !always) return undefined
    const what = c ? `${inner}, ${c.description}` : `${inner}; use the IPv4 address itself`
    return { kind, description: `${form} wrapping ${what}`, metadata: c?.metadata ?? false }
  }
  if (ip.isIPv4MappedAddress()) return carrying("an IPv4-mapped IPv6 address (::ffff:0:0/96)", "IPv4-mapped", ip.toIPv4Address(), true)
  // ::a.b.c.d (deprecated); :: and ::1 themselves are in the table.
  if (ip.match(COMPATIBLE as [ipaddr.IPv6, number])) return carrying("an IPv4-compatible IPv6 address (::/96)", "IPv4-compatible", v4(p[6], p[7]), true)
  if (ip.match(NAT64 as [ipaddr.IPv6, number])) return carrying("a NAT64 address (64:ff9b::/96)", "NAT64", v4(p[6], p[7]), false)
  if (ip.match(SIX_TO_FOUR as [ipaddr.IPv6, number])) return carrying("a 6to4 address (2002::/16)", "6to4", v4(p[1], p[2]), false)
  // Teredo keeps the client's IPv4 address bit-inverted in the last 32 bits.
  if (ip.match(TEREDO as [ipaddr.IPv6, number])) return carrying("a Teredo address (2001::/32)", "Teredo", v4(~p[6] & 0xffff, ~p[7] & 0xffff), false)
  return undefined
}

function classify6(ip: ipaddr.IPv6): AddressClass | undefined {
  if (METADATA_ADDRESSES.has(ip.toString())) return METADATA
  const r = V6.find((x) => ip.match(x.net as [ipaddr.IPv6, number]))
  if (r) return { kind: r.kind, description: r.description, metadata: false }
  const w = wrapped(ip)
  if (w || ip.match(NAT64 as [ipaddr.IPv6, number])) return w
  // Everything outside 2000::/3 is unassigned or special (RFC 4291 §2.4): not a public unicast address.
  if (!ip.match(GLOBAL_UNICAST_V6 as [ipaddr.IPv6, number]))
    return { kind: "reserved", description: "a reserved address (outside the global unicast range 2000::/3)", metadata: false }
  return undefined
}

/** Why an address is refused, or undefined for a public unicast address. An unparsable string counts as reserved. */
export function classifyAddress(address: IP | string): AddressClass | undefined {
  const ip = toIp(address)
  if (!ip) return { kind: "reserved", description: "not a valid IP address", metadata: false }
  return ip.kind() === "ipv4" ? classify4(ip as ipaddr.IPv4) : classify6(ip as ipaddr.IPv6)
}

/** The address an allow list compares: IPv4-mapped IPv6 as its IPv4 address, so one entry covers both spellings. */
export function canonical(ip: IP): IP {
  return ip.kind() === "ipv6" && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address() : ip
}
