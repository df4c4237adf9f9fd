/** Which release artefact fits this machine, and where releases live. Mirrors the detection in install/install.sh. */
import { UpdateError } from "./errors.ts"

/** The default release location; install/install.sh spells the same URL in DEFAULT_BASE_URL (a test keeps them equal). */
export const DEFAULT_BASE_URL = "https://github.com/OWNER/gateway/releases/latest/download"

/** --base-url, else GATEWAY_INSTALL_BASE_URL, else the default; without a trailing slash. */
export function resolveBaseUrl(flag: string | undefined, env: Record<string, string | undefined> = process.env): string {
  const url = (flag || env.GATEWAY_INSTALL_BASE_URL || DEFAULT_BASE_URL).replace(/\/+$/, "")
  if (!/^https?:\/\//.test(url)) throw new UpdateError({ code: "BAD_BASE_URL", message: `base URL must be http(s)://…, got '${url}'` })
  return url
}

/**
 * The artefact name for a platform/arch pair as Node reports them (`process.platform`, `process.arch`), e.g.
 * "gateway-linux-x64". Under Rosetta 2 an x64 process on Apple silicon gets the native arm64 build.
 */
export function assetName(platform: string, arch: string, opts: { rosetta?: boolean } = {}): string {
  const os = platform === "linux" || platform === "darwin" ? platform : undefined
  if (!os)
    throw new UpdateError({ code: "UNSUPPORTED_PLATFORM", message: `no release build for operating system '${platform}' (there are linux and darwin builds)` })
  let a = arch === "x64" || arch === "x86_64" || arch === "amd64" ? "x64" : arch === "arm64" || arch === "aarch64" ? "arm64" : undefined
  if (!a) throw new UpdateError({ code: "UNSUPPORTED_PLATFORM", message: `no release build for architecture '${arch}' (there are x64 and arm64 builds)` })
  if (os === "darwin" && a === "x64" && opts.rosetta) a = "arm64"
  return `gateway-${os}-${a}`
}

/** True when this process is an x64 process translated by Rosetta 2 (macOS only; false everywhere else). */
export function isRosetta(platform: string = process.platform): boolean {
  if (platform !== "darwin") return false
  const r = Bun.spawnSync(["sysctl", "-n", "sysctl.proc_translated"], { stdout: "pipe", stderr: "ignore" })
  return r.exitCode === 0 && r.stdout.toString().trim() === "1"
}
