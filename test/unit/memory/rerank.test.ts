import { describe, expect, test } from "bun:test"
import { applyDecay, fileDate, mmr } from "../../../src/memory/rerank.ts"
import { memoryFixture } from "./helpers.ts"

const NOW = Date.UTC(2026, 11, 3)

describe("temporal decay", () => {
  test("dated notes halve per half-life; MEMORY.md and undated files keep their score", () => {
    expect(fileDate("memory/2026-12-03.md")?.toISOString()).toBe("2026-12-03T00:00:00.000Z")
    expect(fileDate("MEMORY.md")).toBeUndefined()
    const out = applyDecay(
      [
        { id: 1, score: 0.9, path: "memory/2026-11-03.md", text: "" },
        { id: 2, score: 0.6, path: "MEMORY.md", text: "" },
        { id: 3, score: 0.5, path: "memory/2026-12-03.md", text: "" },
      ],
      30,
      NOW,
    )
    expect(out.map((c) => c.id)).toEqual([2, 3, 1])
    expect(out.find((c) => c.id === 1)!.score).toBeCloseTo(0.45, 5)
  })
})

describe("MMR", () => {
  test("a near-duplicate gives way to a different result; λ = 1 keeps the score order", () => {
    const items = [
      { id: 1, score: 0.9, path: "a", text: "gateway restart after config change" },
      { id: 2, score: 0.88, path: "b", text: "gateway restart after a config change" },
      { id: 3, score: 0.7, path: "c", text: "backup schedule moved to night" },
    ]
    expect(mmr(items, 0.7, 2).map((c) => c.id)).toEqual([1, 3])
    expect(mmr(items, 1, 2).map((c) => c.id)).toEqual([1, 2])
  })

  test("through the service: enabled in config, duplicates no longer fill the results", async () => {
    const fx = await memoryFixture({ search: { minScore: 0, maxResults: 2, mmr: { enabled: true, lambda: 0.5 } } })
    try {
      fx.write("memory/2026-12-01.md", "Restarted the gateway after the config change.\n")
      fx.write("memory/2026-12-02.md", "Restarted the gateway after the config change again.\n")
      fx.write("memory/2026-12-03.md", "The gateway config now lives in the state home.\n")
      await fx.service.sync()
      const paths = (await fx.service.search("gateway config change")).results.map((r) => r.path)
      expect(paths).toHaveLength(2)
      expect(paths).toContain("memory/2026-12-03.md")
    } finally {
      await fx.close()
    }
  })
})
