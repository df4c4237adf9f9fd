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
