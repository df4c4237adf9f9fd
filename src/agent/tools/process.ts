/**
 * Shell processes started by exec: spawning in their own process group (so a kill reaches every child), a rolling
 * output buffer, and the in-memory registry of backgrounded commands that the `process` tool manages
 * (list, poll, log, write, kill, remove). Finished sessions are kept for a while so their output can still be read.
 */
import type { Subprocess } from "bun"
import { readdirSync, readFileSync } from "node:fs"
import { z } from "zod"
import { timerDelay } from "../../util/timers.ts"
import { GATEWAY_SECRETS } from "./hook-env.ts"
import { defineTool, ToolError, type ToolDef } from "./tool.ts"

/** Characters of output kept in memory per process (a rolling tail). */
export const DEFAULT_MAX_BUFFER_CHARS = 200_000
/** Output characters returned by one exec result or poll. */
export const OUTPUT_RETURN_CHARS = 30_000

/** Text kept as a rolling tail; offsets are absolute (counted from the first character ever appended). */
export class OutputBuffer {
  private text = ""
  /** Characters dropped from the front to respect the cap. */
  dropped = 0

  constructor(readonly cap: number = DEFAULT_MAX_BUFFER_CHARS) {}

  append(s: string): void {
    if (!s) return
    this.text += s
    if (this.text.length > this.cap) {
      const cut = this.text.length - this.cap
      this.text = this.text.slice(cut)
      this.dropped += cut
    }
  }

  /** Absolute offset just past the last character. */
  get total(): number {
    return this.dropped + this.text.length
  }

  /** Everything still held. */
  get retained(): string {
    return this.text
  }

  /** Text from an absolute offset (clamped to what is still held). */
  since(offset: number): { text: string; lost: number } {
    const start = Math.max(offset, this.dropped)
    return { text: this.text.slice(start - this.dropped), lost: start - offset }
  }

  tail(chars: number): string {
    return this.text.length <= chars ? this.text : this.text.slice(-chars)
  }
}

export interface SpawnOptions {
  /** Run with `/bin/sh -c` unless argv is given; always the label the process tool shows. */
  command: string
  /** The exact words to run instead (an allowlisted command as the policy checked it, a sandbox wrapper). */
  argv?: string[]
  cwd: string
  /** The environment to start from instead of the gateway's own (the policy's scrubbed one). */
  baseEnv?: Record<string, string>
  /** Merged over the base environment. */
  env?: Record<string, string>
  /** Kill the process group after this long (0 or undefined: never). */
  timeoutMs?: number
  /** Keep stdin open for `write` (otherwise /dev/null, or `stdinText` then EOF). */
  interactiveStdin?: boolean
  stdinText?: string
  maxBufferChars?: number
  killGraceMs?: number
}

function childEnv(base: Record<string, string | undefined>, extra?: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !GATEWAY_SECRETS.includes(k)) env[k] = v
  return { ...env, ...extra }
}

/** Signals every process in a process group; false when none is left. */
function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    try {
      process.kill(pid, signal)
      return true
    } catch {
      return false
    }
  }
}

/** Whether any process of the group is still running (zombies, which nothing can kill, do not count). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
  } catch {
    return false
  }
  if (process.platform !== "linux") return true
  // kill(0) also succeeds for unreaped zombies (e.g. a container whose PID 1 does not reap): look at /proc.
  try {
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue
      let stat: string
      try {
        stat = readFileSync(`/proc/${name}/stat`, "utf8")
      } catch {
        continue
      }
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      if (Number(f[2]) === pgid && f[0] !== "Z" && f[0] !== "X") return true
    }
    return false
  } catch {
    return true
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** One command (`/bin/sh -c`, or exact words) in its own session and process group. */
export class ManagedProcess {
  readonly id = crypto.randomUUID().replaceAll("-", "").slice(0, 8)
  readonly command: string
  readonly cwd: string
  readonly pid: number
  readonly startedAt = Date.now()
  endedAt?: number
  exitCode: number | null = null
  signalCode: string | null = null
  timedOut = false
  /** Stopped by kill() (process tool, abort, shutdown). */
  killed = false
  /** Moved to the background (listed by the process tool). */
  backgrounded = false
  /** Absolute output offset up to which `poll` has returned output. */
  pollCursor = 0
  readonly output: OutputBuffer
  readonly stdout: OutputBuffer
  readonly stderr: OutputBuffer
  /** Resolves once the shell has exited and its output is read. */
  readonly done: Promise<void>

