/**
 * Request bodies of the HTTP APIs go through Hono's validator with our zod schemas: a body that is not JSON or does
 * not match answers 400 in the route's own error shape (OpenAI-style on /v1, {ok:false,error} on /tools) and names
 * the offending field. Routes are exercised with `app.request`, with an agent that records what it was asked.
 */
import { describe, expect, test } from "bun:test"
import type { AgentFacade } from "../../../src/agent/facade.ts"
import { Bus } from "../../../src/bus/index.ts"
import type { Router } from "../../../src/router/index.ts"
import { openAiRoutes } from "../../../src/server/http-openai.ts"
import { toolsRoutes } from "../../../src/server/http-tools.ts"

function fakeAgent() {
  const calls: { name: string; args: unknown; sessionKey: string }[] = []
  const agent = {
    catalog: async () => [{ name: "read", description: "", parameters: {} }],
    invoke: async (name: string, args: unknown, sessionKey: string) => {
      calls.push({ name, args, sessionKey })
      return name === "read" ? { found: true, output: "ok" } : { found: false, output: "", isError: true }
    },
  } as unknown as AgentFacade
  return { agent, calls }
}

function post(
  app: { request: (path: string, init: RequestInit) => Response | Promise<Response> },
  path: string,
  body: unknown,
  contentType: string | null = "application/json",
) {
  return app.request(path, {
    method: "POST",
    headers: contentType === null ? {} : { "content-type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  })
}

describe("POST /tools/invoke bodies", () => {
  const { agent, calls } = fakeAgent()
  const app = toolsRoutes(() => agent)

  test("a valid body reaches the tool; `name` is an alias of `tool`", async () => {
    const res = await post(app, "/invoke", { tool: "read", args: { path: "a" }, sessionKey: "main" })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true, result: "ok", isError: false })
    expect((await post(app, "/invoke", { name: "read" })).status).toBe(200)
    expect(calls.map((c) => c.name)).toEqual(["read", "read"])
  })

  test("JSON sent without a JSON content type is still read", async () => {
    expect((await post(app, "/invoke", { tool: "read" }, null)).status).toBe(200)
    expect((await post(app, "/invoke", { tool: "read" }, "application/x-www-form-urlencoded")).status).toBe(200)
  })

  test("not JSON: 400 INVALID_REQUEST 'body must be JSON'", async () => {
    for (const type of ["application/json", null]) {
      const res = await post(app, "/invoke", "{not json", type)
      expect(res.status).toBe(400)
      expect(await res.json()).toEqual({ ok: false, error: { code: "INVALID_REQUEST", message: "body must be JSON" } })
    }
  })

  test("a body that does not match names the field", async () => {
    const before = calls.length
    const missing = await post(app, "/invoke", { args: {} })
    expect(missing.status).toBe(400)
    const m = (await missing.json()) as { ok: boolean; error: { code: string; message: string } }
    expect(m.ok).toBe(false)
    expect(m.error.code).toBe("INVALID_REQUEST")
    expect(m.error.message).toStartWith("expected {tool, args?, sessionKey?}: ")
    expect(m.error.message).toContain("tool")
    const badArgs = (await (await post(app, "/invoke", { tool: "read", args: "x" })).json()) as { error: { message: string } }
    expect(badArgs.error.message).toContain("args")
    expect(calls.length).toBe(before)
  })

  test("a body over 2 MB is 413 TOO_LARGE", async () => {
    const res = await post(app, "/invoke", { tool: "read", args: { pad: "x".repeat(2 * 1024 * 1024) } })
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({ ok: false, error: { code: "TOO_LARGE", message: "body over 2 MB" } })
  })

  test("an unknown tool is still 404", async () => {
    expect((await post(app, "/invoke", { tool: "nope" })).status).toBe(404)
  })
})

describe("POST /v1/chat/completions bodies", () => {
  const unused = () => {
    throw new Error("a refused body must not reach the agent")
  }
  const routes = (enabled: boolean) =>
    openAiRoutes({ enabled: () => enabled, agent: unused as () => AgentFacade, router: unused as () => Router, bus: new Bus() })

  test("bad bodies: 400 with an OpenAI-style error naming the field", async () => {
    const app = routes(true)
    const cases: [unknown, string][] = [
      ["{not json", "body must be JSON"],
      [{ model: "gateway" }, "messages"],
      [{ messages: [{ role: "robot", content: "x" }] }, "messages.0.role"],
      [{ messages: [{ role: "user", content: "x" }], stream: "yes" }, "stream"],
    ]
    for (const [body, field] of cases) {
      const res = await post(app, "/chat/completions", body)
      expect(res.status).toBe(400)
      const err = ((await res.json()) as { error: { message: string; type: string; code: unknown } }).error
      expect(err.type).toBe("invalid_request_error")
      expect(err.code).toBeNull()
      expect(err.message).toContain(field)
      if (typeof body !== "string") expect(err.message).toStartWith("invalid request: ")
    }
  })

  test("disabled: 404 endpoint_disabled, whatever the body", async () => {
    const app = routes(false)
    for (const body of ["{not json", { messages: [] }]) {
      const res = await post(app, "/chat/completions", body)
      expect(res.status).toBe(404)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("endpoint_disabled")
    }
  })
})
