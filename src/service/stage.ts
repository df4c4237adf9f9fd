/**
 * `gateway install --root DIR`: stages the gateway into an OS image tree. Files only, no commands at all (the image
 * is not the running system): the binary, a vendor unit, a preset that enables it on first boot, the default config
 * (/etc/gateway/gateway.json, which gateways read as a system layer under each user's config) and, for the system
 * unit, a sysusers.d entry for its account and a 0600 EnvironmentFile.
 */
import { statSync } from "node:fs"
import { join } from "node:path"
import type { Scope } from "./detect.ts"
import type { Outcome } from "./manager.ts"
import type { Host } from "./runner.ts"
import { ServiceError, servicePath, validateUserName } from "./spec.ts"
import { buildSystemdFiles } from "./systemd.ts"
import { renderPreset, renderSysusers } from "./systemd-unit.ts"

export interface StageOptions {
  root: string
  scope: Scope
  name: string
  /** The executable copied to <root>/usr/bin/gateway. */
  binary: string
  port?: number
  bind?: string
  token?: string
  userName?: string
  force?: boolean
  version?: string
}

/** Where things go inside the image (absolute paths as the booted system sees them). */
const IMAGE_BINARY = "/usr/bin/gateway"

export function stagedPaths(o: Pick<StageOptions, "root" | "scope" | "name">) {
  const at = (p: string) => join(o.root, p)
  const unitDir = o.scope === "system" ? "/usr/lib/systemd/system" : "/usr/lib/systemd/user"
  const presetDir = o.scope === "system" ? "/usr/lib/systemd/system-preset" : "/usr/lib/systemd/user-preset"
  return {
    binary: at(IMAGE_BINARY),
    unit: at(`${unitDir}/${o.name}.service`),
    preset: at(`${presetDir}/80-${o.name}.preset`),
    config: at("/etc/gateway/gateway.json"),
    envFile: o.scope === "system" ? at(`/etc/gateway/${o.name}.env`) : undefined,
    sysusers: o.scope === "system" ? at(`/usr/lib/sysusers.d/${o.name}.conf`) : undefined,
  }
}

export function stageImage(host: Host, o: StageOptions): Outcome {
  let st: ReturnType<typeof statSync> | undefined
  try {
    st = statSync(o.binary)
  } catch {}
  if (!st?.isFile())
    throw new ServiceError({
      message: `--root needs the gateway binary to copy, and ${o.binary} is not a file`,
      hints: ["Pass the compiled binary with --binary dist/gateway."],
    })
  if (o.scope === "user" && o.token) {
    throw new ServiceError({
      message: "--token with a user unit in an image would give every user the same secret",
      hints: ["Use --system, or let each user put GATEWAY_TOKEN in ~/.config/gateway/<name>.env (mode 0600)."],
    })
  }
  const paths = stagedPaths(o)
  const system = o.scope === "system"
  const userName = system ? validateUserName(o.userName ?? "gateway") : undefined
  const home = system ? `/var/lib/${o.name}` : undefined
  // Port and bind go in /etc/gateway/gateway.json rather than ExecStart, so the image's admin edits one file.
  const files = buildSystemdFiles({
    scope: o.scope,
    name: o.name,
    program: [IMAGE_BINARY],
    home,
    token: o.token,
    userName,
    envFile: system ? { path: `/etc/gateway/${o.name}.env`, optional: true } : { path: `%h/.config/gateway/${o.name}.env`, optional: true, specifiers: true },
    pathValue: servicePath({ binaryDir: "/usr/bin", platform: "linux" }),
    version: o.version,
  })
  host.mkdir(o.root, 0o755)
  host.copy(o.binary, paths.binary, 0o755)
  host.write(paths.unit, files.unit, 0o644)
  host.write(paths.preset, renderPreset(`${o.name}.service`), 0o644)
  if (system) {
    host.write(paths.envFile!, files.envFile, 0o600, o.token ? [o.token] : [])
    host.write(paths.sysusers!, renderSysusers(userName!, home!), 0o644)
  }
  if (host.exists(paths.config) && !o.force) host.note(`kept the existing ${paths.config} (--force replaces it)`)
  else {
    const config = { gateway: { port: o.port ?? 18789, bind: o.bind ?? "loopback" } }
    host.write(paths.config, `${JSON.stringify(config, null, 2)}\n`, 0o644)
  }
  return {
    result: "staged",
    message: `staged ${o.name}.service (${o.scope} unit, enabled by preset) into ${o.root}; nothing was run`,
  }
}
