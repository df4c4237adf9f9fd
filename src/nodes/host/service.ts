/**
 * `gateway node install`: the node host as a systemd user service (gateway-node.service), rendered by the same
 * renderers as `gateway install` with its own name and ExecStart (`gateway node run --url … --name …`). The token
 * and password go into the 0600 EnvironmentFile as GATEWAY_NODE_TOKEN / GATEWAY_NODE_PASSWORD, never on the command
 * line; a certificate to trust is passed as `--tls-ca <file>`.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { gatewayProgram, servicePath, userHome } from "../../service/spec.ts"
import { renderEnvironmentFile, renderSystemdUnit } from "../../service/systemd-unit.ts"

export const NODE_SERVICE_NAME = "gateway-node"

export interface NodeServiceOptions {
  url: string
  name?: string
  token?: string
  password?: string
  /** A PEM file the node trusts for wss:// (absolute, since the service does not run in the installer's directory). */
  tlsCa?: string
  home?: string
  binary?: string
  env?: NodeJS.ProcessEnv
}

export interface NodeServiceFiles {
  unitPath: string
  unit: string
  envPath: string
  envFile: string
  /** The environment file with its secrets masked, for --dry-run. */
  envFileShown: string
  /** What install runs after writing the files. */
  commands: string[][]
}

export function nodeServiceFiles(o: NodeServiceOptions): NodeServiceFiles {
  const env = o.env ?? process.env
  const program = gatewayProgram(o.binary)
  const cfg = env.XDG_CONFIG_HOME || join(userHome(env), ".config")
  const unitPath = join(cfg, "systemd", "user", `${NODE_SERVICE_NAME}.service`)
  const envPath = join(cfg, "gateway", `${NODE_SERVICE_NAME}.env`)
  const execStart = [
    ...program,
    "node",
    "run",
    "--url",
    o.url,
    ...(o.name ? ["--name", o.name] : []),
    ...(o.home ? ["--home", o.home] : []),
    ...(o.tlsCa ? ["--tls-ca", o.tlsCa] : []),
  ]
  const unit = renderSystemdUnit({
    scope: "user",
    execStart,
    description: "Gateway node host: lends this machine's system.run to a gateway",
    environmentFile: { path: envPath },
  })
  const vars: Record<string, string | undefined> = {
    PATH: servicePath({ binaryDir: dirname(program[0]!), home: userHome(env), platform: process.platform }),
    GATEWAY_NODE_TOKEN: o.token,
    GATEWAY_NODE_PASSWORD: o.password,
  }
  const header = `Environment of ${NODE_SERVICE_NAME}.service, written by \`gateway node install\` (mode 0600: may hold GATEWAY_NODE_TOKEN and GATEWAY_NODE_PASSWORD).`
  const envFile = renderEnvironmentFile(vars, header)
  // Each secret's whole line is replaced (the rendered value may be quoted and escaped, so never search for it).
  const secret = /^(GATEWAY_NODE_TOKEN|GATEWAY_NODE_PASSWORD)=.*$/gm
  const envFileShown = envFile.replace(secret, "$1=********")
  return {
    unitPath,
    unit,
    envPath,
    envFile,
    envFileShown,
    commands: [
      ["systemctl", "--user", "daemon-reload"],
      ["systemctl", "--user", "enable", "--now", `${NODE_SERVICE_NAME}.service`],
    ],
  }
}

/** Writes the unit and its environment file, then enables and starts it; throws with systemctl's words on failure. */
export async function installNodeService(files: NodeServiceFiles): Promise<void> {
  mkdirSync(dirname(files.unitPath), { recursive: true })
  mkdirSync(dirname(files.envPath), { recursive: true, mode: 0o700 })
  writeFileSync(files.envPath, files.envFile, { mode: 0o600 })
  chmodSync(files.envPath, 0o600)
  writeFileSync(files.unitPath, files.unit, { mode: 0o644 })
  for (const argv of files.commands) {
    const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" })
    if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${p.stderr.toString().trim() || `exit ${p.exitCode}`}`)
  }
}
