/**
 * The load generator, run by test/bench/run.ts as its own `bun` process (one per measurement, identical for the
 * gateway and the floor): opens N connections, completes the handshake on each, then keeps `inflight` `health`
 * requests outstanding per connection for warm-up + duration, and prints ONE JSON result line on stdout.
 *
 *   bun test/bench/load-client.ts '{"url":"ws://127.0.0.1:1234","token":"…","connections":16,"inflight":4,
 *                                   "warmupMs":500,"durationMs":3000,"serverPid":123,"clkTck":100}'
 *
 * Throughput counts replies that arrive inside the measured window; latency is send → reply of those replies.
 */
import { handshake, healthFrame, machineBusyMs, percentile, procCpuMs, resId, round } from "./wire.ts"

export interface LoadConfig {
  url: string
  token: string
  connections: number
  inflight: number
  warmupMs: number
  durationMs: number
  /** The server's pid, to read its CPU time over the window (Linux). */
  serverPid?: number
  clkTck?: number
}

export interface LoadResult {
  connections: number
  inflight: number
  durationMs: number
  requests: number
  rps: number
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number }
  errors: number
  /** Replies whose id matched nothing outstanding (should be 0). */
  strays: number
  /** Connections that closed during the run (should be 0). */
  closed: number
  /** Server user+sys CPU over the window, per request and as a share of one core (undefined off Linux). */
  serverCpuUsPerReq?: number
  serverCpuCores?: number
  /** This load generator's own CPU over the window, as a share of one core (near 1.0 = the client is the limit). */
  clientCpuCores: number
  /** CPU the rest of the machine used over the window, in cores (other processes: noise; undefined off Linux). */
  otherCpuCores?: number
  timedOut: boolean
  firstReplyOk: boolean
}

interface Conn {
  ws: WebSocket
  pending: Map<string, number>
  next: number
}

