/**
 * `gateway node run --url ws://host:18789 [--token T] [--name N] [--tls-ca FILE]`: this binary as a node host that
 * lends system.run and system.which to the gateway (policy: the `node` section of this machine's config). `gateway
 * node install` installs that as a systemd user service (gateway-node.service).
 */
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { defineCommand } from "citty"
import { homeArgs, jsonArgs, printJson } from "./_shared.ts"

const nodeArgs = {
  url: { type: "string", required: true, description: "The gateway's WebSocket URL", valueHint: "ws://host:18789" },
  token: { type: "string", description: "Gateway token (env GATEWAY_NODE_TOKEN)" },
  password: { type: "string", description: "Gateway password (env GATEWAY_NODE_PASSWORD)" },
  name: { type: "string", description: "The name node.list shows (default: node.displayName, else the host name)" },
  "tls-ca": { type: "string", description: "PEM certificate to trust for a wss:// gateway, e.g. its self-signed one (env GATEWAY_TLS_CA)", valueHint: "file" },
  ...homeArgs,
} as const

function fail(message: string): never {
  process.stderr.write(`gateway: ${message}\n`)
  process.exit(1)
}

/** The certificate file to trust: --tls-ca, else GATEWAY_TLS_CA (as the other commands honour it). */
function tlsCaFile(args: { "tls-ca"?: string }): string | undefined {
  return args["tls-ca"] || process.env.GATEWAY_TLS_CA || undefined
}

function readCa(file: string): string {
  try {
    return readFileSync(file, "utf8")
  } catch (err) {
    return fail(`cannot read the TLS certificate to trust (${file}, --tls-ca / GATEWAY_TLS_CA): ${(err as Error).message}`)
  }
}

const run = defineCommand({
  meta: { name: "run", description: "Connect to a gateway as a node and serve system.run / system.which until stopped (reconnects with backoff)" },
  args: nodeArgs,
  async run({ args }) {
    if (!/^wss?:\/\//.test(args.url)) fail(`--url must be a ws:// or wss:// URL, got '${args.url}'`)
    const caFile = tlsCaFile(args)
    const { NodeHost } = await import("../../src/nodes/host/host.ts")
    let host: InstanceType<typeof NodeHost>
    try {
      host = new NodeHost({
        url: args.url,
        token: args.token || process.env.GATEWAY_NODE_TOKEN || undefined,
        password: args.password || process.env.GATEWAY_NODE_PASSWORD || undefined,
        ...(caFile ? { ca: readCa(caFile) } : {}),
        name: args.name,
        home: args.home,
      })
    } catch (err) {
      fail((err as Error).message)
    }
    const stop = () => host.stop()
    process.on("SIGINT", stop)
    process.on("SIGTERM", stop)
    await host.run()
  },
})

const install = defineCommand({
  meta: {
    name: "install",
    description: "Install the node host as a systemd user service (gateway-node.service); token and password go into its 0600 environment file",
  },
  args: {
    ...nodeArgs,
    "dry-run": { type: "boolean", description: "Print the unit and environment file (token masked) and the commands; change nothing", default: false },
    ...jsonArgs,
  },
  async run({ args }) {
    if (!/^wss?:\/\//.test(args.url)) fail(`--url must be a ws:// or wss:// URL, got '${args.url}'`)
    const { installNodeService, nodeServiceFiles } = await import("../../src/nodes/host/service.ts")
    const token = args.token || process.env.GATEWAY_NODE_TOKEN || undefined
    const password = args.password || process.env.GATEWAY_NODE_PASSWORD || undefined
    const caFile = tlsCaFile(args)
    // The service runs elsewhere: the certificate is named by its absolute path, and must be readable now.
    const tlsCa = caFile ? resolve(caFile) : undefined
    if (tlsCa) readCa(tlsCa)
    const files = nodeServiceFiles({ url: args.url, name: args.name, token, password, tlsCa, home: args.home })
    const { envFileShown, ...rest } = files
    const shown = { ...rest, envFile: envFileShown }
    if (args["dry-run"]) {
      if (args.json) return printJson({ ok: true, dryRun: true, ...shown })
      process.stdout.write(`# ${files.unitPath}\n${files.unit}\n# ${files.envPath} (0600)\n${shown.envFile}\n`)
      for (const c of files.commands) process.stdout.write(`$ ${c.join(" ")}\n`)
      return
    }
    try {
      await installNodeService(files)
    } catch (err) {
      fail((err as Error).message)
    }
    if (args.json) return printJson({ ok: true, unitPath: files.unitPath, envPath: files.envPath })
    process.stdout.write(`installed ${files.unitPath} and started gateway-node.service (logs: journalctl --user -u gateway-node)\n`)
  },
})

export default defineCommand({
  meta: { name: "node", description: "Run this machine as a node of a gateway (system.run, system.which)" },
  subCommands: { run, install },
})
