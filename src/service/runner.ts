/**
 * How service code touches the machine: a `Runner` runs one argv and returns its output, and a `Host` wraps the
 * runner and the few file operations installers need. Every effect is recorded as an `Action`, so `--dry-run`
 * (record, do nothing), `--json` (report what was done) and tests (a recorder instead of real commands) share one
 * code path.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export interface RunOptions {
  /** Extra environment for this command (merged over the runner's). */
  env?: Record<string, string>
  /** A query that changes nothing: dry runs still execute it, so the plan they print matches the machine. */
  readOnly?: boolean
  timeoutMs?: number
}

/** argv → {code, stdout, stderr}. A missing program is code 127, never a throw. */
export interface Runner {
  run(argv: string[], opts?: RunOptions): Promise<RunResult>
}

/** Runs commands for real, resolving argv[0] on the PATH of `env` (so tests can put recorders first on PATH). */
export function spawnRunner(env: NodeJS.ProcessEnv = process.env): Runner {
  return {
    async run(argv, opts = {}) {
      const merged = { ...env, ...opts.env } as Record<string, string>
      const exe = argv[0]!.includes("/") ? argv[0]! : Bun.which(argv[0]!, { PATH: merged.PATH ?? "" })
      if (!exe) return { code: 127, stdout: "", stderr: `${argv[0]}: command not found` }
      try {
        const proc = Bun.spawn([exe, ...argv.slice(1)], { env: merged, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
        const timer = opts.timeoutMs ? setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs) : undefined
        const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
        clearTimeout(timer)
        return { code, stdout, stderr }
      } catch (err) {
        return { code: 127, stdout: "", stderr: `${argv[0]}: ${(err as Error).message}` }
      }
    },
  }
}

export interface RecordedCall {
  argv: string[]
  env?: Record<string, string>
}

/**
 * A runner for tests: records every argv and answers from `respond` (default: success, no output). A response can
 * be a function of the argv, so tests can script `is-active` → "active" and the like.
 */
export class RecordingRunner implements Runner {
  readonly calls: RecordedCall[] = []
  constructor(private respond: (argv: string[]) => Partial<RunResult> | undefined = () => undefined) {}
  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ argv: [...argv], env: opts.env })
    const r = this.respond(argv) ?? {}
    return { code: r.code ?? 0, stdout: r.stdout ?? "", stderr: r.stderr ?? "" }
  }
  /** The recorded argvs, space-joined: convenient for exact assertions. */
  get lines(): string[] {
    return this.calls.map((c) => c.argv.join(" "))
  }
}

export type Action =
  | { kind: "mkdir"; path: string; mode: number }
  | { kind: "write"; path: string; mode: number; content: string; redacted: boolean }
  | { kind: "copy"; from: string; path: string; mode: number }
  | { kind: "remove"; path: string }
  | { kind: "run"; argv: string[]; readOnly: boolean; code?: number; stderr?: string }

/** Where effects go: performed and recorded, or (dry run) only recorded. */
export class Host {
  readonly actions: Action[] = []
  readonly notes: string[] = []
  readonly warnings: string[] = []
  /** Dry runs: paths that would exist / would be gone by now, so later steps plan against the planned state. */
  private planned = new Map<string, boolean>()

  constructor(
    readonly runner: Runner,
    readonly dryRun = false,
  ) {}

  /** Runs argv (a dry run only runs read-only queries and pretends everything else succeeded). */
  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    const readOnly = opts.readOnly ?? false
    if (this.dryRun && !readOnly) {
      this.actions.push({ kind: "run", argv, readOnly })
      return { code: 0, stdout: "", stderr: "" }
    }
    const r = await this.runner.run(argv, opts)
    this.actions.push({ kind: "run", argv, readOnly, code: r.code, ...(r.code !== 0 && r.stderr.trim() ? { stderr: r.stderr.trim() } : {}) })
    return r
  }

  exists(path: string): boolean {
    return this.planned.get(path) ?? existsSync(path)
  }

  read(path: string): string | undefined {
    if (this.planned.get(path) === false) return undefined
    try {
      return readFileSync(path, "utf8")
    } catch {
      return undefined
    }
  }

  mkdir(path: string, mode: number): void {
    if (this.exists(path)) return
    this.actions.push({ kind: "mkdir", path, mode })
    if (this.dryRun) this.planned.set(path, true)
    else {
      mkdirSync(path, { recursive: true, mode })
      chmodSync(path, mode)
    }
  }

  /**
   * Writes atomically (temp file + rename) with exactly `mode`, creating the parent (0755) when missing.
   * `secrets` are masked in the recorded content, so dry-run and --json output never print them.
   */
  write(path: string, content: string, mode: number, secrets: string[] = []): void {
    let shown = content
    for (const s of secrets) if (s) shown = shown.split(s).join("<redacted>")
    const parent = dirname(path)
    if (!this.exists(parent)) this.mkdir(parent, 0o755)
    this.actions.push({ kind: "write", path, mode, content: shown, redacted: shown !== content })
    if (this.dryRun) return void this.planned.set(path, true)
    const tmp = `${path}.tmp-${process.pid}`
    writeFileSync(tmp, content, { mode })
    chmodSync(tmp, mode)
    renameSync(tmp, path)
  }

  copy(from: string, to: string, mode: number): void {
    const parent = dirname(to)
    if (!this.exists(parent)) this.mkdir(parent, 0o755)
    this.actions.push({ kind: "copy", from, path: to, mode })
    if (this.dryRun) return void this.planned.set(to, true)
    const tmp = `${to}.tmp-${process.pid}`
    copyFileSync(from, tmp)
    chmodSync(tmp, mode)
    renameSync(tmp, to)
  }

  remove(path: string): void {
    if (!this.exists(path)) return
    this.actions.push({ kind: "remove", path })
    if (this.dryRun) this.planned.set(path, false)
    else rmSync(path, { force: true, recursive: statSync(path).isDirectory() })
  }

  note(message: string): void {
    this.notes.push(message)
  }

  warn(message: string): void {
    this.warnings.push(message)
  }
}
