/**
 * Schemas of the wire contract are built on first use, not at import: a daemon that starts in tens of milliseconds
 * cannot afford to construct every method's and event's zod schema up front (each costs time and resident memory),
 * and most are never used by a given process.
 */

/** A memoised thunk: `const Foo = lazy(() => z.object(...))`, then `Foo()` is the schema, built once. */
export function lazy<T>(build: () => T): () => T {
  let value: T | undefined
  let built = false
  return () => {
    if (!built) {
      value = build()
      built = true
    }
    return value as T
  }
}

/** The schema a lazy thunk builds (for `z.infer<Built<typeof Foo>>`). */
export type Built<F extends () => unknown> = ReturnType<F>

/**
 * A table whose entries are built on first access: `lazyTable({ tick: TickEvent })` has a `tick` getter returning the
 * schema. The keys are enumerable plain properties, so `Object.keys` lists them without building anything.
 */
export function lazyTable<T extends Record<string, () => unknown>>(thunks: T): { readonly [K in keyof T]: ReturnType<T[K]> } {
  const table = {} as { [K in keyof T]: ReturnType<T[K]> }
  for (const key of Object.keys(thunks) as (keyof T)[]) {
    Object.defineProperty(table, key, { enumerable: true, get: thunks[key] })
  }
  return Object.freeze(table)
}

/**
 * A schema built on first use that stands in for the schema itself (a Proxy), for the exports other code uses
 * directly (`RequestFrame.safeParse`, `z.array(PresenceEntry)`): importing the protocol then builds none of them,
 * which takes ~4 ms off the daemon's start; each is built when first touched.
 *
 * With `parser` (one generated from this schema by zod's compiler, validators.gen.ts), `parse` and `safeParse` try it
 * first and build the schema only for input it rejects, so zod's issues are unchanged: the gateway answers a
 * valid `connect` without ever building ConnectParams.
 */
export function lazySchema<T extends object>(build: () => T, parser?: (input: unknown) => unknown): T {
  let schema: T | undefined
  const real = () => (schema ??= build())
  const fast: Record<PropertyKey, unknown> = {}
  if (parser) {
    // zod's own sentinel for "rejected" (what the generated parsers return), as in zod's withParser.
    const INVALID = Symbol.for("zod.compile.invalid")
    const target = () => real() as unknown as Record<"parse" | "safeParse", (data: unknown, params?: unknown) => unknown>
    fast.safeParse = (data: unknown, params?: unknown) => {
      const out = parser(data)
      return out !== INVALID ? { success: true, data: out } : target().safeParse(data, params)
    }
    fast.parse = (data: unknown, params?: unknown) => {
      const out = parser(data)
      return out !== INVALID ? out : target().parse(data, params)
    }
  }
  return new Proxy({} as T, {
    get: (_, key) => (Object.hasOwn(fast, key) ? fast[key] : Reflect.get(real(), key)),
    set: (_, key, value) => Reflect.set(real(), key, value),
    has: (_, key) => Reflect.has(real(), key),
    ownKeys: () => Reflect.ownKeys(real()),
    // Reported configurable: the proxy's own (empty) target must not be contradicted (a Proxy invariant).
    getOwnPropertyDescriptor: (_, key) => {
      const d = Reflect.getOwnPropertyDescriptor(real(), key)
      return d && { ...d, configurable: true }
    },
    defineProperty: (_, key, d) => Reflect.defineProperty(real(), key, d),
    deleteProperty: (_, key) => Reflect.deleteProperty(real(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  })
}
