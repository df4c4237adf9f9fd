/**
 * The node host (`gateway node run`): connects to a gateway as role "node" through src/client, declares
 * system.run and system.which, answers each node.invoke.request with node.invoke.result, and reconnects with backoff
 * (1 s doubling to 30 s, as OpenClaw's clients) whenever the connection fails or drops. Its policy is the `node`
 * section of its own state home's config, read again for every command so an edit applies to the next one.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { GatewayClient } from "../../client/index.ts"
import { formatIssues, loadConfig } from "../../config/load.ts"
import { resolvePaths, type Paths } from "../../config/paths.ts"
import type { Config } from "../../config/schema.ts"
import type { NodeInvokeRequest, NodeInvokeResult } from "../registry.ts"
import { NODE_COMMANDS, NodeCommandError, runNodeCommand, type CommandContext } from "./commands.ts"
import { NodeRunPolicy } from "./policy.ts"

export interface NodeHostOptions {
  url: string
  token?: string
  password?: string
  /** PEM certificate(s) to trust for a wss:// gateway (e.g. its self-signed certificate); default: the system's CAs. */
  ca?: string
  /** The name node.list shows (default: node.displayName, else the host name). */
  name?: string
  home?: string
  env?: NodeJS.ProcessEnv
  log?(line: string): void
  backoff?: { initialMs: number; maxMs: number }
}

/** The node's id, kept in the state home so the gateway knows it again after a restart. */
export function nodeIdOf(paths: Paths): string {
  const file = join(paths.home, "node-host.json")
  try {
    const id = (JSON.parse(readFileSync(file, "utf8")) as { nodeId?: unknown }).nodeId
    if (typeof id === "string" && id) return id
  } catch {}
  const nodeId = `node-${crypto.randomUUID()}`
  if (!existsSync(paths.home)) mkdirSync(paths.home, { recursive: true, mode: 0o700 })
  writeFileSync(file, `${JSON.stringify({ nodeId, createdAt: new Date().toISOString() }, null, 2)}\n`, { mode: 0o600 })
  return nodeId
}

/** The node section of the config, or an Error naming the file and its problems. */
function readNodeConfig(paths: Paths): Config["node"] | Error {
  const loaded = loadConfig(paths.config, paths.systemConfig)
  if (!loaded.config) return new Error(`invalid config ${paths.config}:\n${formatIssues(loaded.issues)}`)
  return loaded.config.node
}

export class NodeHost {
  readonly paths: Paths
  readonly nodeId: string
  private config: Config["node"]
  private policy: NodeRunPolicy
  private client: GatewayClient | undefined
  private stopped = false
  private wake: (() => void) | undefined
  private log: (line: string) => void

  constructor(private o: NodeHostOptions) {
    this.paths = resolvePaths(o.home, o.env)
    const cfg = readNodeConfig(this.paths)
    if (cfg instanceof Error) throw cfg
    this.config = cfg
    this.nodeId = nodeIdOf(this.paths)
    this.policy = new NodeRunPolicy(() => this.config.exec, this.paths.workspace)
    this.log = o.log ?? ((line) => process.stderr.write(`${line}\n`))
    mkdirSync(this.paths.workspace, { recursive: true, mode: 0o700 })
  }

  get displayName(): string {
    return this.o.name ?? this.config.displayName ?? hostname()
  }

  /** Connects and serves until stop(); never throws for a connection problem (it retries). */
  async run(): Promise<void> {
    const { initialMs, maxMs } = this.o.backoff ?? { initialMs: 1000, maxMs: 30_000 }
    let delay = initialMs
    while (!this.stopped) {
      try {
        const client = await GatewayClient.connect({
          url: this.o.url,
          token: this.o.token,
          password: this.o.password,
          ...(this.o.ca ? { ca: this.o.ca } : {}),
          role: "node",
          scopes: [],
          mode: "node",
          clientId: "node-host",
          displayName: this.displayName,
          instanceId: this.nodeId,
          caps: ["system"],
          commands: [...NODE_COMMANDS],
        })
        this.client = client
        delay = initialMs
        this.log(`connected to ${this.o.url} as node ${this.nodeId} (${this.displayName}); policy ${this.config.exec.mode}`)
        client.onEvent((ev) => {
          if (ev.event === "node.invoke.request") void this.handle(client, ev.payload as NodeInvokeRequest)
        })
        if (this.stopped) client.close()
        const closed = await client.closed()
        this.client = undefined
        if (!this.stopped) this.log(`disconnected from ${this.o.url} (${closed.code}${closed.reason ? ` ${closed.reason}` : ""}); reconnecting`)
      } catch (err) {
        if (!this.stopped) this.log(`cannot connect to ${this.o.url}: ${(err as Error).message}; retrying in ${Math.round(delay / 100) / 10}s`)
      }
      if (this.stopped) break
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay)
        this.wake = () => {
          clearTimeout(t)
          resolve()
        }
      })
      delay = Math.min(delay * 2, maxMs)
    }
  }

  stop(): void {
    this.stopped = true
    this.client?.close()
    this.wake?.()
  }

  private async handle(client: GatewayClient, req: NodeInvokeRequest): Promise<void> {
    const fresh = readNodeConfig(this.paths)
    if (fresh instanceof Error) this.log(`keeping the last valid node policy: ${fresh.message}`)
    else this.config = fresh
    let result: NodeInvokeResult
    try {
      const params = req.paramsJSON ? JSON.parse(req.paramsJSON) : {}
      const payload = await runNodeCommand(req.command, params, this.context(client, req))
      result = { id: req.id, nodeId: req.nodeId, ok: true, payload }
    } catch (err) {
      const code = err instanceof NodeCommandError ? err.code : "NODE_ERROR"
      result = { id: req.id, nodeId: req.nodeId, ok: false, error: { code, message: (err as Error).message } }
    }
    this.log(`${req.command} ${result.ok ? "ok" : `failed: ${result.error?.message}`}`)
    await client.request("node.invoke.result", result).catch((err) => this.log(`could not send the result of ${req.command}: ${(err as Error).message}`))
  }

  private context(client: GatewayClient, req: NodeInvokeRequest, receivedAt = Date.now()): CommandContext {
    // A command never outlives the caller's wait: the gateway gives up req.timeoutMs after it sent the request.
    const deadline = req.timeoutMs === undefined ? Number.POSITIVE_INFINITY : receivedAt + req.timeoutMs
    const remaining = () => deadline - Date.now()
    return {
      policy: this.policy,
      limits: () => ({
        timeoutMs: Math.min(this.config.exec.timeoutSeconds * 1000, remaining()),
        maxOutputBytes: this.config.exec.maxOutputBytes,
      }),
      approve: async (text, cwd) => {
        // The approval waits only as long as the invoke does; unanswered by then counts as not approved.
        const left = remaining()
        if (left <= 0) return false
        const r = await client
          .request("node.exec.approval.request", { command: text, cwd }, { timeoutMs: Number.isFinite(left) ? Math.ceil(left) : 0 })
          .catch((err: unknown) => {
            if (remaining() <= 0) return { approved: false }
            throw err
          })
        return r.approved
      },
    }
  }
}