  private proc: Subprocess<"pipe" | "ignore", "pipe", "pipe">
  private timer?: Timer
  private listeners = new Set<() => void>()
  private readonly killGraceMs: number

  constructor(o: SpawnOptions) {
    this.command = o.command
    this.cwd = o.cwd
    this.killGraceMs = o.killGraceMs ?? 2000
    const cap = o.maxBufferChars ?? DEFAULT_MAX_BUFFER_CHARS
    this.output = new OutputBuffer(cap)
    this.stdout = new OutputBuffer(cap)
    this.stderr = new OutputBuffer(cap)
    const stdin = o.interactiveStdin || o.stdinText !== undefined ? "pipe" : "ignore"
    const proc = Bun.spawn(o.argv ?? ["/bin/sh", "-c", o.command], {
      cwd: o.cwd,
      env: childEnv(o.baseEnv ?? process.env, o.env),
      stdin,
      stdout: "pipe",
      stderr: "pipe",
      detached: true,
    }) as Subprocess<"pipe" | "ignore", "pipe", "pipe">
    this.proc = proc
    this.pid = proc.pid
    if (o.stdinText !== undefined) {
      this.write(o.stdinText)
      if (!o.interactiveStdin) this.closeStdin()
    }
    if (o.timeoutMs && o.timeoutMs > 0) {
      this.timer = setTimeout(() => {
        this.timedOut = true
        void this.kill()
      }, timerDelay(o.timeoutMs))
    }
    const readers = [proc.stdout.getReader(), proc.stderr.getReader()]
    const reads = [this.pump(readers[0]!, this.stdout), this.pump(readers[1]!, this.stderr)]
    this.done = (async () => {
      await proc.exited
      clearTimeout(this.timer)
      // Children that outlive the shell may hold the pipes open: stop reading shortly after the exit.
      await Promise.race([Promise.all(reads), sleep(300)])
      for (const r of readers) r.cancel().catch(() => {})
      this.exitCode = proc.exitCode
      this.signalCode = proc.signalCode == null ? null : String(proc.signalCode)
      this.endedAt = Date.now()
      this.notify()
    })()
  }

  private async pump(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }, own: OutputBuffer): Promise<void> {
    const decoder = new TextDecoder()
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        const s = decoder.decode(value, { stream: true })
        own.append(s)
        this.output.append(s)
        this.notify()
      }
      const rest = decoder.decode()
      own.append(rest)
      this.output.append(rest)
    } catch {
      // stream cancelled or errored: keep what we have
    }
  }

  get running(): boolean {
    return this.endedAt === undefined
  }

  /** Called on new output and on exit; returns an unsubscribe function. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private notify(): void {
    for (const fn of this.listeners) fn()
  }

  /** Resolves on new output, exit, or after ms. */
  waitForChange(ms: number): Promise<void> {
    if (!this.running || ms <= 0) return Promise.resolve()
    return new Promise((resolveWait) => {
      const off = this.onChange(() => finish())
      const t = setTimeout(() => finish(), ms)
      const finish = () => {
        off()
        clearTimeout(t)
        resolveWait()
      }
    })
  }

  /** Writes to stdin; false when stdin is not open. */
  write(data: string): boolean {
    const sink = this.proc.stdin as unknown as { write(d: string): number; flush(): unknown; end(): unknown } | undefined
    if (!sink || typeof sink.write !== "function" || !this.running) return false
    try {
      sink.write(data)
      sink.flush()
      return true
    } catch {
      return false
    }
  }

  closeStdin(): void {
    const sink = this.proc.stdin as unknown as { end(): unknown } | undefined
    try {
      sink?.end()
    } catch {}
  }

  /** SIGTERM to the whole process group, SIGKILL after the grace period if anything is left. */
  async kill(): Promise<void> {
    if (!this.timedOut) this.killed = true
    killGroup(this.pid, "SIGTERM")
    const deadline = Date.now() + this.killGraceMs
    while (Date.now() < deadline) {
      if (!this.running && !groupAlive(this.pid)) break
      await sleep(25)
    }
    if (groupAlive(this.pid) || this.running) killGroup(this.pid, "SIGKILL")
    await this.done
  }

  /** "running", "exited with code N", "killed by SIGTERM (timed out after …)" and so on. */
  statusText(): string {
    if (this.running) return `running for ${formatDuration(Date.now() - this.startedAt)}`
    const d = formatDuration((this.endedAt ?? Date.now()) - this.startedAt)
    if (this.timedOut) return `killed after timing out (${d})`
    if (this.killed) return `killed${this.signalCode ? ` by ${this.signalCode}` : ""} (${d})`
    if (this.signalCode) return `terminated by ${this.signalCode} (${d})`
    return `exited with code ${this.exitCode} (${d})`
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const m = Math.floor(ms / 60_000)
  return `${m}m${Math.round((ms % 60_000) / 1000)}s`
}

