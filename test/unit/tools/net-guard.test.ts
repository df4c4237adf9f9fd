/**
 * The SSRF guard on its own: every spelling of a refused address, IPv6 forms that wrap IPv4, metadata names, the
 * allow list, and the pinned request. No socket is opened and no real DNS is asked: names go to an injected resolver.
 */
import { describe, expect, test } from "bun:test"
import { classifyAddress, parseIpLiteral } from "../../../src/agent/tools/ip-class.ts"
import { checkUrl, parseHttpUrl, pinTo, type Resolver } from "../../../src/agent/tools/net-guard.ts"
import { ToolError } from "../../../src/agent/tools/tool.ts"
import { toolsConfig } from "./helpers.ts"

/** Literals must never reach DNS. */
const noDns: Resolver = async (host) => {
  throw new Error(`unexpected DNS lookup of ${host}`)
}

/** A fixed table of names; counts lookups. */
function table(map: Record<string, string[]>) {
  const calls: string[] = []
  const resolve: Resolver = async (host) => {
    calls.push(host)
    const list = map[host]
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" })
    return list.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))
  }
  return { resolve, calls }
}

async function refusal(url: string, allowPrivate: string[] = [], resolve: Resolver = noDns): Promise<string> {
  try {
    await checkUrl(new URL(url), { allowPrivate, resolve })
  } catch (err) {
    if (ToolError.isInstance(err)) return err.message
    throw err
  }
  throw new Error(`${url} was not refused`)
}

