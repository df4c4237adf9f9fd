/**
 * Device pairing from the command line: `gateway devices list | approve | reject | remove | rename | rotate | revoke`.
 * Devices that sign in with an Ed25519 identity from another machine wait here for approval; an approved device gets
 * its own token. All talk to the running gateway through src/client.
 */
import { defineCommand } from "citty"
import { connectionArgs, printJson, withClient } from "./_shared.ts"

function ago(ms: number | undefined): string {
  if (!ms) return "never"
  const s = Math.round((Date.now() - ms) / 1000)
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`
}

const short = (id: string) => `${id.slice(0, 12)}…`
const out = (text: string) => void process.stdout.write(text)

/** `--scope a --scope b` or `--scope a,b`. */
function scopesOf(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === "") return undefined
  const list = (Array.isArray(raw) ? raw : [raw]).flatMap((s) => String(s).split(","))
  return list.map((s) => s.trim()).filter(Boolean)
}

const requestIdArg = { requestId: { type: "positional", required: true, description: "The request id from 'gateway devices list'" } } as const
const deviceIdArg = { deviceId: { type: "positional", required: true, description: "The device id (hex SHA-256 of its public key)" } } as const
const tokenArgs = {
  device: { type: "string", required: true, description: "Device id", valueHint: "id" },
  role: { type: "string", default: "operator", description: "operator or node", valueHint: "role" },
} as const

const list = defineCommand({
  meta: { name: "list", description: "Pending pairing requests and paired devices" },
  args: { ...connectionArgs },
  async run({ args }) {
    const res = await withClient(args, ["operator.pairing"], (c) => c.request("device.pair.list", {}))
    if (args.json) return printJson(res)
    if (res.pending.length === 0) out("no pending device requests\n")
    else {
      out(`PENDING\n${"REQUEST".padEnd(38)} ${"DEVICE".padEnd(14)} ${"NAME".padEnd(20)} ${"ROLE".padEnd(9)} ${"FROM".padEnd(16)} ASKED\n`)
      for (const r of res.pending) {
        out(
          `${r.requestId.padEnd(38)} ${short(r.deviceId).padEnd(14)} ${(r.displayName ?? r.clientId ?? "-").padEnd(20)} ${(r.role ?? "-").padEnd(9)} ${(r.remoteIp ?? "-").padEnd(16)} ${ago(r.ts)}\n`,
        )
        if (r.scopes?.length) out(`${"".padEnd(39)}scopes: ${r.scopes.join(", ")}\n`)
      }
    }
    if (res.paired.length === 0) return out("no paired devices\n")
    out(`PAIRED\n${"DEVICE".padEnd(66)} ${"NAME".padEnd(20)} ${"ROLES".padEnd(14)} LAST SEEN\n`)
    for (const d of res.paired) {
      out(`${d.deviceId.padEnd(66)} ${(d.displayName ?? d.clientId ?? "-").padEnd(20)} ${d.roles.join(",").padEnd(14)} ${ago(d.lastSeenAtMs)}\n`)
      out(`${"".padEnd(67)}scopes: ${d.scopes.join(", ") || "none"}; tokens: ${(d.tokens ?? []).map((t) => t.role).join(", ") || "none"}\n`)
    }
  },
})

const approve = defineCommand({
  meta: { name: "approve", description: "Approve a pending device: it reconnects and receives its own device token" },
  args: { ...requestIdArg, ...connectionArgs },
  async run({ args }) {
    // Approving grants only the caller's own scopes, so the CLI (holding the shared secret) asks for admin.
    const res = await withClient(args, ["operator.pairing", "operator.admin"], (c) => c.request("device.pair.approve", { requestId: args.requestId }))
    if (args.json) return printJson(res)
    out(`approved ${res.device.displayName ?? short(res.device.deviceId)} (${res.device.deviceId}) as ${res.device.roles.join(", ")}\n`)
  },
})

const reject = defineCommand({
  meta: { name: "reject", description: "Reject a pending device request" },
  args: { ...requestIdArg, ...connectionArgs },
  async run({ args }) {
    const res = await withClient(args, ["operator.pairing"], (c) => c.request("device.pair.reject", { requestId: args.requestId }))
    if (args.json) return printJson(res)
    out(`rejected the request from ${res.deviceId}\n`)
  },
})

const remove = defineCommand({
  meta: { name: "remove", description: "Forget a paired device and its tokens (it must pair again)" },
  args: { ...deviceIdArg, ...connectionArgs },
  async run({ args }) {
    const res = await withClient(args, ["operator.pairing"], (c) => c.request("device.pair.remove", { deviceId: args.deviceId }))
    if (args.json) return printJson(res)
    out(`removed ${res.deviceId}\n`)
  },
})

const rename = defineCommand({
  meta: { name: "rename", description: "Give a paired device a name of your choosing" },
  args: { ...deviceIdArg, name: { type: "positional", required: true, description: "The new display name" }, ...connectionArgs },
  async run({ args }) {
    const res = await withClient(args, ["operator.pairing"], (c) => c.request("device.pair.rename", { deviceId: args.deviceId, displayName: args.name }))
    if (args.json) return printJson(res)
    out(`renamed ${res.deviceId} to ${res.displayName}\n`)
  },
})

const rotate = defineCommand({
  meta: { name: "rotate", description: "Issue a new device token for a role (the old one stops working); prints the token once" },
  args: { ...tokenArgs, scope: { type: "string", description: "Scopes for the new token (comma-separated; default: all approved)" }, ...connectionArgs },
  async run({ args }) {
    const scopes = scopesOf(args.scope)
    const res = await withClient(args, ["operator.pairing", "operator.admin"], (c) =>
      c.request("device.token.rotate", { deviceId: args.device, role: args.role, ...(scopes ? { scopes } : {}) }),
    )
    if (args.json) return printJson(res)
    out(`${res.token}\n`)
    process.stderr.write(`new ${res.role} token for ${res.deviceId} (scopes: ${res.scopes.join(", ") || "none"}); it is not shown again\n`)
  },
})

const revoke = defineCommand({
  meta: { name: "revoke", description: "Revoke a device's token for a role (it can no longer connect with it)" },
  args: { ...tokenArgs, ...connectionArgs },
  async run({ args }) {
    const res = await withClient(args, ["operator.pairing", "operator.admin"], (c) =>
      c.request("device.token.revoke", { deviceId: args.device, role: args.role }),
    )
    if (args.json) return printJson(res)
    out(`revoked the ${res.role} token of ${res.deviceId}\n`)
  },
})

export default defineCommand({
  meta: { name: "devices", description: "Device pairing: approve devices that connect with their own identity, manage their tokens" },
  subCommands: { list, approve, reject, remove, rename, rotate, revoke },
})
