/**
 * tools.exec.sandbox "bwrap": the bubblewrap command line that confines a command. The system is bound read-only,
 * the roots and the commands' HOME read-write, /tmp, /dev and /proc are private, the state home (token, database,
 * config) and the user's home are hidden (PATH directories under the home come back read-only so installed tools
 * still run), daemon sockets that reach outside (docker, D-Bus, the user's systemd) are masked, and the network is
 * unshared unless tools.exec.sandboxNetwork. The sandbox dies with the gateway's process and with its kill.
 */
import { existsSync } from "node:fs"
import { isAbsolute, relative, sep } from "node:path"
import { ToolError } from "./tool.ts"

export interface SandboxSpec {
  /** Writable, symlinks resolved. */
  roots: string[]
  home: string
  cwd: string
  network: boolean
  /** Directories replaced by an empty tmpfs (the roots and HOME are bound back inside them). */
  hide: string[]
  /** The command's PATH: its directories under a hidden one are bound back read-only. */
  path?: string
}

/** Unix sockets a sandboxed command could use to leave the sandbox (a daemon runs what it is asked to). */
const MASKED_SOCKETS = [
  "/run/docker.sock",
  "/var/run/docker.sock",
  "/run/containerd/containerd.sock",
  "/run/podman/podman.sock",
  "/run/dbus/system_bus_socket",
  "/var/run/dbus/system_bus_socket",
]

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child)
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel))
}

const MISSING =
  'tools.exec.sandbox is "bwrap" but bwrap (bubblewrap) is not installed on this host, so no command can run. Install it (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap; Arch: pacman -S bubblewrap) or set tools.exec.sandbox to "off".'

/** The words to put before a command's own argv. Throws a ToolError naming tools.exec.sandbox when bwrap is missing. */
export function bwrapArgv(spec: SandboxSpec, which: (name: string) => string | null = (n) => Bun.which(n)): string[] {
  const bwrap = which("bwrap")
  if (!bwrap) throw new ToolError({ message: MISSING })
  const args = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
  if (!spec.network) args.push("--unshare-net")
  // As root, a process in the sandbox could otherwise remount its way out.
  if (process.getuid?.() === 0) args.push("--cap-drop", "ALL")
  args.push("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp")
  const uid = process.getuid?.()
  const hide = [...spec.hide, ...(uid !== undefined ? [`/run/user/${uid}`] : [])].filter((d) => existsSync(d))
  for (const dir of hide) args.push("--tmpfs", dir)
  for (const sock of MASKED_SOCKETS) if (existsSync(sock)) args.push("--ro-bind", "/dev/null", sock)
  const pathDirs = (spec.path ?? "").split(":").filter((d) => isAbsolute(d) && existsSync(d) && hide.some((h) => isInside(d, h)))
  for (const d of pathDirs) args.push("--ro-bind", d, d)
  for (const dir of [...new Set([spec.home, ...spec.roots])].filter((d) => existsSync(d))) args.push("--bind", dir, dir)
  args.push("--chdir", spec.cwd, "--")
  return args
}
