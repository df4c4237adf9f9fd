/** Which agents this gateway runs (agents.list) and how one presents itself (agent.identity.get), in OpenClaw's shapes. */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { method } from "./define.ts"

export const AgentIdentity = lazy(() =>
  z.object({
    name: z.string().optional(),
    emoji: z.string().optional(),
    avatar: z.string().optional().describe("As IDENTITY.md names it: a workspace-relative path, a URL or a data URI"),
  }),
)

/** One agent row. OpenClaw adds runtime and thinking details per agent; clients accept what they don't know. */
export const AgentRow = lazy(() =>
  z
    .object({
      id: z.string(),
      name: z.string().optional(),
      workspace: z.string(),
      default: z.boolean().describe("The agent a request without agentId or session key runs as"),
      identity: AgentIdentity().optional(),
      model: z
        .object({ primary: z.string(), fallbacks: z.array(z.string()).optional() })
        .optional()
        .describe("provider/model this agent uses, and its own fallbacks when it has any"),
    })
    .loose(),
)

export const agentsList = method(
  "agents.list",
  "operator.read",
  // OpenClaw's params are empty; a client sending a filter it knows is not refused.
  () => z.object({}).loose().optional().default({}),
  () =>
    z
      .object({
        defaultId: z.string(),
        ownership: z.string().describe("sole: this gateway alone runs these agents"),
        selectionRequired: z.boolean().describe("false: a request without agentId goes to defaultId"),
        mainKey: z.string().describe('The main session\'s key suffix: "main" = agent:<id>:main'),
        scope: z.string().describe("per-sender: each direct-message sender gets a session of its own"),
        agents: z.array(AgentRow()),
      })
      .loose(),
)

export const agentIdentityGet = method(
  "agent.identity.get",
  "operator.read",
  () =>
    z
      .object({ agentId: z.string().min(1).optional(), sessionKey: z.string().min(1).optional() })
      .loose()
      .optional()
      .default({}),
  () => z.object({ agentId: z.string(), name: z.string(), emoji: z.string().optional(), avatar: z.string().optional() }),
)
