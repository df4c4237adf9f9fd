/** `gateway run`: the daemon in the foreground. Exits 0 on SIGTERM/SIGINT after telling clients; SIGHUP reloads config. */
import { defineCommand } from "citty"
import { homeArgs } from "./_shared.ts"

export default defineCommand({
  meta: { name: "run", description: "Run the gateway in the foreground (logs to stderr and <home>/logs/gateway.jsonl)" },
  args: {
    port: { type: "string", description: "Port to listen on (env GATEWAY_PORT; default 18789; 0 picks a free one)", valueHint: "port" },
    bind: { type: "string", description: "loopback (default), lan, or an IP address; non-loopback needs --token or --password", valueHint: "addr" },
    token: { type: "string", description: "Shared token clients must present (env GATEWAY_TOKEN)" },
    password: { type: "string", description: "Shared password clients must present (env GATEWAY_PASSWORD)" },
    ...homeArgs,
  },
  async run({ args }) {
    const { startGateway } = await import("../../src/gateway.ts")
    const { ConfigError } = await import("../../src/config/load.ts")
    const { StartupRefusal } = await import("../../src/config/auth.ts")
    const { ListenError } = await import("../../src/server/index.ts")
    let port: number | undefined
    if (args.port !== undefined) {
      port = Number(args.port)
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        process.stderr.write(`gateway: --port must be a port number (0-65535), got '${args.port}'\n`)
        process.exit(2)
      }
    }
    let gw: Awaited<ReturnType<typeof startGateway>>
    try {
      gw = await startGateway({ home: args.home, port, bind: args.bind, token: args.token, password: args.password })
    } catch (err) {
      const known = err instanceof ConfigError || err instanceof StartupRefusal || err instanceof ListenError
      process.stderr.write(`gateway: ${known ? (err as Error).message : ((err as Error)?.stack ?? String(err))}\n`)
      // 78 (EX_CONFIG) tells a supervisor not to crash-loop on a config problem.
      process.exit(err instanceof ConfigError || err instanceof StartupRefusal ? 78 : 1)
    }
    // Machine-readable line for scripts and tests that start on port 0.
    if (process.env.GATEWAY_PRINT_READY === "1") process.stdout.write(`${JSON.stringify({ ready: true, url: gw.url, port: gw.port, pid: process.pid })}\n`)

    const shutdown = (signal: string) => {
      // A second signal while stopping means "now".
      const force = setTimeout(() => process.exit(0), 5000)
      force.unref?.()
      gw.stop(`gateway stopping (${signal})`).then(
        () => process.exit(0),
        () => process.exit(1),
      )
    }
    process.on("SIGTERM", () => shutdown("SIGTERM"))
    process.on("SIGINT", () => shutdown("SIGINT"))
    process.on("SIGHUP", () => gw.reload("SIGHUP"))
    await new Promise(() => {})
  },
})
