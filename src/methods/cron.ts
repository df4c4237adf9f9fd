/** cron.* and the heartbeat's last-heartbeat / set-heartbeats: thin over the cron and heartbeat services. */
import { CronInputError } from "../cron/service.ts"
import { GatewayError } from "../protocol/index.ts"
import type { MethodContext } from "./context.ts"
import type { PartialHandlers } from "./registry.ts"

function cronOf({ gw }: MethodContext) {
  if (!gw.cron) throw new GatewayError("UNAVAILABLE", "cron is not available in this gateway")
  return gw.cron
}

function heartbeatOf({ gw }: MethodContext) {
  if (!gw.heartbeat) throw new GatewayError("UNAVAILABLE", "the heartbeat is not available in this gateway")
  return gw.heartbeat
}

/** A definition that cannot run is the caller's mistake: INVALID_REQUEST naming the field. */
function checked<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof CronInputError) throw new GatewayError("INVALID_REQUEST", err.message)
    throw err
  }
}

function notFound(id: string): never {
  throw new GatewayError("INVALID_REQUEST", `no cron job with id ${id} (list them with cron.list)`)
}

export const cronHandlers = {
  "cron.list": (p, ctx) => {
    const all = cronOf(ctx).list({ includeDisabled: p.includeDisabled, query: p.query })
    const offset = p.offset ?? 0
    const limit = p.limit ?? 100
    const jobs = all.slice(offset, offset + limit)
    const hasMore = offset + jobs.length < all.length
    return { jobs, total: all.length, offset, limit, hasMore, nextOffset: hasMore ? offset + jobs.length : null }
  },
  "cron.status": (_p, ctx) => ({ ...cronOf(ctx).status(), heartbeat: heartbeatOf(ctx).status() }),
  "cron.add": (p, ctx) => checked(() => cronOf(ctx).add(p)),
  "cron.update": (p, ctx) => {
    const id = (p.id ?? p.jobId)!
    return checked(() => cronOf(ctx).update(id, p.patch)) ?? notFound(id)
  },
  "cron.remove": (p, ctx) => ({ ok: true as const, removed: cronOf(ctx).remove((p.id ?? p.jobId)!) }),
  "cron.run": (p, ctx) => {
    const id = (p.id ?? p.jobId)!
    const res = cronOf(ctx).runNow(id, p.mode)
    if (res.reason === "not-found") notFound(id)
    return { ok: true as const, ...res }
  },
  "cron.runs": (p, ctx) => {
    const id = (p.id ?? p.jobId)!
    if (!cronOf(ctx).get(id)) notFound(id)
    return { entries: cronOf(ctx).runs(id, p.limit ?? 50) }
  },
  "last-heartbeat": (_p, ctx) => heartbeatOf(ctx).last(),
  "set-heartbeats": (p, ctx) => ({ ok: true as const, enabled: heartbeatOf(ctx).setEnabled(p.enabled) }),
} satisfies PartialHandlers
