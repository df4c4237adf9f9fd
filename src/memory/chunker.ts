/**
 * Markdown-aware chunking with exact line ranges. Lines are grouped into blocks that should stay together (a heading
 * with nothing else, a fenced code block, a list item with its continuation lines, a paragraph), and blocks are packed
 * into chunks of about `tokens`; a heading starts a new chunk once the current one is half full, so chunks follow the
 * document's sections. The last ~`overlap` tokens of whole lines are repeated at the start of the next chunk, so a
 * fact on a boundary is found in either. Blocks bigger than a chunk are cut by lines.
 */
import { createHash } from "node:crypto"

export interface Chunk {
  /** 1-based, inclusive. */
  startLine: number
  endLine: number
  text: string
  hash: string
}

export interface ChunkOptions {
  tokens: number
  overlap: number
}

const CJK = /[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/g

/** Rough token count: ~4 characters per token for Latin text, ~1 per character for Korean, Japanese and Chinese. */
export function estimateTokens(text: string): number {
  const cjk = text.match(CJK)?.length ?? 0
  return Math.ceil(cjk + (text.length - cjk) / 4)
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex")
}

interface Block {
  start: number // 0-based index of the first line
  end: number // exclusive
  heading: boolean
}

const FENCE = /^\s{0,3}(```+|~~~+)/
const HEADING = /^\s{0,3}#{1,6}(\s|$)/
const LIST_ITEM = /^\s{0,3}([-*+]|\d+[.)])\s/

function blocksOf(lines: string[]): Block[] {
  const blocks: Block[] = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    if (line.trim() === "") {
      i++
      continue
    }
    const fence = line.match(FENCE)
    if (fence) {
      // Up to the closing fence, or to the end of the file when it never closes (a half-written file).
      const marker = fence[1]!
      let j = i + 1
      while (j < lines.length && !lines[j]!.trimStart().startsWith(marker)) j++
      blocks.push({ start: i, end: Math.min(j + 1, lines.length), heading: false })
      i = j + 1
      continue
    }
    if (HEADING.test(line)) {
      blocks.push({ start: i, end: i + 1, heading: true })
      i++
      continue
    }
    // A list item runs until the next item, a blank line, a heading or a fence; a paragraph until a blank line.
    const isItem = LIST_ITEM.test(line)
    let j = i + 1
    while (j < lines.length) {
      const l = lines[j]!
      if (l.trim() === "" || HEADING.test(l) || FENCE.test(l) || (isItem && LIST_ITEM.test(l))) break
      if (!isItem && LIST_ITEM.test(l)) break
      j++
    }
    blocks.push({ start: i, end: j, heading: false })
    i = j
  }
  return blocks
}

export function chunkMarkdown(content: string, opts: ChunkOptions): Chunk[] {
  const lines = content.replace(/\r\n?/g, "\n").split("\n")
  const lineTokens = lines.map((l) => estimateTokens(l) + 1)
  const max = Math.max(8, opts.tokens)
  const overlap = Math.min(opts.overlap, Math.floor(max / 2))
  const chunks: Chunk[] = []

  // Ranges of lines [start, end) to emit; blocks are packed greedily.
  let start = -1
  let end = -1
  let size = 0
  // End of the lines carried over from the previous chunk: a chunk holding only those is never emitted.
  let carriedEnd = -1
  const hasNew = () => start >= 0 && end > carriedEnd
  const emit = () => {
    if (!hasNew()) {
      start = -1
      size = 0
      return
    }
    const text = lines.slice(start, end).join("\n").trimEnd()
    if (text.trim()) chunks.push({ startLine: start + 1, endLine: end, text, hash: sha256(text) })
    // Carry whole trailing lines worth up to `overlap` tokens into the next chunk.
    let carry = end
    let carried = 0
    while (overlap > 0 && carry > start + 1 && carried + lineTokens[carry - 1]! <= overlap) carried += lineTokens[--carry]!
    if (carry < end && carry > start) {
      start = carry
      size = carried
      carriedEnd = end
    } else {
      start = -1
      size = 0
    }
  }
  const addLines = (from: number, to: number) => {
    if (start < 0) start = from
    end = to
    for (let k = from; k < to; k++) size += lineTokens[k]!
  }

  for (const b of blocksOf(lines)) {
    const bt = lineTokens.slice(b.start, b.end).reduce((a, x) => a + x, 0)
    if (start >= 0 && (size + bt > max || (b.heading && size >= max / 2))) emit()
    if (bt <= max) {
      addLines(b.start, b.end)
      continue
    }
    // A block bigger than a chunk: line by line.
    for (let k = b.start; k < b.end; k++) {
      if (start >= 0 && size + lineTokens[k]! > max) emit()
      addLines(k, k + 1)
    }
  }
  // The final chunk: emit without carrying overlap into nothing.
  if (hasNew()) {
    const text = lines.slice(start, end).join("\n").trimEnd()
    if (text.trim()) chunks.push({ startLine: start + 1, endLine: end, text, hash: sha256(text) })
  }
  return chunks
}
