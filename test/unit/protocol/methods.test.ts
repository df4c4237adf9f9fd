/**
 * The method and event tables are complete: every advertised method has a params and a real result schema (no
 * placeholder object, no bare unknown), every event a payload schema, and hello-ok advertises exactly the table.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { z } from "zod"
import { EVENTS, HelloOk, METHODS, SCOPES } from "../../../src/protocol/index.ts"
import { fakeModel } from "../../harness/fake-model.ts"
import { startInProcess, type InProcessGateway } from "../../harness/inproc.ts"

type Def = { type: string; [k: string]: unknown }
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def

/** Why `schema` says nothing about a value (the placeholders this table used to have), or undefined. */
function placeholder(schema: z.ZodType): string | undefined {
  const def = defOf(schema)
  switch (def.type) {
    case "unknown":
    case "any":
      return `z.${def.type}()`
    case "optional":
    case "nullable":
    case "default":
    case "readonly":
      return placeholder(def.innerType as z.ZodType)
    case "lazy":
      return placeholder((def.getter as () => z.ZodType)())
    case "pipe":
      return placeholder(def.out as z.ZodType)
    case "array":
      return placeholder(def.element as z.ZodType)
    case "union":
      return (def.options as z.ZodType[]).map(placeholder).find(Boolean)
    case "object":
      return Object.keys(def.shape as object).length ? undefined : "an object with no declared keys"
    default:
      return undefined
  }
}

describe("METHODS", () => {
  for (const [name, def] of Object.entries(METHODS)) {
    test(`${name}: params and a real result schema`, () => {
      expect(def.name).toBe(name)
      expect(def.scope === null || (SCOPES as readonly string[]).includes(def.scope)).toBe(true)
      expect(def.params).toBeInstanceOf(z.ZodType)
      expect(def.result).toBeInstanceOf(z.ZodType)
      expect(placeholder(def.result)).toBeUndefined()
      // Built once: the getters hand out the same schema every time.
      expect(def.result).toBe(def.result)
    })
  }

  test("the placeholder check catches what it must", () => {
    expect(placeholder(z.object({}).loose())).toBeDefined()
    expect(placeholder(z.unknown())).toBeDefined()
    expect(placeholder(z.any().optional())).toBeDefined()
    expect(placeholder(z.union([z.object({ a: z.string() }), z.object({})]))).toBeDefined()
    expect(placeholder(z.object({ a: z.unknown() }))).toBeUndefined()
  })
})

describe("EVENTS", () => {
  for (const [name, schema] of Object.entries(EVENTS)) {
    test(`${name}: a payload schema`, () => {
      expect(schema).toBeInstanceOf(z.ZodType)
      expect(placeholder(schema)).toBeUndefined()
    })
  }
})

describe("hello-ok", () => {
  let gw: InProcessGateway | undefined

  afterAll(async () => {
    await gw?.stop()
  })

  test("advertises exactly the method and event tables, in their order, and matches HelloOk", async () => {
    gw = await startInProcess({ models: fakeModel() })
    const c = await gw.connect()
    expect(c.hello.features.methods).toEqual(Object.keys(METHODS))
    expect(c.hello.features.events).toEqual(Object.keys(EVENTS))
    expect(HelloOk.safeParse(c.hello).error).toBeUndefined()
  })
})
