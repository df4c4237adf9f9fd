/**
 * Config of the node host (`gateway node run`): what this machine lets the gateway run through system.run. Read on
 * the node's machine from its own state home; the gateway itself never reads it.
 */
import { z } from "zod"

export const NodeHost = z
  .strictObject({
    displayName: z.string().max(256).optional().describe("The name node.list shows (default: the host name; --name overrides)"),
    exec: z
      .strictObject({
        mode: z
          .enum(["deny", "allowlist", "ask", "full"])
          .default("ask")
          .describe(
            "system.run policy: deny: never; allowlist: only node.exec.allowlist programs, no shell operators, path arguments inside node.exec.roots; ask: allowlisted commands run, others wait for an operator's approval through the gateway (exec.approval.resolve); full: anything",
          ),
        allowlist: z
          .array(z.string())
          .default([])
          .describe("Program names (or absolute paths) system.run may run without asking (same matcher as tools.exec.allowlist)"),
        roots: z.array(z.string()).optional().describe("Directories commands may name paths in and run from (default: the node's workspace)"),
        timeoutSeconds: z.number().int().min(1).default(1800).describe("Kill a command after this long when the call gives no timeoutMs"),
        maxOutputBytes: z.number().int().min(1024).default(1_048_576).describe("stdout and stderr are each cut after this many bytes"),
        passEnv: z
          .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a variable name"))
          .default([])
          .describe("Variables passed from the node host's environment to commands besides PATH, locale, terminal, TZ, user and proxies"),
      })
      .prefault({}),
  })
  .describe("The node host (gateway node run): what system.run may run on this machine")
