/** What the load scripts read about the gateway process from /proc (Linux): resident memory, its peak, fds, CPU time. */
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs"

const MB = 1024 * 1024

function statusKb(pid: number, key: string): number {
  const text = readFileSync(`/proc/${pid}/status`, "utf8")
  const m = new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)
  if (!m) throw new Error(`no ${key} in /proc/${pid}/status`)
  return Number(m[1])
}

/** Resident set size in MB (MiB). */
export const rssMB = (pid: number): number => round((statusKb(pid, "VmRSS") * 1024) / MB)

/** Peak resident set size since start or since the last resetPeak. */
export const peakRssMB = (pid: number): number => round((statusKb(pid, "VmHWM") * 1024) / MB)

/** Resets VmHWM to the current RSS (writing 5 to clear_refs), so a later peakRssMB is the peak of what came after. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5")
    return true
  } catch {
    return false
  }
}

/** Open file descriptors (sockets included). */
export const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length

/** Open descriptors by kind: sockets and pipes counted, files by path (a leaked file shows up by name). */
export function fdKinds(pid: number): { sockets: number; pipes: number; files: string[]; other: number } {
  const out = { sockets: 0, pipes: 0, files: [] as string[], other: 0 }
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`)
    } catch {
      continue
    }
    if (target.startsWith("socket:")) out.sockets++
    else if (target.startsWith("pipe:")) out.pipes++
    else if (target.startsWith("/")) out.files.push(target)
    else out.other++
  }
  out.files.sort()
  return out
}

/** user + system CPU time of the process (all threads) in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
}

export const round = (n: number, digits = 1): number => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : n)

/** Polls `check` every `everyMs` until it is true or `timeoutMs` passed; resolves to the time it took, or undefined. */
export async function timeUntil(check: () => boolean, timeoutMs: number, everyMs = 20): Promise<number | undefined> {
  const t0 = performance.now()
  for (;;) {
    if (check()) return round(performance.now() - t0)
    if (performance.now() - t0 > timeoutMs) return undefined
    await Bun.sleep(everyMs)
  }
}
