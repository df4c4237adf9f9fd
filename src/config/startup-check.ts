/**
 * Would `gateway run` start with this config? The checks start-up makes before it binds the port (bind address,
 * auth and its minimum secret lengths, a privileged port), run without side effects, so `config set`,
 * `config.patch`, hot reload and SIGUSR1 can refuse or warn before a restart turns into a service that stays down.
 */
import { readFileSync } from "node:fs"
import { networkInterfaces } from "node:os"
import { NamedError } from "../util/named-error.ts"
import { planAuth, resolveBind, StartupRefusal, type ResolvedBind } from "./auth.ts"
import type { Config } from "./schema.ts"

export interface StartupProblem {
  /** The config key to change, e.g. gateway.auth.mode. */
  path: string
  message: string
}

/** A config write refused because the next start would fail; its message says why, as start-up would. */
export const ConfigWouldNotStart = NamedError.create(
  "ConfigWouldNotStart",
  (z) => z.object({ problems: z.array(z.object({ path: z.string(), message: z.string() })) }),
  (d) => `not saved: the next start would fail with: ${d.problems[0]?.message ?? "an unknown problem"}`,
)
export type ConfigWouldNotStart = InstanceType<typeof ConfigWouldNotStart>

export interface HostFacts {
  /** Effective uid (undefined where there is none, e.g. Windows). */
  uid?: number
  /** Addresses of this machine's interfaces. */
  addresses: string[]
  /** Lowest port an unprivileged process may bind (Linux sysctl; 1024 elsewhere). */
  unprivilegedPortStart: number
}

export function hostFacts(): HostFacts {
  const addresses = Object.values(networkInterfaces())
    .flat()
    .map((i) => i?.address)
    .filter((a): a is string => !!a)
  let unprivilegedPortStart = 1024
  try {
    unprivilegedPortStart = Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim()) || 1024
  } catch {
    // Not Linux, or no procfs: the traditional limit.
  }
  return { uid: process.getuid?.(), addresses, unprivilegedPortStart }
}

const WILDCARDS = new Set(["0.0.0.0", "::"])

/** Everything that would make start-up refuse `config` (with flag and environment overrides already applied). */
export function startupProblems(config: Config, facts: HostFacts = hostFacts()): StartupProblem[] {
  const problems: StartupProblem[] = []
  const gw = config.gateway
  let bind: ResolvedBind | undefined
  try {
    bind = resolveBind(gw.bind)
  } catch (err) {
    if (!StartupRefusal.isInstance(err)) throw err
    problems.push({ path: "gateway.bind", message: err.message })
  }
  if (bind && !bind.loopback && !WILDCARDS.has(bind.host) && !facts.addresses.includes(bind.host)) {
    problems.push({
      path: "gateway.bind",
      message: `gateway.bind ${gw.bind} is not an address of this machine (it has ${facts.addresses.join(", ") || "none"}): use 'loopback', 'lan' or one of those`,
    })
  }
  if (bind) {
    try {
      planAuth(config, bind)
    } catch (err) {
      if (!StartupRefusal.isInstance(err)) throw err
      problems.push({ path: "gateway.auth", message: err.message })
    }
  }
  if (gw.port > 0 && gw.port < facts.unprivilegedPortStart && facts.uid !== undefined && facts.uid !== 0) {
    problems.push({
      path: "gateway.port",
      message: `gateway.port ${gw.port} needs root: ports below ${facts.unprivilegedPortStart} are privileged on this machine; use ${facts.unprivilegedPortStart} or above (default 18789)`,
    })
  }
  return problems
}

/**
 * Refuses a change that would break the next start: problems of `next` that `current` did not already have. A
 * config that already cannot start may still be edited (towards one that can) without being blocked.
 */
export function checkChange(current: Config | null, next: Config, facts: HostFacts = hostFacts()): void {
  const before = new Set(current ? startupProblems(current, facts).map((p) => p.message) : [])
  const added = startupProblems(next, facts).filter((p) => !before.has(p.message))
  if (added.length) throw new ConfigWouldNotStart({ problems: added })
}
