/** logs.tail: cursor-based reads of the JSONL log. */
import { tailLog } from "../util/logs-tail.ts"
import type { PartialHandlers } from "./registry.ts"

export const logsHandlers = {
  "logs.tail": (params, { gw }) => tailLog(gw.logFile(), { cursor: params.cursor, limit: params.limit ?? 200, maxBytes: params.maxBytes ?? 250_000 }),
} satisfies PartialHandlers
