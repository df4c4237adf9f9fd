/**
 * The agent's `message` tool: send a text to a chat on a channel (Telegram, Discord). Only to chats the owner has
 * let in (approved or allow-listed senders, allowed groups): text the agent read (a web page, a stranger's message)
 * cannot make it message anyone else. tools.allow / tools.deny apply as to every tool. A `file` is sent as a document;
 * its path must be inside tools.fs.roots, decided by the file tools' own policy (the resolver the agent passes in).
 */
import { statSync } from "node:fs"
import { z } from "zod"
import { defineTool, ToolError, type ToolDef } from "./tools/tool.ts"

/** What the gateway lends the agent for sending (the channel core; absent when no channel is configured). */
export interface MessageSender {
  channels(): string[]
  canSendTo(channel: string, to: string): boolean
  send(o: { channel: string; to: string; text: string; key: string; threadId?: string; file?: string }): Promise<{ status: string; error?: string }>
}

/** Turns a path the model gave into an absolute one inside tools.fs.roots, or throws a ToolError saying why not. */
export type FileResolver = (path: string) => string

/** Telegram bots may send documents up to 50 MB. */
const MAX_FILE_BYTES = 50 * 1024 * 1024

export function createMessageTool(sender: MessageSender, resolveFile?: FileResolver): ToolDef {
  return defineTool({
    name: "message",
    description:
      "Send a message to a chat on a connected channel (Telegram or Discord), e.g. to notify the owner. Only chats the owner allowed can be messaged. Your normal reply already goes back to whoever wrote to you: use this only to reach another chat.",
    parameters: z.object({
      channel: z.string().describe("telegram or discord"),
      to: z.string().min(1).describe("Chat id on that channel"),
      text: z.string().max(20_000).default("").describe("The message (Markdown); with a file, its caption"),
      threadId: z.string().optional().describe("Forum topic or thread id"),
      file: z.string().min(1).optional().describe("A file to send as a document: a path inside the workspace (or another tools.fs.roots directory)"),
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
      let file: string | undefined
      if (args.file !== undefined) {
        if (!resolveFile) throw new ToolError({ message: "Sending files is not available here (no file tools). Send the text only." })
        file = resolveFile(args.file)
        let size: number
        try {
          const st = statSync(file)
          if (!st.isFile()) throw new ToolError({ message: `${args.file} is not a regular file. Pass a file, not a directory.` })
          size = st.size
        } catch (err) {
          if (ToolError.isInstance(err)) throw err
          throw new ToolError({ message: `${args.file} does not exist. Check the path (ls lists a directory).` })
        }
        if (size > MAX_FILE_BYTES) throw new ToolError({ message: `${args.file} is ${size} bytes; chat platforms take at most 50 MB.` })
      } else if (!args.text.trim()) throw new ToolError({ message: "Give a text, a file, or both." })
      // One key per tool call: a retried call does not send twice.
      const res = await sender.send({ ...args, ...(file ? { file } : {}), key: `tool:${ctx.runId}:${ctx.toolCallId}` })
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
