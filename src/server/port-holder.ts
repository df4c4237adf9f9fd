/**
 * Who holds the port the gateway could not bind, in one sentence with what to do: this state home's gateway,
 * another gateway (does our token work? its hello-ok and status say which and where), a WebSocket server that is
 * not a gateway, an HTTP server (and what it answers), TLS, or a silent program; with its process name and pid
 * when this user may see them (Linux /proc). Only asked after EADDRINUSE, so its few probes cost nothing otherwise.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs"
import { GatewayClient, GatewayRequestError, GatewayUnreachableError } from "../client/index.ts"
import { probeEndpoint } from "../client/probe.ts"

export interface PortHolderQuery {
  /** The address the gateway tried to listen on. */
  host: string
  port: number
  /** This gateway's own credentials: whether they work tells a sibling from a stranger. */
  token?: string
  password?: string
  /** This gateway's state home, to recognise its own earlier instance. */
  home: string
  timeoutMs?: number
}

export interface OwnerProcess {
  pid: number
  name: string
}

/** Where to connect to reach a listener on `host` (wildcards are reached over loopback). */
function connectHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1"
  if (host === "::") return "::1"
  return host
}

/** The full sentence for a port that is in use, e.g. "port 8000 on 127.0.0.1 is in use by an HTTP server, …". */
export async function describePortHolder(q: PortHolderQuery): Promise<string> {
  const timeoutMs = q.timeoutMs ?? 2000
  const host = connectHost(q.host)
  const owner = findListener(q.port)
  const proc = owner ? `${owner.name}, pid ${owner.pid}` : undefined
  const other = async () => `Stop it, or run this gateway on another port: --port ${await freePortNear(q.host, q.port)} (or gateway.port)`
  const hostPart = host.includes(":") ? `[${host}]` : host
  const lead = `port ${q.port} on ${q.host} is in use by`
  let client: GatewayClient | undefined
  try {
    client = await GatewayClient.connect({
      url: `ws://${hostPart}:${q.port}`,
      token: q.token,
      password: q.password,
      timeoutMs,
      scopes: ["operator.admin"],
      clientId: "cli",
      mode: "probe",
    })
    const version = client.hello.server.version
    const snapshot = client.hello.snapshot as { stateDir?: string }
    let pid = owner?.pid
    try {
      pid = ((await client.rawRequest("status", {}, { timeoutMs })) as { pid?: number }).pid ?? pid
    } catch {
      // An older gateway may not say; the /proc lookup may have.
    }
    const pidText = pid ? `, pid ${pid}` : ""
    if (snapshot.stateDir === q.home) {
      return `${lead} this state home's gateway (v${version}${pidText}), which is already running. Check it with 'gateway health'; stop it with 'gateway stop' (service)${pid ? ` or 'kill ${pid}'` : ""}`
    }
    return `${lead} another gateway (v${version}${pidText}${snapshot.stateDir ? `, state home ${snapshot.stateDir}` : ""}). ${await other()}`
  } catch (err) {
    if (err instanceof GatewayRequestError) {
      const code = typeof err.details?.code === "string" ? err.details.code : err.code
      if (code.startsWith("AUTH_"))
        return `${lead} another gateway, which refused this state home's token (another state home's gateway, or OpenClaw${proc ? `; ${proc}` : ""}). ${await other()}`
      if (err.code === "UNAVAILABLE")
        return `${lead} a gateway that is still starting${proc ? ` (${proc})` : ""}: wait a moment and check it with 'gateway health'`
      return `${lead} a gateway that answered ${code}${proc ? ` (${proc})` : ""}. ${await other()}`
    }
    if (err instanceof GatewayUnreachableError && err.data.kind === "websocket")
      return `${lead} a WebSocket server that is not an OpenClaw gateway (${[proc, err.data.detail].filter(Boolean).join("; ")}). ${await other()}`
  } finally {
    client?.close()
  }
  // Not a WebSocket at all: what does a plain connection find?
  const p = await probeEndpoint(host, q.port, timeoutMs)
  const inParens = (...parts: (string | undefined)[]) => {
    const text = parts.filter(Boolean).join("; ")
    return text ? ` (${text})` : ""
  }
  switch (p.kind) {
    case "http":
      return `${lead} an HTTP server, not a gateway${inParens(proc, `it answers "${p.status}"${p.server ? `, Server: ${p.server}` : ""}`)}. ${await other()}`
    case "tls":
      return `${lead} a TLS server, not a gateway${inParens(proc)}. ${await other()}`
    case "silent":
    case "closed":
    case "other":
      return `${lead} a program that does not answer HTTP${inParens(proc, p.kind === "other" ? `it sends '${p.detail}'` : undefined)}. ${await other()}`
    default:
      // Nothing answers on the connect address: the holder listens elsewhere on the port (another address family or
      // interface), or the port was freed meanwhile.
      return `${lead} another program${inParens(proc)}. ${await other()}`
  }
}

/** The first port after `port` that this process can bind on `host` (a concrete suggestion beats "another port"). */
async function freePortNear(host: string, port: number): Promise<number | string> {
  for (let p = port + 1; p < Math.min(port + 50, 65536); p++) {
    try {
      const l = Bun.listen({ hostname: host, port: p, socket: { data() {} } })
      l.stop(true)
      return p
    } catch {
      // taken: try the next one
    }
  }
  return "<another>"
}

/**
 * The process listening on TCP `port`, from /proc/net/tcp{,6} (socket inode) and /proc/<pid>/fd (who holds it).
 * Linux only, and only processes this user may inspect; undefined otherwise. Names only: a command line may hold
 * secrets.
 */
export function findListener(port: number): OwnerProcess | undefined {
  const inodes = new Set<string>()
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0")
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string
    try {
      text = readFileSync(table, "utf8")
    } catch {
      continue
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/)
      // local_address is f[1] ("0100007F:1F90"), state f[3] (0A = LISTEN), inode f[9].
      if (f.length > 9 && f[3] === "0A" && f[1]!.endsWith(`:${hexPort}`) && f[9] !== "0") inodes.add(`socket:[${f[9]}]`)
    }
  }
  if (inodes.size === 0) return undefined
  let pids: string[]
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
  } catch {
    return undefined
  }
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      let target: string
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`)
      } catch {
        continue
      }
      if (inodes.has(target)) {
        let name = "?"
        try {
          name = readFileSync(`/proc/${pid}/comm`, "utf8").trim()
        } catch {}
        return { pid: Number(pid), name }
      }
    }
  }
  return undefined
}