// [host as written in the URL, what the refusal must name]
const REFUSED: [string, string][] = [
  // IPv4 loopback in every spelling a resolver or URL parser accepts
  ["127.0.0.1", "loopback"],
  ["127.8.9.10", "loopback"],
  ["2130706433", "loopback"],
  ["0177.0.0.1", "loopback"],
  ["0x7f.0.0.1", "loopback"],
  ["0x7F000001", "loopback"],
  ["017700000001", "loopback"],
  ["127.1", "loopback"],
  ["127.0.1", "loopback"],
  ["0x7f.1", "loopback"],
  ["0177.0.0x1", "loopback"],
  ["127.000.000.001", "loopback"],
  ["127.0.0.1.", "loopback"],
  ["localhost", "loopback"],
  ["LOCALHOST.", "loopback"],
  ["app.localhost", "loopback"],
  ["[::1]", "loopback"],
  ["[0:0:0:0:0:0:0:1]", "loopback"],
  // unspecified
  ["0.0.0.0", "unspecified"],
  ["0", "unspecified"],
  ["0.1.2.3", "unspecified"],
  ["[::]", "unspecified"],
  // private
  ["10.0.0.1", "private"],
  ["10.255.255.255", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.254", "private"],
  ["192.168.1.1", "private"],
  ["[fc00::1]", "private"],
  ["[fd12:3456::1]", "private"],
  // link-local
  ["169.254.1.1", "link-local"],
  ["[fe80::1]", "link-local"],
  ["[febf:ffff::1]", "link-local"],
  // shared address space
  ["100.64.0.1", "CGNAT"],
  ["100.127.255.254", "CGNAT"],
  // multicast, broadcast, reserved
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["[ff02::1]", "multicast"],
  ["240.0.0.1", "reserved"],
  ["255.255.255.255", "broadcast"],
  // benchmarking, documentation, IETF protocol assignments
  ["198.18.0.1", "benchmarking"],
  ["198.19.255.254", "benchmarking"],
  ["[2001:2::1]", "benchmarking"],
  ["192.0.2.1", "documentation"],
  ["198.51.100.7", "documentation"],
  ["203.0.113.9", "documentation"],
  ["[2001:db8::1]", "documentation"],
  ["192.0.0.8", "IETF protocol assignments"],
  // IPv6 forms that wrap an IPv4 address
  ["[::ffff:127.0.0.1]", "IPv4-mapped"],
  ["[::ffff:7f00:1]", "IPv4-mapped"],
  ["[::ffff:10.0.0.1]", "IPv4-mapped"],
  ["[::ffff:8.8.8.8]", "IPv4-mapped"],
  ["[::127.0.0.1]", "IPv4-compatible"],
  ["[::a9fe:a9fe]", "IPv4-compatible"],
  ["[64:ff9b::7f00:1]", "NAT64"],
  ["[64:ff9b::127.0.0.1]", "NAT64"],
  ["[64:ff9b::a00:1]", "NAT64"],
  ["[2002:7f00:1::]", "6to4"],
  ["[2002:a9fe:a9fe::1]", "6to4"],
  ["[2002:c0a8:101::]", "6to4"],
  // cloud metadata, by address and by name
  ["169.254.169.254", "cloud metadata"],
  ["0xa9.0xfe.0xa9.0xfe", "cloud metadata"],
  ["2852039166", "cloud metadata"],
  ["[fd00:ec2::254]", "cloud metadata"],
  ["100.100.100.200", "cloud metadata"],
  ["metadata.google.internal", "cloud metadata"],
  ["METADATA.google.internal.", "cloud metadata"],
  ["metadata", "cloud metadata"],
]

const PUBLIC = [
  "93.184.215.14",
  "8.8.8.8",
  "100.63.255.255",
  "100.128.0.1",
  "172.15.255.255",
  "172.32.0.1",
  "192.0.1.1",
  "198.17.0.1",
  "198.20.0.1",
  "[2606:4700::1111]",
  "[64:ff9b::808:808]",
  "[2002:808:808::1]",
]

describe("refused addresses", () => {
  for (const [host, kind] of REFUSED) {
    test(`${host} → ${kind}`, async () => {
      const msg = await refusal(`http://${host}:8080/x`)
      expect(msg).toContain(kind)
      expect(msg).toContain("tools.web.allowPrivate")
    })
  }
  test("public literals pass without a DNS lookup", async () => {
    for (const host of PUBLIC) {
      const c = await checkUrl(new URL(`https://${host}/`), { allowPrivate: [], resolve: noDns })
      expect(c.addresses).toHaveLength(1)
    }
  })
  test("the message names the URL, the address, its range and how to allow it", async () => {
    const msg = await refusal("http://0x7f.1:18789/readyz")
    expect(msg).toContain("http://127.0.0.1:18789/readyz")
    expect(msg).toContain("127.0.0.1 is a loopback address (127.0.0.0/8)")
    expect(msg).toContain("tools.web.allowPrivate")
    const mapped = await refusal("http://[::ffff:169.254.169.254]/")
    expect(mapped).toContain("169.254.169.254")
    expect(mapped).toContain("cloud metadata")
  })
})

describe("host names", () => {
  test("a name is refused when ANY of its addresses is refused", async () => {
    const { resolve, calls } = table({ "mixed.test": ["93.184.215.14", "10.0.0.7"] })
    const msg = await refusal("https://mixed.test/", [], resolve)
    expect(msg).toContain("mixed.test resolves to 10.0.0.7, a private address (10.0.0.0/8)")
    expect(calls).toEqual(["mixed.test"])
  })
  test("resolved IPv6 and mapped addresses are checked too", async () => {
    const { resolve } = table({ "v6.test": ["2606:4700::1111", "::1"], "mapped.test": ["::ffff:192.168.0.1"], "meta.test": ["169.254.169.254"] })
    expect(await refusal("http://v6.test/", [], resolve)).toContain("loopback")
    expect(await refusal("http://mapped.test/", [], resolve)).toContain("IPv4-mapped")
    expect(await refusal("http://meta.test/", [], resolve)).toContain("cloud metadata")
  })
  test("localhost and metadata names are refused before any lookup", async () => {
    const { resolve, calls } = table({ localhost: ["93.184.215.14"], "metadata.google.internal": ["93.184.215.14"] })
    expect(await refusal("http://localhost/", [], resolve)).toContain("loopback")
    expect(await refusal("http://x.y.localhost./", [], resolve)).toContain("loopback")
    expect(await refusal("http://metadata.google.internal/", [], resolve)).toContain("cloud metadata")
    expect(calls).toEqual([])
  })
  test("a public name passes with its addresses in resolver order", async () => {
    const { resolve } = table({ "example.test": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"] })
    const c = await checkUrl(new URL("https://Example.Test./a"), { allowPrivate: [], resolve })
    expect(c.addresses).toEqual(["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
  })
  test("an unknown name is a readable error", async () => {
    const { resolve } = table({})
    expect(await refusal("http://nowhere.test/", [], resolve)).toContain('Could not resolve the host name "nowhere.test"')
  })
  test("a lookup that hangs ends with the signal", async () => {
    const hang: Resolver = () => new Promise(() => {})
    const ac = new AbortController()
    const p = checkUrl(new URL("http://slow.test/"), { allowPrivate: [], resolve: hang, signal: ac.signal })
    setTimeout(() => ac.abort(new Error("stop")), 20)
    await expect(p).rejects.toThrow("stop")
  })
})

describe("tools.web.allowPrivate allows exactly what it lists", () => {
  const { resolve } = table({ "nas.lan": ["192.168.1.5"], "other.lan": ["192.168.1.5"], localhost: ["127.0.0.1"], "tail.test": ["100.100.100.200"] })
  const ok = async (url: string, allow: string[]) => (await checkUrl(new URL(url), { allowPrivate: allow, resolve })).addresses
  test("an IP allows that address on any port, and nothing else", async () => {
    expect(await ok("http://127.0.0.1:9/", ["127.0.0.1"])).toEqual(["127.0.0.1"])
    expect(await ok("http://2130706433:9/", ["127.0.0.1"])).toEqual(["127.0.0.1"])
    expect(await refusal("http://127.0.0.2/", ["127.0.0.1"])).toContain("loopback")
    expect(await refusal("http://[::1]/", ["127.0.0.1"])).toContain("loopback")
    expect(await refusal("http://localhost/", ["127.0.0.1"], resolve)).toContain("loopback")
  })
  test("IP:port and [IPv6]:port allow that port only", async () => {
    expect(await ok("http://127.0.0.1:8080/", ["127.0.0.1:8080"])).toEqual(["127.0.0.1"])
    expect(await refusal("http://127.0.0.1:8081/", ["127.0.0.1:8080"])).toContain("loopback")
    expect(await refusal("http://127.0.0.1/", ["127.0.0.1:8080"])).toContain("loopback")
    expect(await ok("http://[::1]:8080/", ["[::1]:8080"])).toEqual(["::1"])
    expect(await ok("http://[::1]:7/", ["::1"])).toEqual(["::1"])
    expect(await refusal("http://[::1]:7/", ["[::1]:8080"])).toContain("loopback")
  })
  test("a CIDR allows its range", async () => {
    expect(await ok("http://10.1.2.3/", ["10.0.0.0/8"])).toEqual(["10.1.2.3"])
    expect(await ok("http://nas.lan/", ["192.168.1.0/24"])).toEqual(["192.168.1.5"])
    expect(await refusal("http://192.168.2.1/", ["192.168.1.0/24"])).toContain("private")
    expect(await ok("http://[fd00::5]/", ["fd00::/8"])).toEqual(["fd00::5"])
  })
  test("a host name allows that name (any address it resolves to), not the address for other names", async () => {
    expect(await ok("http://nas.lan/", ["nas.lan"])).toEqual(["192.168.1.5"])
    expect(await ok("http://NAS.lan./", ["nas.lan"])).toEqual(["192.168.1.5"])
    expect(await refusal("http://other.lan/", ["nas.lan"], resolve)).toContain("private")
    expect(await refusal("http://192.168.1.5/", ["nas.lan"])).toContain("private")
    expect(await ok("http://nas.lan:5000/", ["nas.lan:5000"])).toEqual(["192.168.1.5"])
    expect(await refusal("http://nas.lan/", ["nas.lan:5000"], resolve)).toContain("private")
    expect(await ok("http://localhost/", ["localhost"])).toEqual(["127.0.0.1"])
  })
  test("a listed name that resolves to a cloud metadata address is still refused", async () => {
    const { resolve } = table({ "nas.lan": ["169.254.169.254"] })
    expect(await refusal("http://nas.lan/", ["nas.lan"], resolve)).toContain("nas.lan resolves to 169.254.169.254, a cloud metadata endpoint")
    expect((await checkUrl(new URL("http://nas.lan/"), { allowPrivate: ["nas.lan", "169.254.169.254"], resolve })).addresses).toEqual(["169.254.169.254"])
  })
  test("a CIDR never covers a cloud metadata address; listing it exactly does", async () => {
    expect(await refusal("http://100.100.100.200/", ["100.64.0.0/10"])).toContain("cloud metadata")
    expect(await ok("http://100.100.100.201/", ["100.64.0.0/10"])).toEqual(["100.100.100.201"])
    expect(await ok("http://100.100.100.200/", ["100.100.100.200"])).toEqual(["100.100.100.200"])
    expect(await refusal("http://169.254.169.254/", ["169.254.0.0/16"])).toContain("cloud metadata")
  })
  test("the schema takes hosts, host:port, IPs, [IPv6]:port and CIDRs, and rejects anything else", () => {
    expect(toolsConfig().web.allowPrivate).toEqual([])
    const good = ["nas.lan", "nas.lan:5000", "192.168.1.5", "192.168.1.5:80", "::1", "[::1]:8080", "10.0.0.0/8", "fd00::/8"]
    expect(toolsConfig({ web: { allowPrivate: good } }).web.allowPrivate).toEqual(good)
    for (const bad of ["10.0.0.0/33", "http://nas.lan/", "nas lan", "", "1.2.3.4:99999", "*"])
      expect(() => toolsConfig({ web: { allowPrivate: [bad] } })).toThrow()
  })
})

describe("URLs and the pinned request", () => {
  test("only http(s), no credentials", () => {
    expect(() => parseHttpUrl("file:///etc/passwd")).toThrow("not file:")
    expect(() => parseHttpUrl("http://u:p@example.test/")).toThrow("credentials")
    expect(() => parseHttpUrl("nope")).toThrow("not a valid absolute URL")
    expect(parseHttpUrl(" https://example.test/a ").toString()).toBe("https://example.test/a")
  })
  test("the request goes to the checked address; Host and TLS keep the name", () => {
    const http = pinTo(new URL("http://example.test:8080/p?q=1#f"), "93.184.215.14")
    expect(http.url.toString()).toBe("http://93.184.215.14:8080/p?q=1")
    expect(http.host).toBe("example.test:8080")
    expect(http.serverName).toBeUndefined()
    const https = pinTo(new URL("https://example.test./p"), "2606:4700::1111")
    expect(https.url.toString()).toBe("https://[2606:4700::1111]/p")
    expect(https.host).toBe("example.test.")
    expect(https.serverName).toBe("example.test")
    expect(pinTo(new URL("https://1.1.1.1/"), "1.1.1.1").serverName).toBeUndefined()
  })
})

describe("classifyAddress / parseIpLiteral", () => {
  test("literals are normalised", () => {
    expect(parseIpLiteral("0x7f.1")?.toString()).toBe("127.0.0.1")
    expect(parseIpLiteral("[::1]")?.toString()).toBe("::1")
    expect(parseIpLiteral("127.0.0.1.")?.toString()).toBe("127.0.0.1")
    expect(parseIpLiteral("example.test")).toBeUndefined()
    expect(parseIpLiteral("1.2.3.4.5")).toBeUndefined()
  })
  test("public addresses have no class", () => {
    expect(classifyAddress("93.184.215.14")).toBeUndefined()
    expect(classifyAddress("2606:4700::1111")).toBeUndefined()
    expect(classifyAddress("::1")?.kind).toBe("loopback")
  })
})
