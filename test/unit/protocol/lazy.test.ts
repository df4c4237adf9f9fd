/** lazySchema: a stand-in that is built on first touch and then behaves as the schema it builds. */
import { describe, expect, test } from "bun:test"
import { z } from "zod"
import { lazySchema } from "../../../src/protocol/lazy.ts"

const INVALID = Symbol.for("zod.compile.invalid")

describe("lazySchema", () => {
  test("builds nothing until touched, then once", () => {
    let builds = 0
    const S = lazySchema(() => {
      builds++
      return z.object({ a: z.string() })
    })
    expect(builds).toBe(0)
    expect(S.safeParse({ a: "x" }).success).toBe(true)
    expect(S.parse({ a: "x", extra: 1 })).toEqual({ a: "x" })
    expect(builds).toBe(1)
  })

  test("is the schema to zod: instanceof, a child of other schemas, its shape and its JSON Schema", () => {
    const real = z.object({ a: z.string().describe("an a"), b: z.number().optional() })
    const S = lazySchema(() => real)
    expect(S).toBeInstanceOf(z.ZodType)
    expect(Object.keys(S.shape)).toEqual(["a", "b"])
    expect(z.array(S).safeParse([{ a: "x" }, { a: 1 }]).success).toBe(false)
    expect(S.optional().parse(undefined)).toBeUndefined()
    expect(z.toJSONSchema(z.object({ s: S }))).toEqual(z.toJSONSchema(z.object({ s: real })))
    expect(z.safeParse(S, { a: "y" })).toEqual(z.safeParse(real, { a: "y" }))
  })

  test("with a parser: accepted input never builds the schema; rejected input gets zod's issues", () => {
    let builds = 0
    const build = () => {
      builds++
      return z.object({ n: z.number().int() })
    }
    const parser = (input: unknown) =>
      typeof input === "object" && input !== null && Number.isInteger((input as { n?: unknown }).n) ? { n: (input as { n: number }).n } : INVALID
    const S = lazySchema(build, parser)
    expect(S.safeParse({ n: 1 })).toEqual({ success: true, data: { n: 1 } })
    expect(S.parse({ n: 2, x: 0 })).toEqual({ n: 2 })
    expect(builds).toBe(0)
    const bad = S.safeParse({ n: 1.5 })
    expect(builds).toBe(1)
    expect(bad.error?.issues).toEqual(z.object({ n: z.number().int() }).safeParse({ n: 1.5 }).error?.issues)
    expect(() => S.parse({ n: "1" })).toThrow()
  })
})
