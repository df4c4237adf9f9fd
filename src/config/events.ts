/** Published when a config change was applied (file edit, SIGHUP, config.set / config.patch). */
import { z } from "zod"
import { defineEvent } from "../bus/index.ts"

export const ConfigChanged = defineEvent("config.changed", () =>
  z.object({ path: z.string(), hash: z.string(), ts: z.number(), changedPaths: z.array(z.string()) }),
)