export interface ProcessRegistryOptions {
  maxBufferChars?: number
  /** Between SIGTERM and SIGKILL. */
  killGraceMs?: number
  /** Finished sessions are forgotten after this long (default 30 min). */
  finishedTtlMs?: number
  /** At most this many finished sessions are kept (default 50). */
  maxFinished?: number
}

/** Commands that run (or ran) in the background, per agent, in memory only. */
export class ProcessRegistry {
  private sessions = new Map<string, ManagedProcess>()

  constructor(readonly opts: ProcessRegistryOptions = {}) {}

  /** Starts a command (not yet listed; see add). */
  spawn(o: SpawnOptions): ManagedProcess {
    return new ManagedProcess({ maxBufferChars: this.opts.maxBufferChars, killGraceMs: this.opts.killGraceMs, ...o })
  }

  /** Lists a process so the process tool can reach it. */
  add(p: ManagedProcess): void {
    this.prune()
    this.sessions.set(p.id, p)
  }

  get(id: string): ManagedProcess | undefined {
    this.prune()
    return this.sessions.get(id)
  }

  list(): ManagedProcess[] {
    this.prune()
    return [...this.sessions.values()]
  }

  remove(id: string): boolean {
    return this.sessions.delete(id)
  }

  /** Kills every running process (gateway shutdown). */
  async killAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].filter((p) => p.running).map((p) => p.kill()))
  }

  private prune(): void {
    const ttl = this.opts.finishedTtlMs ?? 30 * 60_000
    const now = Date.now()
    const finished = [...this.sessions.values()].filter((p) => !p.running)
    for (const p of finished) if (now - (p.endedAt ?? now) > ttl) this.sessions.delete(p.id)
    const left = finished.filter((p) => this.sessions.has(p.id)).sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0))
    const max = this.opts.maxFinished ?? 50
    for (const p of left.slice(0, Math.max(0, left.length - max))) this.sessions.delete(p.id)
  }
}

/** The tail of a text, with a marker saying what was left out. */
export function tailWithNote(text: string, max: number, lostBefore = 0): string {
  const omitted = Math.max(0, text.length - max) + lostBefore
  const shown = text.length > max ? text.slice(-max) : text
  return omitted > 0 ? `[... ${omitted} earlier characters omitted ...]\n${shown}` : shown
}

const ProcessParams = z.object({
  action: z
    .enum(["list", "poll", "log", "write", "kill", "remove"])
    .describe(
      "list: all background sessions; poll: new output since the last poll plus the status; log: retained output by line; write: send text to stdin; kill: stop it (SIGTERM, then SIGKILL); remove: forget a finished session",
    ),
  sessionId: z.string().optional().describe("The sessionId exec returned (required for every action except list)"),
  data: z.string().optional().describe("write: the text to send to stdin, verbatim (include \\n to end a line)"),
  eof: z.boolean().optional().describe("write: close stdin after writing (the program sees end of input)"),
  offset: z.number().int().min(0).optional().describe("log: first line to return, 0-based (default: the last `limit` lines)"),
  limit: z.number().int().min(1).max(2000).optional().describe("log: how many lines to return (default 200)"),
  waitMs: z.number().int().min(0).max(60_000).optional().describe("poll: wait up to this many ms for new output or the exit before answering (default 0)"),
})

