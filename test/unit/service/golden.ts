/**
 * The reference unit files and plist under install/systemd and install/launchd, rendered from fixed options.
 * golden.test.ts checks the checked-in files match; regenerate with: UPDATE_GOLDEN=1 bun test test/unit/service
 */
import { join, resolve } from "node:path"
import { buildLaunchdPlist } from "../../../src/service/launchd.ts"
import { buildSystemdFiles } from "../../../src/service/systemd.ts"

export const INSTALL_DIR = resolve(import.meta.dir, "../../../install")
const PATH = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"

export function goldenFiles(): Record<string, string> {
  const user = buildSystemdFiles({
    scope: "user",
    name: "gateway",
    program: ["/usr/local/bin/gateway"],
    home: "/home/alice/.gateway",
    port: 18789,
    envFile: { path: "/home/alice/.config/gateway/gateway.env" },
    pathValue: `/usr/local/bin:/home/alice/.local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin`,
  })
  const system = buildSystemdFiles({
    scope: "system",
    name: "gateway",
    program: ["/usr/local/bin/gateway"],
    home: "/var/lib/gateway",
    port: 18789,
    bind: "lan",
    token: "<your token: openssl rand -hex 24>",
    userName: "gateway",
    envFile: { path: "/etc/gateway/gateway.env" },
    pathValue: PATH,
  })
  const plist = buildLaunchdPlist(
    "ai.gateway",
    { program: ["/usr/local/bin/gateway"], home: "/Users/alice/.gateway", port: 18789, env: { HOME: "/Users/alice" }, version: "0.1.0", platform: "darwin" },
    "/usr/local/bin:/Users/alice/.local/bin:/opt/homebrew/bin:/opt/homebrew/sbin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
  )
  return {
    [join(INSTALL_DIR, "systemd/gateway-user.service")]: user.unit,
    [join(INSTALL_DIR, "systemd/gateway-user.env")]: user.envFile,
    [join(INSTALL_DIR, "systemd/gateway.service")]: system.unit,
    [join(INSTALL_DIR, "systemd/gateway.env")]: system.envFile,
    [join(INSTALL_DIR, "launchd/ai.gateway.plist")]: plist.plist,
  }
}
