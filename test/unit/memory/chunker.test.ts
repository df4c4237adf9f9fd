import { describe, expect, test } from "bun:test"
import { chunkMarkdown, estimateTokens } from "../../../src/memory/chunker.ts"

const lines = (text: string, c: { startLine: number; endLine: number }) =>
  text
    .split("\n")
    .slice(c.startLine - 1, c.endLine)
    .join("\n")

describe("chunkMarkdown", () => {
  test("line ranges are exact: each chunk's text is its lines of the file", () => {
    const paras = Array.from({ length: 40 }, (_, i) => `Paragraph ${i} talks about topic ${i} with several words of filler text here.`)
    const text = `# Title\n\n${paras.join("\n\n")}\n`
    const chunks = chunkMarkdown(text, { tokens: 100, overlap: 20 })
    expect(chunks.length).toBeGreaterThan(3)
    for (const c of chunks) expect(c.text).toBe(lines(text, c).trimEnd())
    // Every paragraph is in some chunk; consecutive chunks overlap or touch, never leave a gap.
    for (const p of paras) expect(chunks.some((c) => c.text.includes(p))).toBe(true)
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.startLine).toBeLessThanOrEqual(chunks[i - 1]!.endLine + 2)
    // Overlap: some chunk starts before the previous one ended.
    expect(chunks.some((c, i) => i > 0 && c.startLine <= chunks[i - 1]!.endLine)).toBe(true)
    for (const c of chunks) expect(estimateTokens(c.text)).toBeLessThanOrEqual(100 + 20)
  })

  test("a code block is kept whole when it fits, and a heading starts a new chunk", () => {
    const code = ["```ts", ...Array.from({ length: 8 }, (_, i) => `const x${i} = ${i} // line`), "```"].join("\n")
    const intro = Array.from({ length: 6 }, (_, i) => `- item ${i} of the intro list with words`).join("\n")
    const text = `# One\n\n${intro}\n\n${code}\n\n# Two\n\nSecond section text.\n`
    const chunks = chunkMarkdown(text, { tokens: 100, overlap: 0 })
    const withCode = chunks.filter((c) => c.text.includes("const x0"))
    expect(withCode.length).toBe(1)
    expect(withCode[0]!.text).toContain("const x7")
    expect(withCode[0]!.text).toContain("```ts")
    const two = chunks.find((c) => c.text.includes("# Two"))!
    expect(two.text.startsWith("# Two")).toBe(true)
  })

  test("a half-written file (unclosed fence, no final newline) still chunks every line", () => {
    const text = "# Notes\n\n```sh\ngateway restart\nsystemctl --user status gatew"
    const chunks = chunkMarkdown(text, { tokens: 400, overlap: 80 })
    expect(chunks).toHaveLength(1)
    expect(chunks[0]).toMatchObject({ startLine: 1, endLine: 5 })
    expect(chunks[0]!.text).toContain("systemctl --user status gatew")
  })

  test("Korean text counts about a token per character", () => {
    expect(estimateTokens("게이트웨이를 재시작했다")).toBeGreaterThanOrEqual(10)
    expect(estimateTokens("abcd".repeat(10))).toBe(10)
    const text = Array.from({ length: 30 }, (_, i) => `${i}번째 줄: 게이트웨이를 재시작했고 로그를 확인했다`).join("\n")
    const chunks = chunkMarkdown(text, { tokens: 100, overlap: 10 })
    expect(chunks.length).toBeGreaterThan(3)
  })
})