export function createProcessTool(registry: ProcessRegistry): ToolDef<typeof ProcessParams> {
  const need = (id: string | undefined, action: string): ManagedProcess => {
    if (!id) throw new ToolError({ message: `process action "${action}" needs a sessionId. Call process with action "list" to see the sessions.` })
    const p = registry.get(id)
    if (!p) {
      const ids = registry.list().map((s) => s.id)
      throw new ToolError({
        message: `No process session "${id}" (known: ${ids.length ? ids.join(", ") : "none"}). Finished sessions are forgotten after 30 minutes.`,
      })
    }
    return p
  }
  return defineTool({
    name: "process",
    description: [
      "Manage shell commands that exec moved to the background (long-running builds, servers, interactive programs).",
      "Actions: list; poll (new output since the last poll and whether it finished; waitMs waits for progress); log (the retained output by line, offset/limit);",
      "write (send `data` to the program's stdin; eof closes stdin); kill (SIGTERM then SIGKILL to the command and its children); remove (forget a finished session).",
    ].join("\n"),
    parameters: ProcessParams,
    async execute(args) {
      switch (args.action) {
        case "list": {
          const all = registry.list()
          if (!all.length) return { output: "No background processes." }
          const lines = all.map(
            (p) => `${p.id}  pid ${p.pid}  ${p.statusText()}  cwd ${p.cwd}\n    ${p.command.length > 200 ? `${p.command.slice(0, 200)}…` : p.command}`,
          )
          return { output: lines.join("\n"), meta: { sessions: all.map((p) => ({ sessionId: p.id, pid: p.pid, running: p.running, exitCode: p.exitCode })) } }
        }
        case "poll": {
          const p = need(args.sessionId, "poll")
          if (args.waitMs && p.running && p.output.total === p.pollCursor) await p.waitForChange(args.waitMs)
          const { text, lost } = p.output.since(p.pollCursor)
          p.pollCursor = p.output.total
          const body = text ? tailWithNote(text, OUTPUT_RETURN_CHARS, lost).replace(/\n$/, "") : "(no new output)"
          return {
            output: `status: ${p.statusText()}\n${body}`,
            meta: { sessionId: p.id, running: p.running, exitCode: p.exitCode, timedOut: p.timedOut },
          }
        }
        case "log": {
          const p = need(args.sessionId, "log")
          const lines = p.output.retained.split("\n")
          if (lines.at(-1) === "") lines.pop()
          const limit = args.limit ?? 200
          const start = args.offset ?? Math.max(0, lines.length - limit)
          if (start > lines.length)
            throw new ToolError({ message: `offset ${start} is past the end of the log (${lines.length} lines). Use an offset below ${lines.length}.` })
          const slice = lines.slice(start, start + limit)
          const head = `status: ${p.statusText()}; lines ${start}-${start + slice.length - 1} of ${lines.length}${p.output.dropped ? ` (the first ${p.output.dropped} characters of output were dropped)` : ""}`
          const more = start + slice.length < lines.length ? `\n[more lines follow: use offset ${start + slice.length}]` : ""
          return { output: `${head}\n${slice.join("\n")}${more}` }
        }
        case "write": {
          const p = need(args.sessionId, "write")
          if (args.data === undefined && !args.eof)
            throw new ToolError({ message: 'process write needs `data` (the text to send; add "\\n" to end a line) or eof: true.' })
          if (!p.running) throw new ToolError({ message: `Process ${p.id} is not running (${p.statusText()}); nothing can be written to it.` })
          if (args.data !== undefined && !p.write(args.data))
            throw new ToolError({ message: `Could not write to the stdin of process ${p.id} (the program closed it).` })
          if (args.eof) p.closeStdin()
          return { output: `Wrote ${args.data?.length ?? 0} characters to ${p.id}${args.eof ? " and closed stdin" : ""}. Use poll to see the response.` }
        }
        case "kill": {
          const p = need(args.sessionId, "kill")
          if (!p.running) return { output: `Process ${p.id} already finished: ${p.statusText()}.` }
          await p.kill()
          return { output: `Process ${p.id} ${p.statusText()}.` }
        }
        case "remove": {
          const p = need(args.sessionId, "remove")
          if (p.running) throw new ToolError({ message: `Process ${p.id} is still running; kill it first.` })
          registry.remove(p.id)
          return { output: `Removed ${p.id}.` }
        }
      }
    },
  })
}
