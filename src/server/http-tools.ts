/** POST /tools/invoke: run one allowed tool over HTTP (Bearer auth), as OpenClaw's gateway offers it. */
import { Hono } from "hono"
import { bodyLimit } from "hono/body-limit"
import { z } from "zod"
import type { AgentFacade } from "../agent/facade.ts"
import { normalizeSessionKey } from "../agent/session-key.ts"
import { jsonBody } from "./json-body.ts"

const MAX_BODY = 2 * 1024 * 1024

/** `name` is accepted as an alias of `tool`. */
const Body = z
  .object({
    tool: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    args: z.record(z.string(), z.unknown()).optional(),
    sessionKey: z.string().optional(),
    dryRun: z.boolean().optional(),
  })
  .transform((b, ctx) => {
    const tool = b.tool ?? b.name
    if (!tool) {
      ctx.addIssue({ code: "custom", path: ["tool"], message: "the name of the tool to run is required" })
      return z.NEVER
    }
    return { ...b, tool }
  })

const invalid = (message: string) => ({ ok: false, error: { code: "INVALID_REQUEST", message } })

export function toolsRoutes(agent: () => AgentFacade): Hono {
  const app = new Hono()
  app.post(
    "/invoke",
    bodyLimit({ maxSize: MAX_BODY, onError: (c) => c.json({ ok: false, error: { code: "TOO_LARGE", message: "body over 2 MB" } }, 413) }),
    jsonBody(Body, (c, problem) =>
      c.json(invalid(problem.kind === "not-json" ? "body must be JSON" : `expected {tool, args?, sessionKey?}: ${problem.issues}`), 400),
    ),
    async (c) => {
      const body = c.req.valid("json")
      const name = body.tool
      const a = agent()
      if (body.dryRun) {
        const known = (await a.catalog()).some((t) => t.name === name)
        return c.json({ ok: known, dryRun: true, tool: name }, known ? 200 : 404)
      }
      const res = await a.invoke(name, body.args ?? {}, normalizeSessionKey(body.sessionKey ?? "main"), c.req.raw.signal)
      if (!res.found) return c.json({ ok: false, error: { code: "TOOL_NOT_AVAILABLE", message: `unknown or disallowed tool: ${name}` } }, 404)
      return c.json({ ok: !res.isError, result: res.output, isError: !!res.isError, ...(res.meta ? { meta: res.meta } : {}) })
    },
  )
  return app
}
