import { afterEach, describe, expect, test } from "bun:test"
import { renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Memory } from "../../../src/config/memory-schema.ts"
import { startFakeEmbeddings, type FakeEmbeddings } from "../../fakes/embeddings.ts"
import { memoryFixture, type MemoryFixture } from "./helpers.ts"

let fx: MemoryFixture | undefined
let fake: FakeEmbeddings | undefined
afterEach(async () => {
  await fx?.close()
  await fake?.stop()
  fx = undefined
  fake = undefined
})

const provider = (url: string, extra: Record<string, unknown> = {}) => ({
  provider: { kind: "openai-compatible", baseUrl: url, model: "fake-embed", ...extra },
})

describe("keyword-only mode", () => {
  test("with no provider, search is keyword-only and status says so plainly", async () => {
    fx = await memoryFixture()
    fx.write("MEMORY.md", "# Ops\n\nWe restart the gateway with systemctl after a config change.\n")
    fx.write("memory/2026-12-03.md", "# 3 Dec\n\nBought coffee beans.\n")
    const r = await fx.service.sync()
    expect(r).toMatchObject({ indexed: 2, removed: 0 })
    const st = fx.service.status()
    expect(st).toMatchObject({ files: 2, mode: "keyword-only", provider: null, embedded: 0 })
    expect(st.modeReason).toContain("no embedding provider configured")
    const res = await fx.service.search("restart gateway")
    expect(res.mode).toBe("keyword-only")
    expect(res.results[0]).toMatchObject({ path: "MEMORY.md", startLine: 1, endLine: 3, source: "memory" })
    expect(res.results.some((x) => x.path.includes("2026-12-03"))).toBe(false)
    // A new service on the same database (a restart) still knows when the index was last synced.
    expect(fx.another().status()).toMatchObject({ files: 2, lastSyncAt: st.lastSyncAt, lastSyncMs: st.lastSyncMs })
    expect(st.lastSyncAt).toBeGreaterThan(0)
  })

  test("an unreachable provider: files are indexed for keywords, vectors come once it answers", async () => {
    fake = startFakeEmbeddings()
    fake.down = true
    fx = await memoryFixture(provider(fake.url, { timeoutMs: 2000 }))
    fx.write("MEMORY.md", "The deploy key lives in the vault.\n")
    await fx.service.sync()
    let st = fx.service.status()
    expect(st).toMatchObject({ chunks: 1, embedded: 0, mode: "keyword-only" })
    expect(st.modeReason).toMatch(/unreachable.*HTTP 500/)
    expect((await fx.service.search("vault")).results[0]?.path).toBe("MEMORY.md")
    fake.down = false
    await fx.service.sync()
    st = fx.service.status()
    expect(st).toMatchObject({ embedded: 1, mode: "sqlite-vec", provider: "openai-compatible", model: "fake-embed", dims: 64 })
  })
})

describe("Korean, Japanese and Chinese keyword recall", () => {
  test("substrings of words glued to particles are found (trigram index)", async () => {
    fx = await memoryFixture()
    fx.write("memory/ko.md", "# 기록\n\n어제 게이트웨이를 재시작했다.\n")
    fx.write("memory/ja.md", "# メモ\n\nゲートウェイを再起動した。\n")
    fx.write("memory/zh.md", "# 笔记\n\n我们昨天重新启动了网关服务器。\n")
    fx.write("memory/en.md", "# Notes\n\nNothing about restarts here, only lunch.\n")
    await fx.service.sync()
    const top = async (q: string) => (await fx!.service.search(q)).results[0]?.path
    expect(await top("게이트웨이")).toBe("memory/ko.md")
    expect(await top("게이트웨이 재시작")).toBe("memory/ko.md")
    expect(await top("再起動")).toBe("memory/ja.md")
    expect(await top("重新启动")).toBe("memory/zh.md")
    // Two characters are shorter than a trigram: found all the same.
    expect(await top("网关")).toBe("memory/zh.md")
    expect((await fx.service.search("없는단어")).results).toHaveLength(0)
    // Part of an English word: the word index has nothing, the trigram index finds it.
    expect(await top("restart")).toBe("memory/en.md")
  })
})

