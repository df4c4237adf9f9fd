import { describe, expect, test } from "bun:test"
import { NamedError } from "../../../src/util/named-error.ts"

const Sample = NamedError.create("SampleError", (z) => z.object({ message: z.string(), code: z.enum(["A", "B"]) }))
const Formatted = NamedError.create(
  "FormattedError",
  (z) => z.object({ path: z.string(), count: z.number() }),
  (d) => `${d.path}: ${d.count} problems`,
)
const Bare = NamedError.create("BareError", (z) => z.object({ id: z.number() }))

class Extended extends NamedError.create("ExtendedError", (z) => z.object({ message: z.string(), kind: z.string() })) {
  get kind(): string {
    return this.data.kind
  }
}

describe("NamedError.create", () => {
  test("instances carry the name, typed data and a message taken from data.message", () => {
    const err = new Sample({ message: "went wrong", code: "A" })
    expect(err).toBeInstanceOf(Error)
    expect(err).toBeInstanceOf(NamedError)
    expect(err).toBeInstanceOf(Sample)
    expect(err.name).toBe("SampleError")
    expect(err.message).toBe("went wrong")
    expect(err.data.code).toBe("A")
    expect(String(err)).toBe("SampleError: went wrong")
    expect(err.stack).toContain("SampleError: went wrong")
  })

  test("the message comes from the formatter when given, else the name", () => {
    expect(new Formatted({ path: "a.json", count: 2 }).message).toBe("a.json: 2 problems")
    expect(new Bare({ id: 1 }).message).toBe("BareError")
  })

  test("toObject is {name, data}, and JSON-safe", () => {
    const err = new Sample({ message: "m", code: "B" })
    expect(err.toObject()).toEqual({ name: "SampleError", data: { message: "m", code: "B" } })
    expect(JSON.parse(JSON.stringify(err.toObject()))).toEqual(err.toObject())
  })

  test("isInstance matches by name (also objects from another bundle copy), and nothing else", () => {
    const err = new Sample({ message: "m", code: "A" })
    expect(Sample.isInstance(err)).toBe(true)
    expect(Sample.isInstance({ name: "SampleError", data: {} })).toBe(true)
    expect(Sample.isInstance(new Bare({ id: 1 }))).toBe(false)
    expect(Sample.isInstance(new Error("SampleError"))).toBe(false)
    for (const v of [null, undefined, "SampleError", 42]) expect(Sample.isInstance(v)).toBe(false)
    expect(new Sample({ message: "m", code: "A" }) instanceof Bare).toBe(false)
  })

  test("the cause is kept", () => {
    const cause = new Error("root")
    expect(new Sample({ message: "m", code: "A" }, { cause }).cause).toBe(cause)
  })

  test("a subclass keeps the name and can expose data fields", () => {
    const err = new Extended({ message: "m", kind: "auth" })
    expect(err.name).toBe("ExtendedError")
    expect(err.kind).toBe("auth")
    expect(Extended.isInstance(err)).toBe(true)
    expect(err).toBeInstanceOf(Extended)
  })

  test("the class is named for stack traces and logs", () => {
    expect(Sample.name).toBe("SampleError")
  })

  test("schemas are built on first use, once, and validate {name, data}", () => {
    let built = 0
    const Lazy = NamedError.create("LazyError", (z) => {
      built++
      return z.object({ message: z.string() })
    })
    new Lazy({ message: "thrown without a schema" })
    expect(built).toBe(0)
    expect(Lazy.dataSchema().safeParse({ message: "x" }).success).toBe(true)
    expect(Lazy.schema().safeParse(new Lazy({ message: "x" }).toObject()).success).toBe(true)
    expect(Lazy.schema().safeParse({ name: "OtherError", data: { message: "x" } }).success).toBe(false)
    expect(Lazy.schema().safeParse({ name: "LazyError", data: {} }).success).toBe(false)
    expect(built).toBe(1)
  })
})

test("defining and throwing a named error does not load zod", () => {
  const script = `
    const { NamedError } = await import(${JSON.stringify(new URL("../../../src/util/named-error.ts", import.meta.url).pathname)})
    const E = NamedError.create("E", (z) => z.object({ message: z.string() }))
    try { throw new E({ message: "x" }) } catch {}
    console.log(Object.keys(require.cache).some((k) => k.includes("/node_modules/zod/")))
  `
  const r = Bun.spawnSync([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" })
  expect(r.stderr.toString()).toBe("")
  expect(r.stdout.toString().trim()).toBe("false")
})
