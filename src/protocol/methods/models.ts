/** models.list: the models the config names. */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { method } from "./define.ts"

/** OpenClaw adds thinking levels per model (thinkingLevels, thinkingDefault), which we do not send. */
export const ModelEntry = lazy(() =>
  z.object({
    id: z.string(),
    name: z.string(),
    provider: z.string(),
    alias: z.string().optional(),
    contextWindow: z.number().optional(),
    reasoning: z.boolean().optional(),
    tags: z.array(z.string()).optional().describe('["default"] on the configured default model'),
    available: z.boolean().optional(),
  }),
)

export const modelsList = method(
  "models.list",
  "operator.read",
  () =>
    // A read: newer clients add sessionKey / agentId (the models an agent may pick); unknown fields are ignored.
    z
      .object({ view: z.enum(["default", "configured", "all"]).optional(), sessionKey: z.string().optional(), agentId: z.string().optional() })
      .loose()
      .optional()
      .default({}),
  () => z.object({ models: z.array(ModelEntry()) }),
)
