/**
 * Optional re-ranking after fusion, both off by default: temporal decay (dated notes such as memory/2026-12-03.md lose
 * half their score every `halfLifeDays`; MEMORY.md and undated files never decay, they are curated) and MMR (maximal
 * marginal relevance: each next result trades score against word overlap with those already picked, so five
 * near-identical daily notes do not crowd out everything else).
 */

export interface Candidate {
  id: number
  score: number
  path: string
  text: string
}

const DATE = /(\d{4})-(\d{2})-(\d{2})/

/** The date a memory file is about, from its name; undefined for undated files. */
export function fileDate(path: string): Date | undefined {
  const m = path.match(DATE)
  if (!m) return undefined
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  return Number.isNaN(d.getTime()) ? undefined : d
}

export function applyDecay<C extends Candidate>(items: C[], halfLifeDays: number, now = Date.now()): C[] {
  return items
    .map((c) => {
      const d = fileDate(c.path)
      if (!d) return c
      const ageDays = Math.max(0, (now - d.getTime()) / 86_400_000)
      return { ...c, score: c.score * 0.5 ** (ageDays / halfLifeDays) }
    })
    .sort((a, b) => b.score - a.score || a.id - b.id)
}

const words = (text: string) => new Set(text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [])

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 0
  let inter = 0
  for (const w of a) if (b.has(w)) inter++
  return inter / (a.size + b.size - inter)
}

/** Picks `limit` items by λ·score − (1−λ)·(max similarity to the items already picked). Scores are kept as they were. */
export function mmr<C extends Candidate>(items: C[], lambda: number, limit: number): C[] {
  const pool = items.map((c) => ({ c, w: words(c.text) }))
  const picked: typeof pool = []
  while (picked.length < limit && pool.length) {
    let best = 0
    let bestValue = -Infinity
    for (const [i, p] of pool.entries()) {
      const redundancy = picked.length ? Math.max(...picked.map((q) => jaccard(p.w, q.w))) : 0
      const value = lambda * p.c.score - (1 - lambda) * redundancy
      if (value > bestValue) {
        bestValue = value
        best = i
      }
    }
    picked.push(pool.splice(best, 1)[0]!)
  }
  return picked.map((p) => p.c)
}
