/** memory.status / memory.search / memory.reindex: the operator's view of the agent's memory index. */
import { GatewayError } from "../protocol/index.ts"
import type { MethodContext } from "./context.ts"
import type { PartialHandlers } from "./registry.ts"

function memoryOf({ gw }: MethodContext) {
  if (!gw.memory) throw new GatewayError("UNAVAILABLE", "memory is not available in this gateway")
  return gw.memory
}

export const memoryHandlers = {
  "memory.status": (_p, ctx) => memoryOf(ctx).status(),
  "memory.search": (p, ctx) => memoryOf(ctx).search(p.query, { maxResults: p.maxResults, minScore: p.minScore }),
  "memory.reindex": (p, ctx) => memoryOf(ctx).sync({ full: p.full }),
} satisfies PartialHandlers