describe("incremental sync", () => {
  test("only changed files are reindexed; deleted and renamed files drop their old chunks; the cache saves re-embedding", async () => {
    fake = startFakeEmbeddings()
    fx = await memoryFixture(provider(fake.url))
    fx.write("MEMORY.md", "# Prefs\n\nThe owner prefers tea over coffee.\n")
    fx.write("memory/a.md", "# A\n\nThe backup job runs at midnight.\n")
    fx.write("memory/b.md", "# B\n\nThe cat is called Miso.\n")
    expect(await fx.service.sync()).toMatchObject({ indexed: 3, unchanged: 0 })
    const embeddedAfterFirst = fake.texts()
    expect(embeddedAfterFirst).toBe(3)

    // Untouched: nothing read, nothing embedded.
    expect(await fx.service.sync()).toMatchObject({ indexed: 0, unchanged: 3 })
    expect(fake.texts()).toBe(embeddedAfterFirst)

    // Edit: one file reindexed, old text gone from search.
    fx.write("memory/a.md", "# A\n\nThe backup job runs at noon now.\n")
    utimesSync(join(fx.workspace, "memory/a.md"), new Date(), new Date(Date.now() + 5000))
    expect(await fx.service.sync()).toMatchObject({ indexed: 1, unchanged: 2 })
    expect((await fx.service.search("midnight", { minScore: 0.01 })).results.map((r) => r.snippet).join()).not.toContain("midnight")
    expect((await fx.service.search("backup noon")).results[0]?.path).toBe("memory/a.md")

    // Delete: its chunks go.
    rmSync(join(fx.workspace, "memory/b.md"))
    expect(await fx.service.sync()).toMatchObject({ removed: 1 })
    expect((await fx.service.search("Miso cat")).results.some((r) => r.path === "memory/b.md")).toBe(false)

    // Rename: the old path goes, the new one is found, and no text is embedded again (same chunk hashes).
    const before = fake.texts()
    renameSync(join(fx.workspace, "MEMORY.md"), join(fx.workspace, "memory/prefs.md"))
    expect(await fx.service.sync()).toMatchObject({ indexed: 1, removed: 1 })
    expect(fake.texts()).toBe(before)
    const hits = (await fx.service.search("tea coffee")).results
    expect(hits[0]?.path).toBe("memory/prefs.md")
    expect(hits.some((r) => r.path === "MEMORY.md")).toBe(false)
    expect(fx.service.status()).toMatchObject({ files: 2, chunks: 2, embedded: 2 })
  })

  test("the watcher follows edits, a memory/ directory created later, and deletions", async () => {
    fx = await memoryFixture()
    fx.write("MEMORY.md", "first version\n")
    fx.service.start()
    const found = async (q: string) => (await fx!.service.search(q)).results.map((r) => r.path)
    const until = async (q: string, ok: (paths: string[]) => boolean) => {
      const deadline = Date.now() + 5000
      while (Date.now() < deadline && !ok(await found(q))) await Bun.sleep(50)
      return found(q)
    }
    expect(await until("first", (p) => p.length > 0)).toEqual(["MEMORY.md"])
    fx.write("MEMORY.md", "second version mentions zebras\n")
    expect(await until("zebras", (p) => p.length > 0)).toEqual(["MEMORY.md"])
    // The directory did not exist when the watcher started.
    fx.write("memory/2026-12-03.md", "daily note about walruses\n")
    expect(await until("walruses", (p) => p.length > 0)).toEqual(["memory/2026-12-03.md"])
    fx.write("memory/2026-12-03.md", "daily note about walruses and otters\n")
    expect(await until("otters", (p) => p.length > 0)).toEqual(["memory/2026-12-03.md"])
    rmSync(join(fx.workspace, "memory/2026-12-03.md"))
    expect(await until("walruses", (p) => p.length === 0)).toEqual([])
  })

  test("a corrupt or half-written file is indexed as far as it goes; a binary file is skipped and reported", async () => {
    fx = await memoryFixture()
    // Invalid UTF-8 in the middle and an unclosed code fence at the end, as an editor's half-written save.
    const bytes = Buffer.concat([Buffer.from("# Half\n\nThe router password rotates monthly \xff\xfe.\n\n```sh\ngateway restart --for"), Buffer.from([0xc3])])
    writeFileSync(join(fx.workspace, "MEMORY.md"), bytes)
    fx.write("memory/blob.md", "abc\u0000def")
    fx.write("memory/ok.md", "healthy file about turnips\n")
    const r = await fx.service.sync()
    expect(r).toMatchObject({ indexed: 2, skipped: 1 })
    expect((await fx.service.search("password rotates")).results[0]).toMatchObject({ path: "MEMORY.md", startLine: 1 })
    expect((await fx.service.search("restart")).results[0]?.snippet).toContain("gateway restart --for")
    expect(fx.service.status().skipped).toEqual([{ path: "memory/blob.md", reason: expect.stringContaining("not a text file") }])
  })
})

