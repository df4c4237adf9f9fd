/**
 * HTTP on the gateway port through the Hono app (`app.request`, no socket): probes, Bearer auth on the APIs, and
 * /tools/invoke running a real tool in the gateway's workspace. One request goes over the real listener too, to show
 * the port routes plain HTTP to the same app.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { fakeModel } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"

let gw: InProcessGateway

beforeAll(async () => {
  gw = await startInProcess({ models: fakeModel() })
})

afterAll(async () => {
  await gw?.stop()
})

const invoke = (body: unknown, token?: string) =>
  gw.gateway.app.request("/tools/invoke", {
    method: "POST",
    headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  })

describe("probes", () => {
  test("/healthz is live and /readyz ready, without auth", async () => {
    const live = await gw.gateway.app.request("/healthz")
    expect(live.status).toBe(200)
    expect(await live.json()).toEqual({ ok: true, status: "live" })
    const ready = await gw.gateway.app.request("/readyz")
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ ok: true, status: "ready" })
  })

  test("the real listener serves the same app", async () => {
    const res = await fetch(`${gw.httpUrl}/readyz`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true, status: "ready" })
  })

  test("an unknown route is a JSON 404", async () => {
    const res = await gw.gateway.app.request("/nope")
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } })
  })
})

describe("/tools/invoke", () => {
  test("without a Bearer token, or with a wrong one, it is 401 and the tool does not run", async () => {
    const target = `never-written-${crypto.randomUUID()}.txt`
    const none = await invoke({ tool: "write", args: { path: target, content: "x" } })
    expect(none.status).toBe(401)
    expect(await none.json()).toMatchObject({ error: { code: "unauthorized" } })
    const wrong = await invoke({ tool: "write", args: { path: target, content: "x" } }, "wrong-token-value")
    expect(wrong.status).toBe(401)
    expect(await Bun.file(join(gw.gateway.paths.workspace, target)).exists()).toBe(false)
  })

  test("with the token it runs the tool in the workspace", async () => {
    writeFileSync(join(gw.gateway.paths.workspace, "probe.txt"), "first line\nsecond line\n")
    const res = await invoke({ tool: "read", args: { path: "probe.txt" } }, gw.token)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { ok: boolean; result: string; isError: boolean }
    expect(body.ok).toBe(true)
    expect(body.isError).toBe(false)
    expect(body.result).toContain("second line")
  })

  test("an unknown tool is 404, a body without a tool 400, dryRun only checks", async () => {
    const unknown = await invoke({ tool: "no_such_tool" }, gw.token)
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ ok: false, error: { code: "TOOL_NOT_AVAILABLE" } })
    const empty = await invoke({ args: {} }, gw.token)
    expect(empty.status).toBe(400)
    const dry = await invoke({ tool: "read", dryRun: true }, gw.token)
    expect(dry.status).toBe(200)
    expect(await dry.json()).toEqual({ ok: true, dryRun: true, tool: "read" })
  })
})