async function run(cfg: LoadConfig): Promise<LoadResult> {
  const conns: Conn[] = []
  try {
    for (let i = 0; i < cfg.connections; i++) {
      const h = await handshake(cfg.url, cfg.token, 10_000)
      conns.push({ ws: h.ws, pending: new Map(), next: 0 })
    }
  } catch (err) {
    for (const c of conns) c.ws.close()
    throw err
  }

  let lat = new Float64Array(1 << 16)
  let count = 0
  let errors = 0
  let strays = 0
  let closed = 0
  let firstReplyOk: boolean | undefined
  const start = performance.now()
  const windowStart = start + cfg.warmupMs
  const windowEnd = windowStart + cfg.durationMs
  let stopping = false
  let windowClosed = false

  let serverCpu0: number | undefined
  let serverCpu1: number | undefined
  let busy0: number | undefined
  let busy1: number | undefined
  let clientCpu0 = process.cpuUsage()
  let clientCpu1 = clientCpu0
  let cpuWindow0 = windowStart
  let cpuWindow1 = windowEnd
  const clk = cfg.clkTck ?? 100

  return await new Promise<LoadResult>((resolve) => {
    let finished = false
    const finish = (timedOut: boolean) => {
      if (finished) return
      finished = true
      clearTimeout(hardStop)
      clearTimeout(t0)
      clearTimeout(t1)
      for (const c of conns) {
        c.ws.onmessage = null
        c.ws.onclose = null
        try {
          c.ws.close()
        } catch {}
      }
      const sorted = lat.subarray(0, count).sort()
      let sum = 0
      for (let i = 0; i < count; i++) sum += sorted[i]!
      const windowSec = cfg.durationMs / 1000
      const cpuSec = (cpuWindow1 - cpuWindow0) / 1000
      const clientCpuMs = (clientCpu1.user - clientCpu0.user + clientCpu1.system - clientCpu0.system) / 1000
      const serverCpuMs = serverCpu0 !== undefined && serverCpu1 !== undefined ? serverCpu1 - serverCpu0 : undefined
      const busyMs = busy0 !== undefined && busy1 !== undefined ? busy1 - busy0 : undefined
      resolve({
        connections: cfg.connections,
        inflight: cfg.inflight,
        durationMs: cfg.durationMs,
        requests: count,
        rps: round(count / windowSec, 1),
        latencyMs: {
          p50: round(percentile(sorted, 50), 3),
          p90: round(percentile(sorted, 90), 3),
          p99: round(percentile(sorted, 99), 3),
          max: round(count ? sorted[count - 1]! : Number.NaN, 3),
          mean: round(count ? sum / count : Number.NaN, 3),
        },
        errors,
        strays,
        closed,
        serverCpuUsPerReq: serverCpuMs !== undefined && count ? round((serverCpuMs * 1000) / count, 2) : undefined,
        serverCpuCores: serverCpuMs !== undefined ? round(serverCpuMs / 1000 / cpuSec, 3) : undefined,
        clientCpuCores: round(clientCpuMs / 1000 / cpuSec, 3),
        otherCpuCores:
          busyMs !== undefined && serverCpuMs !== undefined ? round(Math.max(0, busyMs - serverCpuMs - clientCpuMs) / 1000 / cpuSec, 3) : undefined,
        timedOut,
        firstReplyOk: firstReplyOk ?? false,
      })
    }

    const send = (c: Conn) => {
      const id = String(++c.next)
      c.pending.set(id, performance.now())
      c.ws.send(healthFrame(id))
    }

    const maybeDone = () => {
      if (!stopping || !windowClosed) return
      for (const c of conns) if (c.pending.size) return
      finish(false)
    }

    for (const c of conns) {
      c.ws.onmessage = (ev) => {
        const now = performance.now()
        const text = typeof ev.data === "string" ? ev.data : String(ev.data)
        const r = resId(text)
        if (!r) return // events (tick, presence, health broadcasts)
        const sentAt = c.pending.get(r.id)
        if (sentAt === undefined) {
          strays++
          return
        }
        c.pending.delete(r.id)
        if (firstReplyOk === undefined) {
          try {
            const f = JSON.parse(text) as { ok?: boolean; payload?: { ok?: boolean } }
            firstReplyOk = f.ok === true && f.payload?.ok === true
          } catch {
            firstReplyOk = false
          }
        }
        if (!r.ok) errors++
        if (now >= windowStart && now < windowEnd) {
          if (count === lat.length) {
            const bigger = new Float64Array(lat.length * 2)
            bigger.set(lat)
            lat = bigger
          }
          lat[count++] = now - sentAt
        }
        if (now < windowEnd && !stopping) send(c)
        else {
          stopping = true
          maybeDone()
        }
      }
      c.ws.onclose = () => {
        closed++
        c.pending.clear()
        maybeDone()
      }
    }

    const t0 = setTimeout(async () => {
      cpuWindow0 = performance.now()
      clientCpu0 = process.cpuUsage()
      busy0 = await machineBusyMs(clk)
      if (cfg.serverPid) serverCpu0 = await procCpuMs(cfg.serverPid, clk)
    }, cfg.warmupMs)
    const t1 = setTimeout(async () => {
      cpuWindow1 = performance.now()
      clientCpu1 = process.cpuUsage()
      if (cfg.serverPid) serverCpu1 = await procCpuMs(cfg.serverPid, clk)
      busy1 = await machineBusyMs(clk)
      stopping = true
      windowClosed = true
      maybeDone()
    }, cfg.warmupMs + cfg.durationMs)
    // Bounded: whatever happens, report 5 s after the window.
    const hardStop = setTimeout(() => finish(true), cfg.warmupMs + cfg.durationMs + 5000)

    for (const c of conns) for (let i = 0; i < cfg.inflight; i++) send(c)
  })
}

if (import.meta.main) {
  const cfg = JSON.parse(process.argv[2] ?? "{}") as LoadConfig
  if (!cfg.url || !cfg.connections || !cfg.inflight || !cfg.durationMs) {
    process.stderr.write("usage: bun test/bench/load-client.ts '<LoadConfig JSON>'\n")
    process.exit(2)
  }
  try {
    const result = await run(cfg)
    process.stdout.write(`${JSON.stringify(result)}\n`)
    process.exit(0)
  } catch (err) {
    process.stderr.write(`load-client: ${(err as Error)?.stack ?? String(err)}\n`)
    process.exit(1)
  }
}
