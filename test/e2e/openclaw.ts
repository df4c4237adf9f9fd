/**
 * OpenClaw's own CLI (openclaw@2026.9.6 on Node 24), the reference client for wire compatibility. It is ~650 MB, so CI
 * does not install it: tests that drive it run where ../shared/tools/openclaw has installed it into its cache, or
 * where OPENCLAW_CLI points at an openclaw executable, and are skipped, visibly, elsewhere.
 */
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"

const cache = join(userInfo().homedir, ".cache", "gateway-dev")
export const OPENCLAW = process.env.OPENCLAW_CLI ?? join(cache, "openclaw", "node_modules", ".bin", "openclaw")
const nodeBin = join(cache, "node24", "node_modules", ".bin")

export const openclawAvailable = existsSync(OPENCLAW) && (!!process.env.OPENCLAW_CLI || existsSync(join(nodeBin, "node")))

/** One warning line for a test file whose OpenClaw cases are skipped here. */
export function warnIfOpenclawMissing(file: string): void {
  if (!openclawAvailable) console.warn(`${file}: OpenClaw CLI not installed (${OPENCLAW}); run ../shared/tools/openclaw --version once to enable`)
}

/** A fresh OpenClaw state directory, so runs never share or touch a real ~/.openclaw. */
export function openclawState(prefix = "openclaw-state-"): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** The environment the CLI runs with: its Node on PATH, its state (and HOME) in `state`, plus `extra`. */
export function openclawEnv(state: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${nodeBin}:${process.env.PATH}`, HOME: state, OPENCLAW_STATE_DIR: state, ...extra }
}

/**
 * Runs the CLI to completion. Async on purpose: a fake model server in the test process must keep answering while it
 * runs.
 */
export async function runOpenclaw(
  args: string[],
  opts: { state?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([OPENCLAW, ...args], {
    env: openclawEnv(opts.state ?? openclawState(), opts.env),
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 60_000,
  })
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  return { code, out, err }
}
