/**
 * The benchmark's client side of the wire, shared by the driver (cold start) and the load generator, so the gateway
 * and the floor are always measured with identical client code: a raw WebSocket, the challenge, a `connect` req
 * like OpenClaw's CLI sends, and a cheap way to pick the id out of a `res` frame.
 */

export const BENCH_TOKEN = "bench-token-0123456789abcdef"

export function connectFrame(id: string, token: string): string {
  return JSON.stringify({
    type: "req",
    id,
    method: "connect",
    params: {
      minProtocol: 4,
      maxProtocol: 4,
      client: { id: "cli", version: "bench", platform: process.platform, deviceFamily: "Linux", mode: "cli", instanceId: crypto.randomUUID() },
      caps: [],
      auth: { token },
      role: "operator",
      scopes: ["operator.read"],
    },
  })
}

export function healthFrame(id: string): string {
  return `{"type":"req","id":"${id}","method":"health"}`
}

export interface Handshaken {
  ws: WebSocket
  /** The hello-ok payload. */
  hello: Record<string, unknown>
  /** performance.now() when the socket opened, the challenge arrived, and the hello-ok arrived. */
  openedAt: number
  challengeAt: number
  helloAt: number
}

/** Opens a socket to `url`, answers the challenge with `connect`, and resolves on hello-ok (rejects on anything else). */
export function handshake(url: string, token: string, timeoutMs = 10_000): Promise<Handshaken> {
  if (!/^ws:\/\/127\.0\.0\.1:\d+\/?$/.test(url)) return Promise.reject(new Error(`refusing to connect anywhere but 127.0.0.1: ${url}`))
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    let openedAt = 0
    let challengeAt = 0
    let done = false
    const fail = (msg: string) => {
      if (done) return
      done = true
      clearTimeout(timer)
      try {
        ws.close()
      } catch {}
      reject(new Error(`${url}: ${msg}`))
    }
    const timer = setTimeout(() => fail(`no hello-ok within ${timeoutMs} ms`), timeoutMs)
    ws.onopen = () => {
      openedAt = performance.now()
    }
    ws.onerror = () => fail("socket error")
    ws.onclose = (ev) => fail(`closed (${ev.code} ${ev.reason}) before hello-ok`)
    ws.onmessage = (ev) => {
      if (done) return
      let frame: { type?: string; event?: string; id?: string; ok?: boolean; payload?: Record<string, unknown>; error?: unknown }
      try {
        frame = JSON.parse(String(ev.data))
      } catch {
        return fail("unparseable frame during handshake")
      }
      if (frame.type === "event" && frame.event === "connect.challenge") {
        challengeAt = performance.now()
        ws.send(connectFrame("c1", token))
        return
      }
      if (frame.type === "res" && frame.id === "c1") {
        if (!frame.ok || frame.payload?.type !== "hello-ok") return fail(`connect refused: ${JSON.stringify(frame.error ?? frame.payload)}`)
        done = true
        clearTimeout(timer)
        const helloAt = performance.now()
        // Hand the socket over clean: the caller installs its own handlers.
        ws.onmessage = null
        ws.onerror = null
        ws.onclose = null
        resolve({ ws, hello: frame.payload, openedAt, challengeAt, helloAt })
      }
    }
  })
}

const RES_PREFIX = '{"type":"res","id":"'
const OK_TRUE = '","ok":true'

/**
 * The id of a successful `res` frame without parsing the whole payload (both servers serialize `type, id, ok`
 * first): keeps the load generator's per-reply cost the same whatever the payload size. Returns
 * `{ id, ok }`, or undefined for anything that is not a `res` (events), falling back to JSON.parse when the frame
 * does not have the expected prefix.
 */
export function resId(text: string): { id: string; ok: boolean } | undefined {
  if (text.startsWith(RES_PREFIX)) {
    const end = text.indexOf('"', RES_PREFIX.length)
    if (end > 0) return { id: text.slice(RES_PREFIX.length, end), ok: text.startsWith(OK_TRUE, end) }
  }
  let frame: { type?: unknown; id?: unknown; ok?: unknown }
  try {
    frame = JSON.parse(text)
  } catch {
    return undefined
  }
  if (frame?.type !== "res" || typeof frame.id !== "string") return undefined
  return { id: frame.id, ok: frame.ok === true }
}

/** user+system CPU time of a process in ms from /proc/<pid>/stat, or undefined off Linux. */
export async function procCpuMs(pid: number, clkTck: number): Promise<number | undefined> {
  try {
    const stat = await Bun.file(`/proc/${pid}/stat`).text()
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // Fields after the comm: state(3) ... utime(14) stime(15).
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    return ((utime + stime) * 1000) / clkTck
  } catch {
    return undefined
  }
}

/** Busy (non-idle, non-iowait) CPU time of the whole machine in ms from /proc/stat, or undefined off Linux. */
export async function machineBusyMs(clkTck: number): Promise<number | undefined> {
  try {
    const line = (await Bun.file("/proc/stat").text()).split("\n", 1)[0]!
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is already counted in user)
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
    return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / clkTck
  } catch {
    return undefined
  }
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export const round = (n: number, digits = 2): number => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : n)
