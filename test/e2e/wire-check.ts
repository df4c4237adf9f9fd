/**
 * Checks what the gateway sends against the protocol's schemas, so every e2e suite also tests the wire contract: a
 * successful `res` against its method's result (hello-ok for connect), an event against its payload schema. Besides
 * zod's own issues it reports keys the schema does not declare, even where an object is `.loose()`: loose means
 * OpenClaw may send more, not that we may.
 */
import { z } from "zod"
import { EVENTS, HelloOk, METHODS } from "../../src/protocol/index.ts"

/** What is wrong with a successful reply to `method`, or undefined when it matches. */
export function checkResult(method: string, payload: unknown): string | undefined {
  const schema = method === "connect" ? HelloOk : Object.hasOwn(METHODS, method) ? METHODS[method as keyof typeof METHODS].result : undefined
  if (!schema) return undefined
  return check(`${method} result`, schema, payload)
}

/** What is wrong with an event's payload, or undefined when it matches (or the event is not ours to check). */
export function checkEvent(event: string, payload: unknown): string | undefined {
  if (!Object.hasOwn(EVENTS, event)) return `event ${event} is not in EVENTS`
  return check(`${event} event`, EVENTS[event as keyof typeof EVENTS], payload)
}

function check(what: string, schema: z.ZodType, value: unknown): string | undefined {
  const parsed = schema.safeParse(value)
  const problems: string[] = []
  if (!parsed.success) problems.push(z.prettifyError(parsed.error))
  else {
    const extra = undeclaredKeys(schema, value, "")
    if (extra.length) problems.push(`undeclared keys: ${extra.join(", ")}`)
  }
  if (!problems.length) return undefined
  return `${what} does not match the protocol schema:\n${problems.join("\n")}\npayload: ${JSON.stringify(value).slice(0, 1500)}`
}

type Def = { type: string; [k: string]: unknown }
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def

/** Paths of object keys in `value` that `schema` does not name (free-form records and unknowns are not entered). */
export function undeclaredKeys(schema: z.ZodType, value: unknown, path: string): string[] {
  const def = defOf(schema)
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
    case "nonoptional":
      return value === undefined || value === null ? [] : undeclaredKeys(def.innerType as z.ZodType, value, path)
    case "lazy":
      return undeclaredKeys((def.getter as () => z.ZodType)(), value, path)
    case "pipe":
      return undeclaredKeys(def.in as z.ZodType, value, path)
    case "union": {
      // The first option the value satisfies is the one that describes it.
      const option = (def.options as z.ZodType[]).find((o) => o.safeParse(value).success)
      return option ? undeclaredKeys(option, value, path) : []
    }
    case "array":
      return Array.isArray(value) ? value.flatMap((v, i) => undeclaredKeys(def.element as z.ZodType, v, `${path}[${i}]`)) : []
    case "record":
      return isObject(value) ? Object.entries(value).flatMap(([k, v]) => undeclaredKeys(def.valueType as z.ZodType, v, join(path, k))) : []
    case "object": {
      if (!isObject(value)) return []
      const shape = def.shape as Record<string, z.ZodType>
      return Object.entries(value).flatMap(([k, v]) => (Object.hasOwn(shape, k) ? undeclaredKeys(shape[k]!, v, join(path, k)) : [join(path, k)]))
    }
    default:
      return []
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)
const join = (path: string, key: string) => (path ? `${path}.${key}` : key)
