/**
 * `gateway run`: the daemon in the foreground. SIGTERM/SIGINT: tell clients, exit 0. SIGHUP: reload the config.
 * SIGUSR1: restart in place (OpenClaw's restart signal). Start-up refusals exit 78 with one line on stderr (and the
 * same line in logs/gateway.jsonl).
 */
import { defineCommand } from "citty"
import type { RunningGateway, StartOptions } from "../../src/gateway.ts"
import { homeArgs } from "./_shared.ts"

/** EX_CONFIG: a supervisor must not crash-loop on it (units set RestartPreventExitStatus=78). */
const EXIT_REFUSED = 78

export default defineCommand({
  meta: { name: "run", description: "Run the gateway in the foreground (logs to stderr and <home>/logs/gateway.jsonl)" },
  args: {
    port: { type: "string", description: "Port to listen on (env GATEWAY_PORT; default 18789; 0 picks a free one)", valueHint: "port" },
    bind: { type: "string", description: "loopback (default), lan, or an IP address; non-loopback needs --token or --password", valueHint: "addr" },
    token: { type: "string", description: "Shared token clients must present (env GATEWAY_TOKEN)" },
    password: { type: "string", description: "Shared password clients must present (env GATEWAY_PASSWORD)" },
    "tls-cert": { type: "string", description: "Serve HTTPS/wss:// with this PEM certificate (with --tls-key)", valueHint: "file" },
    "tls-key": { type: "string", description: "PEM private key for --tls-cert", valueHint: "file" },
    "tls-self-signed": {
      type: "boolean",
      description: "Serve HTTPS/wss:// with a self-signed certificate kept in <home>/tls (its SHA-256 fingerprint is logged for pinning)",
    },
    ...homeArgs,
  },
  async run({ args }) {
    const { startGateway, restartGateway } = await import("../../src/gateway.ts")
    const { ConfigError } = await import("../../src/config/load.ts")
    const { StartupRefusal } = await import("../../src/config/auth.ts")
    const { StateHomeError } = await import("../../src/config/state-home.ts")
    const { ListenError } = await import("../../src/server/index.ts")
    const { TlsError } = await import("../../src/server/tls-cert.ts")
    let port: number | undefined
    if (args.port !== undefined) {
      port = Number(args.port)
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        process.stderr.write(`gateway: --port must be a port number (0-65535), got '${args.port}'\n`)
        process.exit(2)
      }
    }
    if ((args["tls-cert"] === undefined) !== (args["tls-key"] === undefined)) {
      process.stderr.write("gateway: --tls-cert and --tls-key go together\n")
      process.exit(2)
    }
    const opts: StartOptions = {
      home: args.home,
      port,
      bind: args.bind,
      token: args.token,
      password: args.password,
      tlsCert: args["tls-cert"],
      tlsKey: args["tls-key"],
      tlsSelfSigned: args["tls-self-signed"] || undefined,
    }
    /** One line and the exit code for a failed start; the gateway already wrote it to its JSONL log. */
    const die = (err: unknown): never => {
      const known =
        ConfigError.isInstance(err) ||
        StartupRefusal.isInstance(err) ||
        StateHomeError.isInstance(err) ||
        ListenError.isInstance(err) ||
        TlsError.isInstance(err)
      process.stderr.write(`gateway: ${known ? (err as Error).message : ((err as Error)?.stack ?? String(err))}\n`)
      process.exit(known ? EXIT_REFUSED : 1)
    }
    const ready = (gw: RunningGateway) => {
      // Machine-readable line for scripts and tests that start on port 0 (again after a SIGUSR1 restart).
      if (process.env.GATEWAY_PRINT_READY === "1") process.stdout.write(`${JSON.stringify({ ready: true, url: gw.url, port: gw.port, pid: process.pid })}\n`)
    }
    let gw: RunningGateway = await startGateway(opts).catch(die)
    ready(gw)

    let stopping = false
    let restarting: Promise<void> | undefined
    const shutdown = async (signal: string) => {
      if (stopping) return
      stopping = true
      // A second signal while stopping means "now".
      const force = setTimeout(() => process.exit(0), 5000)
      force.unref?.()
      // A restart in progress finishes first, so it is the restarted gateway that stops.
      await restarting
      gw.stop(`gateway stopping (${signal})`).then(
        () => process.exit(0),
        () => process.exit(1),
      )
    }
    const restart = (signal: string) => {
      if (stopping || restarting) return
      restarting = (async () => {
        try {
          const next = await restartGateway(gw, opts, signal)
          if (next) {
            gw = next
            ready(gw)
          }
        } catch (err) {
          // The old gateway is gone and the new one did not start: exit as a failed start would.
          die(err)
        } finally {
          restarting = undefined
        }
      })()
    }
    process.on("SIGTERM", () => void shutdown("SIGTERM"))
    process.on("SIGINT", () => void shutdown("SIGINT"))
    process.on("SIGHUP", () => gw.reload("SIGHUP"))
    process.on("SIGUSR1", () => restart("SIGUSR1"))
    await new Promise(() => {})
  },
})
