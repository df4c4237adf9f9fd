/**
 * Memory index figures on a deterministic synthetic corpus (seeded vectors, a small vocabulary), in this process
 * with the gateway's own store and MemoryRepo (real SQLite, real sqlite-vec): index throughput with precomputed
 * vectors, vector search p50/p99 at 10k and 100k chunks for 384 and 1536 dimensions beside the same query as a bare
 * sqlite-vec KNN on the same table (the floor), keyword search p50 at the largest size, and RSS after indexing.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { MemoryRepo, vecTableOf } from "../../src/store/memory.ts"
import { openStore } from "../../src/store/index.ts"
import { median, round } from "./wire.ts"
import { Rng } from "../load/mutate.ts"

/** A seeded PRNG, uniform in [0, 1) (the load scripts' mulberry32). */
function prng(seed: number): () => number {
  const rng = new Rng(seed >>> 0)
  return () => rng.next()
}

function unitVector(rand: () => number, dims: number): Float32Array {
  const v = new Float32Array(dims)
  let n = 0
  for (let i = 0; i < dims; i++) {
    v[i] = rand() * 2 - 1
    n += v[i]! * v[i]!
  }
  const s = 1 / Math.sqrt(n)
  for (let i = 0; i < dims; i++) v[i]! *= s
  return v
}

const WORDS =
  "gateway restart memory channel telegram discord session agent tool policy outbox pairing token config backup schedule note meeting plan deploy".split(" ")

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN
}

const toBlob = (v: Float32Array) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength)

export async function benchMemory(opts: { quick: boolean }) {
  const sizes = opts.quick ? [10_000] : [10_000, 100_000]
  const dimsList = opts.quick ? [384] : [384, 1536]
  const queries = opts.quick ? 30 : 100
  const rows: Record<string, unknown>[] = []
  let keywordP50: number | undefined
  let rssAfterLargestMB: number | undefined
  // This process ran other benchmarks before: the growth while indexing is the figure, beside the absolute RSS.
  Bun.gc(true)
  const rssBeforeMB = process.memoryUsage.rss() / 1e6
  for (const dims of dimsList) {
    for (const size of sizes) {
      const dir = mkdtempSync(join(tmpdir(), "gw-bench-mem-"))
      const store = await openStore({ file: join(dir, "gateway.db"), cacheDir: join(dir, "cache") })
      try {
        if (!store.vec.loaded) return { skipped: `sqlite-vec did not load: ${store.vec.error}` }
        const repo = new MemoryRepo(store)
        const gen = `bench:${dims}`
        const rand = prng(dims * 7 + size)
        const perFile = 100
        const t0 = performance.now()
        for (let f = 0; f < size / perFile; f++) {
          const chunks = Array.from({ length: perFile }, (_, i) => {
            const text = Array.from({ length: 40 }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(" ")
            return { startLine: i * 10 + 1, endLine: i * 10 + 10, hash: `${f}-${i}`, text, embedding: unitVector(rand, dims) }
          })
          repo.replaceFile({ gen, path: `memory/${f}.md`, source: "memory", hash: String(f), mtime: 0, size: 0, model: "bench", chunks })
        }
        const indexSeconds = (performance.now() - t0) / 1000
        const qs = Array.from({ length: queries }, () => unitVector(rand, dims))
        const knn = store.sqlite.query<{ id: number }, [Uint8Array, number]>(`select rowid as id from ${vecTableOf(gen)} where embedding match ? and k = ?`)
        // Alternate ours and the floor so machine noise hits both alike.
        const ours: number[] = []
        const floor: number[] = []
        for (const q of qs) {
          let s = performance.now()
          repo.vector(gen, q, 10, "sqlite-vec")
          ours.push(performance.now() - s)
          s = performance.now()
          knn.all(toBlob(q), 10)
          floor.push(performance.now() - s)
        }
        rows.push({
          dims,
          chunks: size,
          indexChunksPerSecond: round(size / indexSeconds),
          searchMs: { p50: round(median(ours)), p99: round(percentile(ours, 99)) },
          floorKnnMs: { p50: round(median(floor)), p99: round(percentile(floor, 99)) },
          ratioP50: round(median(ours) / median(floor)),
        })
        if (size === sizes.at(-1) && dims === dimsList[0]) {
          const kw: number[] = []
          for (let i = 0; i < queries; i++) {
            const q = `${WORDS[i % WORDS.length]} ${WORDS[(i * 7) % WORDS.length]}`
            const s = performance.now()
            repo.keyword(gen, q, 20)
            kw.push(performance.now() - s)
          }
          keywordP50 = round(median(kw))
          rssAfterLargestMB = round(process.memoryUsage.rss() / 1e6)
        }
      } finally {
        store.close()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  const pass = rows.every((r) => (r.ratioP50 as number) <= 1.5)
  return {
    note: "vector search = MemoryRepo.vector (what memory search issues) vs a bare sqlite-vec KNN on the same table; in-process, deterministic corpus",
    rows,
    keywordP50Ms: { chunks: sizes.at(-1), p50: keywordP50 },
    rssAfterIndexingMB: {
      chunks: sizes.at(-1),
      dims: dimsList[0],
      rss: rssAfterLargestMB,
      growth: rssAfterLargestMB === undefined ? undefined : round(rssAfterLargestMB - rssBeforeMB),
    },
    target: "search p50 <= 1.5 x the bare KNN",
    pass,
  }
}
