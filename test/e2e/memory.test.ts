/**
 * Memory against the compiled binary: a loopback OpenAI-format embeddings server, files written into the workspace,
 * the watcher picking up an edit, memory.search over the wire (hybrid and Korean keyword recall), the CLI's
 * `memory search --json` and `memory status`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { startFakeEmbeddings, type FakeEmbeddings } from "../fakes/embeddings.ts"
import { BINARY, connected, E2E_TOKEN, startBinary, type GatewayProcess, type RawSocket, until } from "./harness.ts"

let fake: FakeEmbeddings
let gw: GatewayProcess
let sock: RawSocket

async function call(method: string, params: unknown): Promise<Record<string, any>> {
  const res = await sock.request(method as never, params as never)
  if (!res.ok) throw new Error(`${method} failed: ${JSON.stringify(res.error)}`)
  return res.payload as Record<string, any>
}

beforeAll(async () => {
  fake = startFakeEmbeddings({ dims: 48 })
  gw = await startBinary({
    args: ["--token", E2E_TOKEN],
    config: { memory: { provider: { kind: "openai-compatible", baseUrl: fake.url, model: "fake-embed" }, watchDebounceMs: 100 } },
  })
  const ws = join(gw.home, "workspace")
  mkdirSync(join(ws, "memory"), { recursive: true })
  writeFileSync(join(ws, "MEMORY.md"), "# Owner\n\nThe owner prefers green tea in the morning.\n")
  writeFileSync(join(ws, "memory/2026-12-03.md"), "# 3 Dec\n\n어제 게이트웨이를 재시작했다.\n\nThe nightly backup moved to 02:00.\n")
  sock = (await connected(gw.url, { scopes: ["operator.admin"] })).sock
})

afterAll(async () => {
  sock?.close()
  await gw?.stop()
  await fake?.stop()
})

/** The CLI, asynchronously: the fake embeddings server lives in this process and must keep answering meanwhile. */
async function cli(...args: string[]): Promise<{ exitCode: number | null; stdout: string }> {
  const env = { PATH: process.env.PATH ?? "", HOME: gw.home, GATEWAY_HOME: gw.home }
  const proc = Bun.spawn([BINARY, ...args, "--url", gw.url, "--token", E2E_TOKEN], { env, stdout: "pipe", stderr: "inherit" })
  const stdout = await new Response(proc.stdout).text()
  return { exitCode: await proc.exited, stdout }
}

describe("memory over the wire", () => {
  test("files written after start are indexed by the watcher, with vectors from sqlite-vec", async () => {
    const st = await until(
      () => call("memory.status", {}),
      (s) => s.files === 2 && s.embedded >= 2,
    )
    expect(st).toMatchObject({ files: 2, mode: "sqlite-vec", provider: "openai-compatible", model: "fake-embed", dims: 48 })
  })

  test("memory.search: hybrid ranking, Korean keyword recall, exact line ranges", async () => {
    const tea = await call("memory.search", { query: "what tea does the owner prefer" })
    expect(tea.mode).toBe("sqlite-vec")
    expect(tea.results[0]).toMatchObject({ path: "MEMORY.md", startLine: 1, endLine: 3, source: "memory" })
    const ko = await call("memory.search", { query: "게이트웨이 재시작" })
    expect(ko.results[0]).toMatchObject({ path: "memory/2026-12-03.md" })
    expect(ko.results[0].snippet).toContain("게이트웨이를 재시작했다")
  })

  test("an edit is picked up; the CLI prints search --json and status", async () => {
    writeFileSync(join(gw.home, "workspace/memory/2026-12-03.md"), "# 3 Dec\n\nThe nightly backup moved to 04:30 and pings the pager.\n")
    await until(
      () => call("memory.search", { query: "pager" }),
      (r) => r.results.length > 0,
    )
    const out = await cli("memory", "search", "backup pager", "--json", "--limit", "1")
    expect(out.exitCode).toBe(0)
    const parsed = JSON.parse(out.stdout)
    expect(parsed.results).toHaveLength(1)
    expect(Object.keys(parsed.results[0]).sort()).toEqual(["endLine", "path", "score", "snippet", "source", "startLine"])
    expect(parsed.results[0].path).toBe("memory/2026-12-03.md")
    const status = await cli("memory", "status")
    expect(status.exitCode).toBe(0)
    expect(status.stdout).toMatch(/vectors\s+sqlite-vec/)
    expect(status.stdout).toMatch(/files\s+2/)
  }, 30_000)
})
