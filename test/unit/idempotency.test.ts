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
    const a = cache.run("k", "f", fn)
    const b = cache.run("k", "f", fn)
    expect(a.cached).toBe(false)
    expect(b.cached).toBe(true)
    expect(await Promise.all([a.promise, b.promise])).toEqual([42, 42])
    expect(runs).toBe(1)
    expect(await cache.run("k", "f", fn).promise).toBe(42)
    expect(runs).toBe(1)
  })

  test("a failure is shared too, not retried behind the caller's back", async () => {
    const cache = new IdempotencyCache<number>()
    let runs = 0
    const fn = async () => {
      runs++
      throw new Error("boom")
    }
    await expect(cache.run("k", "f", fn).promise).rejects.toThrow("boom")
    await expect(cache.run("k", "f", fn).promise).rejects.toThrow("boom")
    expect(runs).toBe(1)
  })

  test("entries expire after the TTL", async () => {
    let now = 0
    const cache = new IdempotencyCache<number>({ ttlMs: 1000, now: () => now })
    let runs = 0
    await cache.run("k", "f", async () => ++runs).promise
    now = 999
    expect(await cache.run("k", "f", async () => ++runs).promise).toBe(1)
    now = 1001
    expect(await cache.run("k", "f", async () => ++runs).promise).toBe(2)
  })

  test("size is bounded, oldest settled entries go first", async () => {
    const cache = new IdempotencyCache<number>({ maxEntries: 3 })
    let runs = 0
    for (let i = 0; i < 5; i++) await cache.run(`k${i}`, "f", async () => (runs++, i)).promise
    expect(cache.size).toBe(3)
    // k0 was evicted: it runs again; k4 is still cached.
    expect(await cache.run("k0", "f", async () => (runs++, 100)).promise).toBe(100)
    expect(await cache.run("k4", "f", async () => (runs++, 200)).promise).toBe(4)
    expect(runs).toBe(6)
  })

  test("the same key for a different call is refused and runs nothing", async () => {
    const cache = new IdempotencyCache<number>()
    let runs = 0
    await cache.run("k", JSON.stringify(["read", { path: "a" }]), async () => ++runs).promise
    expect(() => cache.run("k", JSON.stringify(["read", { path: "b" }]), async () => ++runs)).toThrow("already used for a different call")
    expect(runs).toBe(1)
  })
})