describe("hybrid search", () => {
  const corpus: Record<string, string> = {
    "memory/deploy.md": "# Deploy\n\nProduction deploys run from the release branch every Tuesday afternoon.\n",
    "memory/pets.md": "# Pets\n\nThe dog Biscuit needs his medicine every morning with breakfast.\n",
    "memory/travel.md": "# Travel\n\nFlight to Lisbon booked for March; hotel near the river.\n",
    "memory/health.md": "# Health\n\nDentist appointment moved to Friday morning.\n",
    "memory/db.md": "# Database\n\nPostgres backups are copied to the cold storage bucket nightly.\n",
  }
  const labelled: [string, string][] = [
    ["when do production deploys happen", "memory/deploy.md"],
    ["medicine for the dog", "memory/pets.md"],
    ["Lisbon flight", "memory/travel.md"],
    ["dentist appointment", "memory/health.md"],
    ["where are database backups copied", "memory/db.md"],
  ]

  test("on a small labelled corpus the right chunk ranks first", async () => {
    fake = startFakeEmbeddings()
    fx = await memoryFixture(provider(fake.url))
    for (const [p, t] of Object.entries(corpus)) fx.write(p, t)
    await fx.service.sync()
    for (const [q, want] of labelled) {
      const res = await fx.service.search(q)
      expect(res.mode).toBe("sqlite-vec")
      expect([q, res.results[0]?.path]).toEqual([q, want])
      expect(res.results[0]!.score).toBeGreaterThan(res.results[1]?.score ?? 0)
    }
  })

  test("the exact scan gives the same ranking and scores as vec0", async () => {
    fake = startFakeEmbeddings()
    fx = await memoryFixture(provider(fake.url))
    for (const [p, t] of Object.entries(corpus)) fx.write(p, t)
    await fx.service.sync()
    const scan = fx.another({ vectorMode: "scan" })
    expect(scan.status().mode).toBe("scan")
    for (const [q] of labelled) {
      const a = await fx.service.search(q, { maxResults: 3 })
      const b = await scan.search(q, { maxResults: 3 })
      expect(b.mode).toBe("scan")
      expect(b.results.map((r) => r.path)).toEqual(a.results.map((r) => r.path))
      for (const [i, r] of b.results.entries()) expect(r.score).toBeCloseTo(a.results[i]!.score, 3)
    }
  })

  test("where sqlite-vec cannot load, status says scan and the results are the same", async () => {
    fake = startFakeEmbeddings()
    fx = await memoryFixture(provider(fake.url))
    for (const [p, t] of Object.entries(corpus)) fx.write(p, t)
    await fx.service.sync()
    const noVec = await memoryFixture(provider(fake.url), { vecUnavailable: true })
    try {
      for (const [p, t] of Object.entries(corpus)) noVec.write(p, t)
      await noVec.service.sync()
      expect(noVec.service.status()).toMatchObject({ mode: "scan", modeReason: expect.stringContaining("sqlite-vec unavailable"), embedded: 5 })
      for (const [q, want] of labelled) {
        const a = await fx.service.search(q, { maxResults: 3 })
        const b = await noVec.service.search(q, { maxResults: 3 })
        expect(b.results[0]?.path).toBe(want)
        expect(b.results.map((r) => [r.path, r.score])).toEqual(a.results.map((r) => [r.path, r.score]))
      }
    } finally {
      await noVec.close()
    }
  })

  test("a provider that goes away: searches fall back to keywords at once, and say so", async () => {
    fake = startFakeEmbeddings()
    fx = await memoryFixture(provider(fake.url))
    for (const [p, t] of Object.entries(corpus)) fx.write(p, t)
    await fx.service.sync()
    await fake.stop()
    const first = await fx.service.search("dentist appointment")
    expect(first).toMatchObject({ mode: "keyword-only", fallback: expect.stringContaining("query embedding failed") })
    expect(first.results[0]?.path).toBe("memory/health.md")
    const t0 = performance.now()
    const second = await fx.service.search("Lisbon flight")
    expect(performance.now() - t0).toBeLessThan(200)
    expect(second).toMatchObject({ mode: "keyword-only", fallback: expect.stringContaining("unreachable") })
    expect(second.results[0]?.path).toBe("memory/travel.md")
    fake = undefined
  })

  test("changing the model rebuilds in the background while search answers from the old index", async () => {
    fake = startFakeEmbeddings()
    fx = await memoryFixture(provider(fake.url))
    for (const [p, t] of Object.entries(corpus)) fx.write(p, t)
    await fx.service.sync()
    fx.config = Memory.parse({ ...provider(fake.url, { model: "fake-embed-2", dimensions: 32 }), search: { minScore: 0 } })
    // Slow the new generation's embeddings down and search while it builds.
    fake.failNext(1, 429)
    const rebuild = fx.service.sync()
    expect(fx.service.status().rebuilding).toBe(true)
    const during = await fx.service.search("dentist appointment")
    expect(during.results[0]?.path).toBe("memory/health.md")
    expect(during.model).toBe("fake-embed")
    await rebuild
    const after = await fx.service.search("dentist appointment")
    expect(after).toMatchObject({ model: "fake-embed-2", mode: "sqlite-vec" })
    expect(fx.service.status()).toMatchObject({ dims: 32, rebuilding: false, files: 5, embedded: 5 })
    expect(after.results[0]?.path).toBe("memory/health.md")
  })
})

describe("memory_get", () => {
  test("reads lines of memory files only; a missing one reads as empty", async () => {
    fx = await memoryFixture()
    fx.write("memory/2026-12-03.md", "l1\nl2\nl3\nl4\n")
    fx.write("notes.md", "not memory")
    expect(fx.service.read("memory/2026-12-03.md", 2, 2)).toMatchObject({ from: 2, to: 3, text: "l2\nl3" })
    expect(fx.service.read("memory/none.md")).toMatchObject({ text: "" })
    expect(() => fx!.service.read("notes.md")).toThrow(/not a memory file/)
    expect(() => fx!.service.read("../etc/passwd.md")).toThrow(/not a memory file/)
    // A symlink planted in memory/ does not read outside the memory files.
    writeFileSync(join(fx.dir, "secret.md"), "top secret")
    symlinkSync(join(fx.dir, "secret.md"), join(fx.workspace, "memory/link.md"))
    expect(() => fx!.service.read("memory/link.md")).toThrow(/outside the memory files/)
  })
})
