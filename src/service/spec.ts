/**
 * From command-line options to a concrete service: names (unit, label), scope, the program's argv, the state home,
 * the files involved and the environment the daemon gets. Pure except for existence checks.
 */
import { existsSync, readFileSync } from "node:fs"
import { homedir, tmpdir, userInfo } from "node:os"
import { dirname, join, resolve } from "node:path"
import { NamedError } from "../util/named-error.ts"
import { chooseBackend, type Backend, type Scope } from "./detect.ts"

/**
 * A service operation that cannot go ahead, with hints for the person (printed under the message) and a stable code
 * for --json (SERVICE_ERROR when none is given).
 */
export const ServiceError = NamedError.create("ServiceError", (z) =>
  z.object({ message: z.string(), hints: z.array(z.string()).optional(), code: z.string().optional() }),
)
export type ServiceError = InstanceType<typeof ServiceError>

export interface ServiceOptions {
  /** Default: launchd on macOS, systemd on Linux; env GATEWAY_SERVICE_BACKEND overrides. */
  backend?: Backend
  /** A system unit (/etc/systemd/system, needs root) instead of a user unit. */
  system?: boolean
  /** Force the user scope when both a user and a system unit exist. */
  user?: boolean
  /** System units: the account to run as (default `gateway`, created when missing). */
  userName?: string
  /** Unit name (default `gateway` → gateway.service; launchd label ai.gateway). */
  name?: string
  port?: number
  bind?: string
  /** Goes into the 0600 EnvironmentFile (systemd) or the 0600 config (launchd), never on a command line. */
  token?: string
  home?: string
  /** Stage an OS image under this directory: files only, no commands. */
  root?: string
  /** Executable for ExecStart/ProgramArguments and for --root copies (default: this binary). */
  binary?: string
  /** Copy the executable to ~/.local/bin (user) or /usr/local/bin (system) first and have the service run that copy. */
  copy?: boolean
  force?: boolean
  dryRun?: boolean
  env?: NodeJS.ProcessEnv
  platform?: NodeJS.Platform
  /** How long start/restart/install wait for the service to run and answer, in ms (default 15000; 0: no wait). */
  waitMs?: number
  /** RPC health probe after start and in status (default true). */
  probe?: boolean
  /** RPC probe timeout, ms (default 3000). */
  probeTimeoutMs?: number
  /** Log lines `status` shows (default 10). */
  logLines?: number
  /** Effective uid (tests). */
  uid?: number
}

export const DEFAULT_NAME = "gateway"
const DEFAULT_LABEL = "ai.gateway"

export function validateName(name: string): string {
  const n = name.replace(/\.service$/, "")
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(n)) {
    throw new ServiceError({ message: `--name must be letters, digits, '.', '_' or '-' (at most 64), got '${name}'`, code: "BAD_OPTION" })
  }
  return n
}

/** launchd label: a dotted name is used as is, `gateway` is ai.gateway, anything else ai.gateway.<name>. */
function launchdLabel(name: string): string {
  if (name.includes(".")) return name
  return name === DEFAULT_NAME ? DEFAULT_LABEL : `${DEFAULT_LABEL}.${name}`
}

export function validateUserName(user: string): string {
  if (!/^[a-z_][a-z0-9_-]{0,31}\$?$/i.test(user)) throw new ServiceError({ message: `--user-name is not a valid account name: '${user}'`, code: "BAD_OPTION" })
  return user
}

export function validatePort(port: number | undefined): number | undefined {
  if (port === undefined) return undefined
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new ServiceError({ message: `--port must be 1-65535 for a service, got '${port}'`, code: "BAD_OPTION" })
  return port
}

export function validateBind(bind: string | undefined): string | undefined {
  if (bind === undefined) return undefined
  if (!/^(loopback|localhost|lan|[0-9a-fA-F.:]+)$/.test(bind))
    throw new ServiceError({ message: `--bind must be loopback, lan or an IP address, got '${bind}'`, code: "BAD_OPTION" })
  return bind
}

/** True inside a `bun build --compile` binary (process.execPath is then the gateway itself, not bun). */
export function isCompiled(): boolean {
  return Bun.isStandaloneExecutable
}

/** argv[0..] that starts this gateway: the binary itself, or `bun <cli/index.ts>` when running from source. */
export function gatewayProgram(binary?: string): string[] {
  if (binary) return [resolve(binary)]
  return isCompiled() ? [process.execPath] : [process.execPath, resolve(Bun.main)]
}

/** Where `install --copy` puts the binary: a stable place a rebuild or a cleaned-up download folder never touches. */
export function copyDestination(scope: Scope, env: NodeJS.ProcessEnv = process.env): string {
  return scope === "system" ? "/usr/local/bin/gateway" : join(userHome(env), ".local", "bin", "gateway")
}

/**
 * The build or checkout folder `path` lies in (an ancestor holding .git or package.json), or the temp directory:
 * a service pointed there breaks on the next rebuild, `git clean` or reboot.
 */
export function buildFolderOf(path: string, exists: (p: string) => boolean = existsSync): string | undefined {
  const tmp = resolve(tmpdir())
  if (path.startsWith(`${tmp}/`)) return tmp
  let dir = dirname(resolve(path))
  while (dirname(dir) !== dir) {
    if (exists(join(dir, ".git")) || exists(join(dir, "package.json"))) return dir
    dir = dirname(dir)
  }
  return undefined
}

export function userHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME || homedir()
}

