/**
 * `gateway update`: fetch this platform's release binary and SHA256SUMS, verify, smoke-test `<new> --version`, rename
 * it over the running binary (atomic; the running process keeps its old file), then restart an installed service.
 * Every step before the rename leaves the old binary untouched; the staged file is always removed.
 */
import { accessSync, chmodSync, constants, copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs"
import { homedir } from "node:os"
import { basename, dirname, join } from "node:path"
import { VERSION } from "../version.ts"
import { downloadTo, fetchText } from "./download.ts"
import { UpdateError } from "./errors.ts"
import { assetName, isRosetta, resolveBaseUrl } from "./platform.ts"
import { detectServices, restartService, type RestartOutcome, type ServiceInfo } from "./service.ts"
import { assertSum, expectedSum, sha256File } from "./sums.ts"

export { UpdateError, type UpdateErrorCode } from "./errors.ts"
export { DEFAULT_BASE_URL, assetName, resolveBaseUrl } from "./platform.ts"
export { detectServices, type ServiceInfo, type ServiceProbe } from "./service.ts"
export { expectedSum, parseSums } from "./sums.ts"

export interface UpdateOptions {
  /** Release location (else GATEWAY_INSTALL_BASE_URL, else the default). */
  baseUrl?: string
  /** A local binary instead of a download. */
  binary?: string
  /** SHA256SUMS for `binary` (looked up by the binary's file name); without it the local binary is not verified. */
  sums?: string
  /** Only compare the release's checksum with the current binary; download nothing but SHA256SUMS. */
  check?: boolean
  /** Download, verify and smoke-test, then stop: replace nothing, restart nothing. */
  dryRun?: boolean
  /** The binary to replace (default process.execPath, which must be a compiled gateway). */
  execPath?: string
  platform?: string
  arch?: string
  env?: Record<string, string | undefined>
  /** Progress lines for people (the CLI sends them to stderr). */
  log?: (line: string) => void
  /** Installed services to restart (default: detected). */
  services?: ServiceInfo[]
  restart?: (s: ServiceInfo) => RestartOutcome
}

export interface ServiceResult extends ServiceInfo {
  /** null: not attempted (--dry-run, --check, nothing changed). */
  restarted: boolean | null
  error?: string
}

export interface UpdateResult {
  /** false only when the binary was replaced but a service restart failed. */
  ok: boolean
  action: "updated" | "up-to-date" | "update-available" | "would-update"
  path: string
  /** Where the new binary came from: a URL or a local file. */
  source: string
  /** Whether the new binary's checksum was verified against SHA256SUMS. */
  verified: boolean
  current: { version: string; sha256: string }
  next: { version?: string; sha256: string }
  services: ServiceResult[]
}

function probeServices(execPath: string, env: Record<string, string | undefined>, platform: string): ServiceInfo[] {
  return detectServices({
    platform,
    home: env.HOME || homedir(),
    uid: process.getuid?.() ?? 0,
    env,
    execPath,
    exists: existsSync,
    listDir: (d) => readdirSync(d),
    readFile: (f) => readFileSync(f, "utf8"),
  })
}

/** Runs `<file> --version` (never as the bun CLI) and returns the version it prints. */
async function smokeTest(file: string, env: Record<string, string | undefined> = process.env): Promise<string> {
  const { BUN_BE_BUN: _drop, ...clean } = env
  let out = ""
  let code: number | null = null
  try {
    const proc = Bun.spawn([file, "--version"], { stdout: "pipe", stderr: "pipe", env: clean, timeout: 60_000 })
    ;[out] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
    code = await proc.exited
  } catch (err) {
    throw new UpdateError({ code: "SMOKE_TEST_FAILED", message: `the new binary does not run on this system: ${(err as Error).message}` })
  }
  const version = out.trim().split("\n")[0] ?? ""
  if (code !== 0 || !/^\d+\.\d+\.\d+/.test(version)) {
    throw new UpdateError({
      code: "SMOKE_TEST_FAILED",
      message: `the new binary does not run on this system ('--version' exited ${code}${version ? `: ${version}` : ""})`,
    })
  }
  return version
}

function assertWritableDir(dir: string): void {
  try {
    accessSync(dir, constants.W_OK)
  } catch {
    throw new UpdateError({ code: "NOT_WRITABLE", message: `cannot write to ${dir}, where the binary lives: run the update as its owner (e.g. with sudo)` })
  }
}

export async function runUpdate(opts: UpdateOptions = {}): Promise<UpdateResult> {
  const env = opts.env ?? process.env
  const log = opts.log ?? (() => {})
  const platform = opts.platform ?? process.platform
  const arch = opts.arch ?? process.arch
  if (opts.sums && !opts.binary) throw new UpdateError({ code: "BAD_ARGS", message: "--sums only goes with --binary" })
  if (!opts.execPath && !Bun.isStandaloneExecutable) {
    throw new UpdateError({ code: "NOT_COMPILED", message: "gateway update replaces the compiled gateway binary; this one runs from source under bun" })
  }
  const execPath = opts.execPath ?? process.execPath
  const currentSha = await sha256File(execPath)
  const current = { version: VERSION, sha256: currentSha }

  // Where the new binary comes from, and the checksum it must have (undefined: a local file without --sums).
  let source: string
  let name: string
  let expected: string | undefined
  if (opts.binary) {
    if (!existsSync(opts.binary)) throw new UpdateError({ code: "BAD_ARGS", message: `--binary: no such file: ${opts.binary}` })
    source = opts.binary
    name = basename(opts.binary)
    if (opts.sums) expected = expectedSum(readFileSync(opts.sums, "utf8"), name)
    else log(`note: no --sums given, so the checksum of ${opts.binary} is not verified`)
  } else {
    const baseUrl = resolveBaseUrl(opts.baseUrl, env)
    name = assetName(platform, arch, { rosetta: isRosetta(platform) })
    source = `${baseUrl}/${name}`
    log(`checking ${baseUrl}/SHA256SUMS`)
    expected = expectedSum(await fetchText(`${baseUrl}/SHA256SUMS`), name)
  }
  const verified = expected !== undefined
  const services = (): ServiceResult[] => (opts.services ?? probeServices(execPath, env, platform)).map((s) => ({ ...s, restarted: null }))

  if (opts.check) {
    const nextSha = expected ?? (await sha256File(source))
    const action = nextSha === currentSha ? "up-to-date" : "update-available"
    return { ok: true, action, path: execPath, source, verified, current, next: { sha256: nextSha }, services: services() }
  }
  if (expected === currentSha) {
    return { ok: true, action: "up-to-date", path: execPath, source, verified, current, next: { version: VERSION, sha256: expected }, services: services() }
  }

  // Stage next to the binary so the final rename stays on one file system (atomic).
  const dir = dirname(execPath)
  assertWritableDir(dir)
  const staged = join(dir, `.${basename(execPath)}.update.${process.pid}`)
  const onSignal = () => {
    rmSync(staged, { force: true })
    process.exit(130)
  }
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  try {
    rmSync(staged, { force: true })
    let nextSha: string
    if (opts.binary) {
      copyFileSync(opts.binary, staged)
      nextSha = await sha256File(staged)
    } else {
      log(`downloading ${source}`)
      nextSha = (await downloadTo(source, staged)).sha256
    }
    if (expected) {
      assertSum(name, expected, nextSha)
      log(`checksum ok (${name})`)
    }
    if (nextSha === currentSha) {
      return { ok: true, action: "up-to-date", path: execPath, source, verified, current, next: { version: VERSION, sha256: nextSha }, services: services() }
    }
    chmodSync(staged, 0o755)
    const nextVersion = await smokeTest(staged, env)
    log(`new binary runs: ${nextVersion}`)
    const next = { version: nextVersion, sha256: nextSha }
    if (opts.dryRun) {
      return { ok: true, action: "would-update", path: execPath, source, verified, current, next, services: services() }
    }
    try {
      renameSync(staged, execPath)
    } catch (err) {
      throw new UpdateError({ code: "REPLACE_FAILED", message: `could not replace ${execPath}: ${(err as Error).message}` })
    }
    const restart = opts.restart ?? ((s: ServiceInfo) => restartService(s, env))
    const results: ServiceResult[] = services().map((s) => {
      log(`restarting the ${s.kind} service: ${s.restart.join(" ")}`)
      const r = restart(s)
      return r.ok ? { ...s, restarted: true } : { ...s, restarted: false, error: r.output || `exit ${r.code}` }
    })
    return { ok: results.every((s) => s.restarted), action: "updated", path: execPath, source, verified, current, next, services: results }
  } finally {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    rmSync(staged, { force: true })
  }
}
