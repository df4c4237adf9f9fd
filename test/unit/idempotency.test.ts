import { describe, expect, test } from "bun:test"
import { IdempotencyCache } from "../../src/methods/idempotency.ts"

describe("IdempotencyCache", () => {
  test("concurrent calls with one key share one execution", async () => {
    const cache = new IdempotencyCache<number>()
    let runs = 0
    const fn = async () => {
      runs++
      await Bun.sleep(10)
      return 42
    }
    const a = cache.run("k", fn)
    const b = cache.run("k", fn)
    expect(a.cached).toBe(false)
    expect(b.cached).toBe(true)
    expect(await Promise.all([a.promise, b.promise])).toEqual([42, 42])
    expect(runs).toBe(1)
    expect(await cache.run("k", fn).promise).toBe(42)
    expect(runs).toBe(1)
  })

  test("a failure is shared too, not retried behind the caller's back", async () => {
    const cache = new IdempotencyCache<number>()
    let runs = 0
    const fn = async () => {
      runs++
      throw new Error("boom")
    }
    await expect(cache.run("k", fn).promise).rejects.toThrow("boom")
    await expect(cache.run("k", fn).promise).rejects.toThrow("boom")
    expect(runs).toBe(1)
  })

  test("entries expire after the TTL", async () => {
    let now = 0
    const cache = new IdempotencyCache<number>({ ttlMs: 1000, now: () => now })
    let runs = 0
    await cache.run("k", async () => ++runs).promise
    now = 999
    expect(await cache.run("k", async () => ++runs).promise).toBe(1)
    now = 1001
    expect(await cache.run("k", async () => ++runs).promise).toBe(2)
  })

  test("size is bounded, oldest settled entries go first", async () => {
    const cache = new IdempotencyCache<number>({ maxEntries: 3 })
    for (let i = 0; i < 5; i++) await cache.run(`k${i}`, async () => i).promise
    expect(cache.size).toBe(3)
    expect(cache.get("k0")).toBeUndefined()
    expect(await cache.get("k4")).toBe(4)
  })

  test("set replaces a stored outcome", async () => {
    const cache = new IdempotencyCache<string>()
    await cache.run("run", async () => "accepted").promise
    cache.set("run", "final")
    expect(await cache.run("run", async () => "again").promise).toBe("final")
  })
})