/** The login name of this process's user (os.userInfo, else /etc/passwd by uid, else $USER). */
export function currentUserName(env: NodeJS.ProcessEnv = process.env): string {
  try {
    const name = userInfo().username
    if (name && name !== "unknown") return name
  } catch {}
  const uid = process.getuid?.()
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = line.split(":")
      if (f.length > 2 && Number(f[2]) === uid && f[0]) return f[0]
    }
  } catch {}
  return env.USER || env.LOGNAME || String(uid ?? "")
}

/**
 * A fixed, minimal PATH for the daemon (a service never inherits the login shell's): the binary's own directory,
 * the user's bin directories that exist, then the system ones (Homebrew first on macOS).
 */
export function servicePath(o: { binaryDir?: string; home?: string; platform?: NodeJS.Platform; exists?: (p: string) => boolean }): string {
  const exists = o.exists ?? existsSync
  const dirs: string[] = []
  if (o.binaryDir) dirs.push(o.binaryDir)
  if (o.home) for (const d of [".local/bin", "bin", ".bun/bin"]) if (exists(join(o.home, d))) dirs.push(join(o.home, d))
  if (o.platform === "darwin") dirs.push("/opt/homebrew/bin", "/opt/homebrew/sbin")
  dirs.push("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
  // Never a relative directory or one under /proc (seen in some shells' PATH): the service's cwd is arbitrary.
  return [...new Set(dirs.filter((d) => d.startsWith("/") && !d.startsWith("/proc/") && !d.includes(":")))].join(":")
}

/** Where a service lives: enough for status, start, stop and uninstall. */
export interface ServiceLocation {
  backend: Backend
  scope: Scope
  name: string
  /** systemd: gateway.service; launchd: the label. */
  unit: string
  label: string
  /** The unit file or plist that install writes. */
  path: string
  /** Other places an installed unit may be (images put it under /usr/lib). */
  altPaths: string[]
  /** systemd: the EnvironmentFile. */
  envFile?: string
  /** The state home a fresh install would use. */
  defaultHome: string
}

/** The state home for `env` (like config/paths.ts resolveHome, but with HOME taken from `env`, not the process). */
function stateHome(home: string | undefined, env: NodeJS.ProcessEnv): string {
  const raw = home || env.GATEWAY_HOME || join(userHome(env), ".gateway")
  return resolve(raw.startsWith("~/") ? join(userHome(env), raw.slice(2)) : raw)
}

function configHome(env: NodeJS.ProcessEnv): string {
  return env.XDG_CONFIG_HOME || join(userHome(env), ".config")
}

function systemdLocation(name: string, scope: Scope, env: NodeJS.ProcessEnv, home?: string): ServiceLocation {
  const unit = `${name}.service`
  if (scope === "system") {
    return {
      backend: "systemd",
      scope,
      name,
      unit,
      label: launchdLabel(name),
      path: `/etc/systemd/system/${unit}`,
      altPaths: [`/usr/lib/systemd/system/${unit}`, `/lib/systemd/system/${unit}`],
      envFile: `/etc/gateway/${name}.env`,
      defaultHome: home ? resolve(home) : `/var/lib/${name}`,
    }
  }
  const cfg = configHome(env)
  return {
    backend: "systemd",
    scope,
    name,
    unit,
    label: launchdLabel(name),
    path: join(cfg, "systemd", "user", unit),
    altPaths: [`/usr/lib/systemd/user/${unit}`],
    envFile: join(cfg, "gateway", `${name}.env`),
    defaultHome: stateHome(home, env),
  }
}

function launchdLocation(name: string, env: NodeJS.ProcessEnv, home?: string): ServiceLocation {
  const label = launchdLabel(name)
  return {
    backend: "launchd",
    scope: "user",
    name,
    unit: label,
    label,
    path: join(userHome(env), "Library", "LaunchAgents", `${label}.plist`),
    altPaths: [],
    defaultHome: stateHome(home, env),
  }
}

/**
 * Which service the options mean. Without --system/--user: an existing user unit wins, then an existing system
 * unit, else the user scope (so `gateway status` and `uninstall` find what `install` or an image put there).
 */
export function locate(opts: ServiceOptions): ServiceLocation {
  const env = opts.env ?? process.env
  const name = validateName(opts.name ?? DEFAULT_NAME)
  const backend = opts.backend ?? chooseBackend(opts.platform, env)
  if (!backend) {
    throw new ServiceError({
      message: `no supported service manager on ${opts.platform ?? process.platform} (systemd on Linux, launchd on macOS)`,
      hints: ["Run the gateway in the foreground with `gateway run` under your own supervisor."],
    })
  }
  if (backend === "launchd") {
    if (opts.system)
      throw new ServiceError({ message: "--system is for systemd; on macOS the gateway installs as a LaunchAgent of your user", code: "BAD_OPTION" })
    return launchdLocation(name, env, opts.home)
  }
  if (opts.system && opts.user) throw new ServiceError({ message: "pass either --system or --user, not both", code: "BAD_OPTION" })
  if (opts.system) return systemdLocation(name, "system", env, opts.home)
  const user = systemdLocation(name, "user", env, opts.home)
  if (opts.user) return user
  if ([user.path, ...user.altPaths].some((p) => existsSync(p))) return user
  const system = systemdLocation(name, "system", env, opts.home)
  if ([system.path, ...system.altPaths].some((p) => existsSync(p))) return system
  return user
}
