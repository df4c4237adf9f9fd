/**
 * The daemon's logger: one JSON object per line in the log file (read back by logs.tail) and a readable line on
 * stderr. Writes are synchronous so a crash never loses the line that explains it; volume is low.
 */
import { closeSync, mkdirSync, openSync, renameSync, statSync, writeSync } from "node:fs"
import { dirname } from "node:path"
import { scrubSecrets } from "./secrets.ts"

export type LogLevel = "debug" | "info" | "warn" | "error"
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface LogSink {
  file?: string
  maxFileBytes: number
  level: LogLevel
  console: "pretty" | "json" | "off"
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(subsystem: string): Logger
}

class LogWriter {
  private fd: number | undefined
  private size = 0
  /** Values that must never reach a log line (tokens, keys, header values): replaced by the redaction marker. */
  secrets: readonly string[] = []

  constructor(public sink: LogSink) {
    this.open()
  }

  private open(): void {
    if (!this.sink.file) return
    try {
      mkdirSync(dirname(this.sink.file), { recursive: true, mode: 0o700 })
      this.fd = openSync(this.sink.file, "a", 0o600)
      this.size = statSync(this.sink.file).size
    } catch (err) {
      process.stderr.write(`log: cannot open ${this.sink.file}: ${(err as Error).message}\n`)
      this.fd = undefined
    }
  }

  reconfigure(sink: LogSink): void {
    const reopen = sink.file !== this.sink.file
    this.sink = sink
    if (reopen) {
      this.close()
      this.open()
    }
  }

  write(level: LogLevel, subsystem: string, message: string, fields?: Record<string, unknown>): void {
    if (RANK[level] < RANK[this.sink.level]) return
    const time = new Date().toISOString()
    const record = { time, level, subsystem, message, ...fields }
    const line = scrubSecrets(`${JSON.stringify(record)}\n`, this.secrets)
    if (this.fd !== undefined) {
      try {
        if (this.size + line.length > this.sink.maxFileBytes) this.rotate()
        this.size += writeSync(this.fd, line)
      } catch {
        // A full disk must not take the gateway down; the console still gets the line.
      }
    }
    if (this.sink.console === "json") process.stderr.write(line)
    else if (this.sink.console === "pretty") {
      const extra = fields && Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : ""
      process.stderr.write(scrubSecrets(`${time} ${level.toUpperCase().padEnd(5)} [${subsystem}] ${message}${extra}\n`, this.secrets))
    }
  }

  private rotate(): void {
    if (!this.sink.file || this.fd === undefined) return
    closeSync(this.fd)
    renameSync(this.sink.file, `${this.sink.file}.1`)
    this.fd = openSync(this.sink.file, "a", 0o600)
    this.size = 0
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }
}

export interface RootLogger extends Logger {
  reconfigure(sink: LogSink): void
  /** Secrets to mask in every line from now on (the gateway passes its token and the config's secret values). */
  setSecrets(secrets: readonly string[]): void
  close(): void
  readonly file: string | undefined
}

export function createLogger(sink: LogSink): RootLogger {
  const writer = new LogWriter(sink)
  const make = (subsystem: string): Logger => ({
    debug: (m, f) => writer.write("debug", subsystem, m, f),
    info: (m, f) => writer.write("info", subsystem, m, f),
    warn: (m, f) => writer.write("warn", subsystem, m, f),
    error: (m, f) => writer.write("error", subsystem, m, f),
    child: (s) => make(s),
  })
  return Object.assign(make("gateway"), {
    reconfigure: (s: LogSink) => writer.reconfigure(s),
    setSecrets: (secrets: readonly string[]) => {
      writer.secrets = secrets
    },
    close: () => writer.close(),
    get file() {
      return writer.sink.file
    },
  })
}
