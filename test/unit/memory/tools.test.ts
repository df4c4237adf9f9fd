/** memory_search / memory_get through the agent's tool door (tools.catalog / tools.invoke) of an in-process gateway. */
import { afterEach, describe, expect, test } from "bun:test"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"

let gw: InProcessGateway | undefined
afterEach(async () => {
  await gw?.stop()
  gw = undefined
})

describe("memory tools", () => {
  test("offered to the agent, searching and reading memory files", async () => {
    gw = await startInProcess()
    const ws = join(gw.home, "workspace")
    mkdirSync(join(ws, "memory"), { recursive: true })
    writeFileSync(join(ws, "memory/2026-12-03.md"), "# 3 Dec\n\nMoved the staging box to the new rack.\nLine four.\n")
    const c = await gw.connect()
    await c.call("memory.reindex", {})
    const { tools } = (await c.call("tools.catalog", {})) as { tools: { name: string }[] }
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["memory_search", "memory_get"]))
    const found = (await c.call("tools.invoke", { name: "memory_search", args: { query: "staging rack" } })) as { result: string; meta: { results: unknown[] } }
    expect(found.result).toContain("memory/2026-12-03.md#1-4")
    expect(found.result).toContain("keyword search only")
    const read = (await c.call("tools.invoke", { name: "memory_get", args: { path: "memory/2026-12-03.md", from: 3, lines: 1 } })) as { result: string }
    expect(read.result).toBe("Moved the staging box to the new rack.")
    const refused = (await c.call("tools.invoke", { name: "memory_get", args: { path: "AGENTS.md" } })) as { isError: boolean; result: string }
    expect(refused).toMatchObject({ isError: true })
    expect(refused.result).toContain("not a memory file")
  })

  test("tools.deny removes them", async () => {
    gw = await startInProcess({ config: { tools: { deny: ["memory_*"] } } })
    const c = await gw.connect()
    const { tools } = (await c.call("tools.catalog", {})) as { tools: { name: string }[] }
    expect(tools.map((t) => t.name)).not.toContain("memory_search")
    expect(tools.map((t) => t.name)).not.toContain("memory_get")
    expect(tools.length).toBeGreaterThan(3)
  })
})
