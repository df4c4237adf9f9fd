/** POST /tools/invoke: run one allowed tool over HTTP (Bearer auth), as OpenClaw's gateway offers it. */
import { Hono } from "hono"
import { z } from "zod"
import type { AgentFacade } from "../agent/facade.ts"
import { normalizeSessionKey } from "../agent/session-key.ts"

const MAX_BODY = 2 * 1024 * 1024

const Body = z.object({
  tool: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  args: z.record(z.string(), z.unknown()).optional(),
  sessionKey: z.string().optional(),
  dryRun: z.boolean().optional(),
})

export function toolsRoutes(agent: () => AgentFacade): Hono {
  const app = new Hono()
  app.post("/invoke", async (c) => {
    if (Number(c.req.header("content-length") ?? 0) > MAX_BODY) return c.json({ ok: false, error: { code: "TOO_LARGE", message: "body over 2 MB" } }, 413)
    let raw: unknown
    try {
      raw = await c.req.json()
    } catch {
      return c.json({ ok: false, error: { code: "INVALID_REQUEST", message: "body must be JSON" } }, 400)
    }
    const body = Body.safeParse(raw)
    const name = body.success ? (body.data.tool ?? body.data.name) : undefined
    if (!body.success || !name) {
      return c.json({ ok: false, error: { code: "INVALID_REQUEST", message: "expected {tool, args?, sessionKey?}" } }, 400)
    }
    const a = agent()
    if (body.data.dryRun) {
      const known = (await a.catalog()).some((t) => t.name === name)
      return c.json({ ok: known, dryRun: true, tool: name }, known ? 200 : 404)
    }
    const res = await a.invoke(name, body.data.args ?? {}, normalizeSessionKey(body.data.sessionKey ?? "main"), c.req.raw.signal)
    if (!res.found) return c.json({ ok: false, error: { code: "TOOL_NOT_AVAILABLE", message: `unknown or disallowed tool: ${name}` } }, 404)
    return c.json({ ok: !res.isError, result: res.output, isError: !!res.isError, ...(res.meta ? { meta: res.meta } : {}) })
  })
  return app
}
