/**
 * Several agents against the compiled binary and a fake OpenAI server: a configured second agent answers with its own
 * model and workspace; agents.create over the wire writes gateway.json and the new agent answers at once with its
 * model; agents.files.set changes what its prompt carries, and paths outside the bootstrap names are refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { FakeRequestBody } from "../fakes/common.ts"
import { startFakeOpenAI, type FakeServer } from "../fakes/openai.ts"
import { agentTwoStage } from "./agent-helpers.ts"
import { cliEnv, connected, directedModel, E2E_TOKEN, runCli, startBinary, wireText, type GatewayProcess, type RawSocket } from "./harness.ts"

let fake: FakeServer
let gw: GatewayProcess
let sock: RawSocket

beforeAll(async () => {
  fake = startFakeOpenAI(directedModel)
  gw = await startBinary({
    args: ["--token", E2E_TOKEN],
    config: {
      models: {
        default: "fake/main-model",
        providers: { fake: { baseUrl: fake.url, apiKey: "sk-fake-local", models: [{ id: "main-model" }, { id: "second-model" }, { id: "ops-model" }] } },
      },
      agents: {
        list: [
          { id: "main", default: true },
          { id: "second", model: "fake/second-model" },
        ],
      },
    },
  })
  sock = (await connected(gw.url, { scopes: ["operator.admin"] })).sock
})

afterAll(async () => {
  sock?.close()
  await gw?.stop()
  await fake?.stop()
})

async function call(method: string, params: unknown): Promise<Record<string, any>> {
  const res = await sock.request(method as never, params as never)
  if (!res.ok) throw new Error(`${method} failed: ${JSON.stringify(res.error)}`)
  return res.payload as Record<string, any>
}

function systemOf(body: FakeRequestBody): string {
  return (body.messages as { role: string; content: unknown }[])
    .filter((m) => m.role === "system" || m.role === "developer")
    .map((m) => wireText(m.content))
    .join("\n")
}

async function ask(params: Record<string, unknown>): Promise<{ sessionKey: string; body: FakeRequestBody }> {
  const from = fake.requests.length
  const { accepted, final } = await agentTwoStage(sock, { idempotencyKey: crypto.randomUUID(), ...params })
  expect(final.ok).toBe(true)
  const body = fake.requests[from]!
  return { sessionKey: (accepted.payload as { sessionKey: string }).sessionKey, body }
}

describe("several agents in the binary", () => {
  test("the configured second agent runs with its own model and workspace; the default with its own", async () => {
    const second = await ask({ message: "hello second", agentId: "second" })
    expect(second.sessionKey).toBe("agent:second:main")
    expect(second.body.model).toBe("second-model")
    expect(systemOf(second.body)).toContain(`workspace=${join(gw.home, "workspace-second")}`)
    expect(existsSync(join(gw.home, "workspace-second", "SOUL.md"))).toBe(true)

    const main = await ask({ message: "hello main", sessionKey: "main" })
    expect(main.sessionKey).toBe("agent:main:main")
    expect(main.body.model).toBe("main-model")
    expect(systemOf(main.body)).toContain(`workspace=${join(gw.home, "workspace")} `)
  })

  test("gateway agent --agent ID runs in that agent's main session; without it, in the default agent's", async () => {
    const from = fake.requests.length
    const second = await runCli(["agent", "--message", "cli to second", "--agent", "second", "--json"], cliEnv(gw))
    expect(second.code).toBe(0)
    expect(JSON.parse(second.out).result.meta.agentMeta.sessionKey).toBe("agent:second:main")
    const main = await runCli(["agent", "--message", "cli to default", "--json"], cliEnv(gw))
    expect(main.code).toBe(0)
    expect(JSON.parse(main.out).result.meta.agentMeta.sessionKey).toBe("agent:main:main")
    expect(fake.requests.slice(from).map((b) => b.model)).toEqual(["second-model", "main-model"])
  })

  test("agents.create writes gateway.json and the new agent answers; its files shape its prompt", async () => {
    const created = await call("agents.create", { name: "Ops", model: "fake/ops-model" })
    expect(created).toEqual({ ok: true, agentId: "ops", name: "Ops", workspace: join(gw.home, "workspace-ops"), model: "fake/ops-model" })
    const onDisk = JSON.parse(readFileSync(join(gw.home, "gateway.json"), "utf8"))
    expect(onDisk.agents.list.map((a: { id: string }) => a.id)).toEqual(["main", "second", "ops"])
    expect((await call("agents.list", {})).agents.map((a: { id: string }) => a.id)).toEqual(["main", "second", "ops"])

    await call("agents.files.set", { agentId: "ops", name: "SOUL.md", content: "You keep the servers up.\n" })
    const r = await ask({ message: "status?", agentId: "ops" })
    expect(r.sessionKey).toBe("agent:ops:main")
    expect(r.body.model).toBe("ops-model")
    expect(systemOf(r.body)).toContain("You keep the servers up.")

    const files = await call("agents.files.list", { agentId: "ops" })
    expect(files.files.find((f: { name: string }) => f.name === "SOUL.md")).toMatchObject({ missing: false, size: 25 })
    const traversal = await sock.request("agents.files.get" as never, { agentId: "ops", name: "../gateway.json" } as never)
    expect(traversal.ok).toBe(false)
    expect((traversal.error as { details?: { code?: string } }).details?.code).toBe("UNSUPPORTED_FILE")
  })
})
