/**
 * Install hints (metadata install: brew, apt, node/npm, go, uv) as the exact command they stand for. They are shown in
 * skills.status and run only when an operator asks for one by id (`gateway skills install-deps <name> --yes`);
 * `download` hints are never run, only shown.
 */
import type { InstallSpec } from "./frontmatter.ts"

/** argv of the install hint, or undefined for kinds that are only shown (download). */
export function installCommand(spec: InstallSpec): string[] | undefined {
  switch (spec.kind) {
    case "brew":
      return spec.cask ? ["brew", "install", "--cask", spec.cask] : spec.formula ? ["brew", "install", spec.formula] : undefined
    case "apt":
      return spec.package ? ["apt-get", "install", "-y", spec.package] : undefined
    case "node":
    case "npm":
      return spec.package ? ["npm", "install", "-g", spec.package] : undefined
    case "go":
      return spec.module ? ["go", "install", spec.module.includes("@") ? spec.module : `${spec.module}@latest`] : undefined
    case "uv":
      return spec.package ? ["uv", "tool", "install", spec.package] : undefined
    default:
      return undefined
  }
}

/** Shell-quoted for display, so what is printed is exactly what runs. */
export function showCommand(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ")
}

export interface DepsRun {
  command: string[]
  exitCode: number | null
  stdout: string
  stderr: string
}

/** Runs the hint's command (no shell), capped in time and output. */
export async function runInstallCommand(argv: string[], timeoutMs: number, env: NodeJS.ProcessEnv): Promise<DepsRun> {
  if (!Bun.which(argv[0]!, { PATH: env.PATH ?? "" })) return { command: argv, exitCode: null, stdout: "", stderr: `${argv[0]} is not installed (not on PATH)` }
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: env as Record<string, string> })
  const timer = setTimeout(() => proc.kill(), timeoutMs)
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  const cap = (s: string) => (s.length > 20_000 ? `…${s.slice(-20_000)}` : s)
  return { command: argv, exitCode, stdout: cap(stdout), stderr: cap(stderr) }
}
