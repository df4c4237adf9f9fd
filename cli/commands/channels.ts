/**
 * Chat channels from the command line: `gateway channels status`, `gateway pairing list | approve | reject` and
 * `gateway message send`. All talk to the running gateway (the bots live in the daemon).
 */
import { defineCommand } from "citty"
import { connectionArgs, fail, printJson, withClient } from "./_shared.ts"

const CHANNELS = ["telegram", "discord"] as const
type Channel = (typeof CHANNELS)[number]

function channelOf(raw: string | undefined, required: boolean): Channel | undefined {
  if (raw === undefined || raw === "") {
    if (required) fail(`name the channel: ${CHANNELS.join(" or ")}`)
    return undefined
  }
  if (!(CHANNELS as readonly string[]).includes(raw)) fail(`unknown channel '${raw}': expected ${CHANNELS.join(" or ")}`)
  return raw as Channel
}

function ago(ms: number | undefined): string {
  if (!ms) return "never"
  const s = Math.round((Date.now() - ms) / 1000)
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`
}

export const channelsCommand = defineCommand({
  meta: { name: "channels", description: "Chat channels (Telegram, Discord)" },
  subCommands: {
    status: defineCommand({
      meta: { name: "status", description: "Each channel: configured, connected, last messages in and out, last error, outbox" },
      args: { ...connectionArgs },
      async run({ args }) {
        const res = await withClient(args, ["operator.read"], (c) => c.request("channels.status", {}))
        if (args.json) return printJson(res)
        process.stdout.write(`${"CHANNEL".padEnd(10)} ${"STATE".padEnd(13)} ${"ACCOUNT".padEnd(20)} ${"IN".padEnd(9)} ${"OUT".padEnd(9)} OUTBOX\n`)
        for (const ch of res.channels) {
          const state = !ch.configured ? "not set up" : ch.connected ? "connected" : ch.running ? "reconnecting" : "stopped"
          const outbox = `${ch.outbox.pending} pending, ${ch.outbox.failed} failed`
          process.stdout.write(
            `${ch.channel.padEnd(10)} ${state.padEnd(13)} ${(ch.accountName ?? "-").padEnd(20)} ${ago(ch.lastInboundAt).padEnd(9)} ${ago(ch.lastOutboundAt).padEnd(9)} ${outbox}\n`,
          )
          if (ch.lastError) process.stdout.write(`${"".padEnd(11)}last error ${ago(ch.lastErrorAt)}: ${ch.lastError}\n`)
        }
      },
    }),
  },
})

const channelArg = { channel: { type: "positional", required: true, description: "telegram or discord" } } as const
const codeArg = { code: { type: "positional", required: true, description: "The 8-character pairing code the sender was given" } } as const

export const pairingCommand = defineCommand({
  meta: { name: "pairing", description: "Approve who may DM the bots: strangers get a pairing code, you approve it here" },
  subCommands: {
    list: defineCommand({
      meta: { name: "list", description: "Pending pairing requests (codes last 1 hour)" },
      args: { channel: { type: "positional", required: false, description: "telegram or discord (default: all)" }, ...connectionArgs },
      async run({ args }) {
        const channel = channelOf(args.channel, false)
        const res = await withClient(args, ["operator.pairing"], (c) => c.request("channels.pairing.list", channel ? { channel } : {}))
        if (args.json) return printJson(res)
        if (res.requests.length === 0) return void process.stdout.write("no pending pairing requests\n")
        process.stdout.write(`${"CHANNEL".padEnd(10)} ${"CODE".padEnd(10)} ${"SENDER".padEnd(28)} EXPIRES\n`)
        for (const r of res.requests) {
          const who = `${r.senderName ?? ""} (${r.senderId})`.trim()
          process.stdout.write(
            `${r.channel.padEnd(10)} ${r.code.padEnd(10)} ${who.padEnd(28)} in ${Math.max(0, Math.round((r.expiresAt - Date.now()) / 60_000))} min\n`,
          )
        }
      },
    }),
    approve: defineCommand({
      meta: { name: "approve", description: "Let the sender behind CODE talk to the agent (they are told)" },
      args: { ...channelArg, ...codeArg, ...connectionArgs },
      async run({ args }) {
        const channel = channelOf(args.channel, true)!
        const res = await withClient(args, ["operator.pairing"], (c) => c.request("channels.pairing.approve", { channel, code: args.code }))
        if (args.json) return printJson(res)
        process.stdout.write(`approved ${res.senderName ?? res.senderId} (${res.senderId}) on ${channel}\n`)
      },
    }),
    reject: defineCommand({
      meta: { name: "reject", description: "Dismiss the pairing request behind CODE" },
      args: { ...channelArg, ...codeArg, ...connectionArgs },
      async run({ args }) {
        const channel = channelOf(args.channel, true)!
        const res = await withClient(args, ["operator.pairing"], (c) => c.request("channels.pairing.dismiss", { channel, code: args.code }))
        if (args.json) return printJson(res)
        process.stdout.write(`dismissed the request from ${res.senderId} on ${channel}\n`)
      },
    }),
  },
})

export const messageCommand = defineCommand({
  meta: { name: "message", description: "Send messages through a channel" },
  subCommands: {
    send: defineCommand({
      meta: { name: "send", description: 'Send TEXT to a chat: gateway message send --channel telegram --to 123456 "hello"' },
      args: {
        text: { type: "positional", required: true, description: "The message (Markdown)" },
        channel: { type: "string", description: "telegram or discord (default: the only configured one)" },
        to: { type: "string", required: true, description: "Chat id on the channel", valueHint: "id" },
        thread: { type: "string", description: "Forum topic / thread id" },
        key: { type: "string", description: "Idempotency key (default: a new one); a retry with the same key sends nothing twice" },
        ...connectionArgs,
      },
      async run({ args }) {
        const channel = channelOf(args.channel, false)
        const res = await withClient(args, ["operator.write"], (c) =>
          c.request("send", {
            to: args.to,
            message: args.text,
            idempotencyKey: args.key ?? crypto.randomUUID(),
            ...(channel ? { channel } : {}),
            ...(args.thread ? { threadId: args.thread } : {}),
          }),
        )
        if (args.json) return printJson(res)
        if (res.status === "failed") fail(`${res.channel} refused the message: ${res.error ?? "unknown error"}`)
        process.stdout.write(
          res.status === "sent"
            ? `sent to ${res.to} on ${res.channel}${res.chunks > 1 ? ` (${res.chunks} messages)` : ""}\n`
            : `queued for ${res.to} on ${res.channel}: ${res.error ?? "the channel is not connected yet"}; it is sent when it can be\n`,
        )
      },
    }),
  },
})
