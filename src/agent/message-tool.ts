/**
 * The agent's `message` tool: send a text to a chat on a channel (Telegram, Discord). Only to chats the owner has
 * let in (approved or allow-listed senders, allowed groups): text the agent read (a web page, a stranger's message)
 * cannot make it message anyone else. tools.allow / tools.deny apply as to every tool.
 */
import { z } from "zod"
import { defineTool, ToolError, type ToolDef } from "./tools/tool.ts"

/** What the gateway lends the agent for sending (the channel core; absent when no channel is configured). */
export interface MessageSender {
  channels(): string[]
  canSendTo(channel: string, to: string): boolean
  send(o: { channel: string; to: string; text: string; key: string; threadId?: string }): Promise<{ status: string; error?: string }>
}

export function createMessageTool(sender: MessageSender): ToolDef {
  return defineTool({
    name: "message",
    description:
      "Send a message to a chat on a connected channel (Telegram or Discord), e.g. to notify the owner. Only chats the owner allowed can be messaged. Your normal reply already goes back to whoever wrote to you: use this only to reach another chat.",
    parameters: z.object({
      channel: z.string().describe("telegram or discord"),
      to: z.string().min(1).describe("Chat id on that channel"),
      text: z.string().min(1).max(20_000).describe("The message (Markdown)"),
      threadId: z.string().optional().describe("Forum topic or thread id"),
    }),
    async execute(args, ctx) {
      const configured = sender.channels()
      if (!configured.includes(args.channel)) {
        throw new ToolError({ message: `Channel ${args.channel} is not configured. Configured channels: ${configured.join(", ") || "none"}.` })
      }
      if (!sender.canSendTo(args.channel, args.to)) {
        throw new ToolError({
          message: `Chat ${args.to} on ${args.channel} is not one the owner allowed (approved senders, allowFrom, groups.allow). Messages can only go to those chats.`,
        })
      }
      // One key per tool call: a retried call does not send twice.
      const res = await sender.send({ ...args, key: `tool:${ctx.runId}:${ctx.toolCallId}` })
      if (res.status === "failed") throw new ToolError({ message: `${args.channel} refused the message: ${res.error ?? "unknown error"}` })
      return {
        output:
          res.status === "sent"
            ? `Sent to ${args.to} on ${args.channel}.`
            : `Queued for ${args.to} on ${args.channel}; it is delivered when the channel is connected.`,
      }
    },
  })
}
