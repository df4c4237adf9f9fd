/** Lazy subcommand map: each command module is imported only when it is the one being run. */
import type { CommandDef } from "citty"

// biome-ignore lint/suspicious/noExplicitAny: each command has its own argument types; citty's map erases them
type AnyCommand = CommandDef<any>
type Loader = () => Promise<AnyCommand>
const load = (p: Promise<{ default: AnyCommand }>) => p.then((m) => m.default)
const service = () => import("./service.ts")

export const commands: Record<string, Loader> = Object.assign(Object.create(null), {
  run: () => load(import("./run.ts")),
  health: () => load(import("./health.ts")),
  call: () => load(import("./call.ts")),
  logs: () => load(import("./logs.ts")),
  config: () => load(import("./config.ts")),
  doctor: () => load(import("./doctor.ts")),
  agent: () => load(import("./agent.ts")),
  sessions: () => load(import("./sessions.ts")),
  memory: () => load(import("./memory.ts")),
  cron: () => load(import("./cron.ts")),
  skills: () => load(import("./skills.ts")),
  node: () => load(import("./node.ts")),
  devices: () => load(import("./devices.ts")),
  protocol: () => load(import("./protocol.ts")),
  token: () => load(import("./token.ts")),
  channels: () => import("./channels.ts").then((m) => m.channelsCommand),
  pairing: () => import("./channels.ts").then((m) => m.pairingCommand),
  message: () => import("./channels.ts").then((m) => m.messageCommand),
  install: () => service().then((m) => m.install),
  uninstall: () => service().then((m) => m.uninstall),
  status: () => service().then((m) => m.status),
  start: () => service().then((m) => m.start),
  stop: () => service().then((m) => m.stop),
  restart: () => service().then((m) => m.restart),
  update: () => load(import("./update.ts")),
})
