/**
 * tools.web.allowPrivate: the non-public hosts the person running the gateway lets web tools reach. An entry is a host
 * name (that name, whatever it resolves to), an IP address, either with an optional port, or a CIDR. Entries are
 * validated by the config schema; one that does not parse here is skipped, which only ever refuses more.
 */
import ipaddr from "ipaddr.js"
import { canonical, type IP, parseIpLiteral } from "./ip-class.ts"

export type AllowEntry = { type: "name"; name: string; port?: number } | { type: "ip"; ip: IP; port?: number } | { type: "cidr"; net: [IP, number] }

/** Lower case without trailing dots: how URL host names and entries are compared. */
export function bareName(host: string): string {
  return host.toLowerCase().replace(/\.+$/, "")
}

function parseEntry(raw: string): AllowEntry | undefined {
  const entry = raw.trim()
  if (entry.includes("/")) {
    try {
      return { type: "cidr", net: ipaddr.parseCIDR(entry) }
    } catch {
      return undefined
    }
  }
  if (ipaddr.IPv6.isValid(entry)) return { type: "ip", ip: canonical(ipaddr.IPv6.parse(entry)) }
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(entry)
  if (!m) return undefined
  const port = m[3] === undefined ? undefined : Number(m[3])
  if (port !== undefined && (port < 1 || port > 65535)) return undefined
  const host = (m[1] ?? m[2])!
  const ip = parseIpLiteral(m[1] !== undefined ? `[${host}]` : host)
  if (ip) return { type: "ip", ip: canonical(ip), port }
  return m[1] === undefined ? { type: "name", name: bareName(host), port } : undefined
}

export function parseAllowList(entries: readonly string[]): AllowEntry[] {
  return entries.map(parseEntry).filter((e): e is AllowEntry => e !== undefined)
}

const portMatches = (entryPort: number | undefined, port: number) => entryPort === undefined || entryPort === port

/** Whether the host name itself is listed (then its addresses are trusted, whatever they are). */
export function allowsName(list: readonly AllowEntry[], host: string, port: number): boolean {
  const name = bareName(host)
  return list.some((e) => e.type === "name" && e.name === name && portMatches(e.port, port))
}

/**
 * Whether an address is listed. A cloud metadata address needs an exact IP entry: a CIDR such as 100.64.0.0/10 (a
 * Tailscale network) must not open 100.100.100.200 (Alibaba Cloud's metadata service) by accident.
 */
export function allowsAddress(list: readonly AllowEntry[], address: IP, port: number, metadata: boolean): boolean {
  const ip = canonical(address)
  return list.some((e) => {
    if (e.type === "ip") return e.ip.kind() === ip.kind() && e.ip.toString() === ip.toString() && portMatches(e.port, port)
    if (e.type === "cidr") return !metadata && e.net[0].kind() === ip.kind() && ip.match(e.net)
    return false
  })
}
