/**
 * Fuses vector and keyword candidates: score = vectorWeight·similarity + textWeight·keyword (weights normalised to
 * sum to 1); without vectors the keyword score alone. Then minScore and maxResults. Pure, so ranking is unit-tested
 * without a database.
 */
import type { ScoredId } from "../store/memory.ts"

export interface FuseOptions {
  vectorWeight: number
  textWeight: number
  minScore: number
  maxResults: number
}

export function fuse(vector: ScoredId[] | undefined, keyword: ScoredId[], o: FuseOptions): ScoredId[] {
  const text = new Map(keyword.map((k) => [k.id, k.score]))
  if (!vector) {
    return keyword
      .filter((k) => k.score >= o.minScore)
      .sort((a, b) => b.score - a.score || a.id - b.id)
      .slice(0, o.maxResults)
  }
  const sum = o.vectorWeight + o.textWeight || 1
  const wv = o.vectorWeight / sum
  const wt = o.textWeight / sum
  const vec = new Map(vector.map((v) => [v.id, Math.max(0, v.score)]))
  const ids = new Set([...vec.keys(), ...text.keys()])
  return [...ids]
    .map((id) => ({ id, score: wv * (vec.get(id) ?? 0) + wt * (text.get(id) ?? 0) }))
    .filter((r) => r.score >= o.minScore)
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, o.maxResults)
}
