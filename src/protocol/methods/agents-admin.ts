/**
 * Managing several agents (agents.create|update|delete) and their workspace bootstrap files (agents.files.*), in
 * OpenClaw's shapes: agents are written to agents.list in gateway.json; files are only the bootstrap names.
 */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { method } from "./define.ts"

const Id = lazy(() => z.string().min(1).max(200))

export const AgentsFileEntry = lazy(() =>
  z.object({
    name: z.string().min(1),
    path: z.string().min(1),
    missing: z.boolean(),
    size: z.number().int().min(0).optional(),
    updatedAtMs: z.number().int().min(0).optional(),
    content: z.string().optional(),
  }),
)

export const agentsCreate = method(
  "agents.create",
  "operator.admin",
  () =>
    z.strictObject({
      name: z.string().min(1).max(200).describe("Display name; the id is derived from it (lowercase, - for anything else)"),
      workspace: z.string().min(1).optional().describe("Default: <state home>/workspace-<id>"),
      model: z.string().min(1).optional().describe("provider/model"),
      emoji: z.string().optional(),
      avatar: z.string().optional(),
    }),
  () =>
    z.object({
      ok: z.literal(true),
      agentId: z.string(),
      name: z.string(),
      workspace: z.string(),
      model: z.string().optional(),
    }),
)

export const agentsUpdate = method(
  "agents.update",
  "operator.admin",
  () =>
    z.strictObject({
      agentId: Id(),
      name: z.string().min(1).max(200).optional(),
      workspace: z.string().min(1).optional(),
      model: z.string().min(1).nullable().optional().describe("null clears the agent's own model (agents.defaults.model applies)"),
      emoji: z.string().optional(),
      avatar: z.string().optional(),
    }),
  () => z.object({ ok: z.literal(true), agentId: z.string() }),
)

export const agentsDelete = method(
  "agents.delete",
  "operator.admin",
  () =>
    z.strictObject({
      agentId: Id(),
      deleteFiles: z.boolean().optional().describe("Also remove the agent's workspace (only one inside the state home)"),
    }),
  () => z.object({ ok: z.literal(true), agentId: z.string(), removedBindings: z.number().int().min(0) }),
)

export const agentsFilesList = method(
  "agents.files.list",
  "operator.read",
  () => z.object({ agentId: Id() }).loose(),
  () => z.object({ agentId: z.string(), workspace: z.string(), files: z.array(AgentsFileEntry()) }),
)

export const agentsFilesGet = method(
  "agents.files.get",
  "operator.read",
  () => z.object({ agentId: Id(), name: z.string().min(1).max(200) }).loose(),
  () => z.object({ agentId: z.string(), workspace: z.string(), file: AgentsFileEntry() }),
)

export const agentsFilesSet = method(
  "agents.files.set",
  "operator.admin",
  () =>
    z.strictObject({
      agentId: Id(),
      name: z.string().min(1).max(200),
      content: z
        .string()
        .max(1024 * 1024)
        .describe("The whole file (at most 1 MiB)"),
    }),
  () => z.object({ ok: z.literal(true), agentId: z.string(), workspace: z.string(), file: AgentsFileEntry() }),
)
