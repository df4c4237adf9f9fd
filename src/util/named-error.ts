/**
 * Named errors, after opencode's `NamedError`: `NamedError.create(name, (z) => dataSchema)` returns an Error class
 * whose instances carry a `name`, typed `data` and `toObject()`, with a static `isInstance` that matches by name (so
 * it also holds across the binary's separately bundled entry points, where `instanceof` does not).
 *
 * The data schema is a thunk handed zod, and zod itself is loaded on the first `schema()` call only: defining or
 * throwing an error never builds a schema, and modules that define errors need not import zod at all.
 *
 * @example
 * export const PlistError = NamedError.create("PlistError", (z) => z.object({ message: z.string() }))
 * export type PlistError = InstanceType<typeof PlistError>
 * throw new PlistError({ message: "unterminated tag" })
 * if (PlistError.isInstance(err)) console.error(err.data.message)
 */
import type * as Zod from "zod"

type ZodApi = typeof Zod.z

let zodApi: ZodApi | undefined
/** zod, loaded synchronously on first use (a static import would load it with every module that defines an error). */
function zod(): ZodApi {
  zodApi ??= (require("zod") as typeof Zod).z
  return zodApi
}

export interface NamedErrorObject<N extends string = string, D = unknown> {
  name: N
  data: D
}

/** The base of every named error: `err instanceof NamedError` tells a known failure from a crash. */
export abstract class NamedError extends Error {
  abstract readonly data: unknown

  toObject(): NamedErrorObject {
    return { name: this.name, data: this.data }
  }

  /**
   * A new error class. Its message is `message(data)` when given, else `data.message` when that is a string, else the
   * name. The data is stored as given (not parsed): validate with `schema()` where it crosses a boundary.
   */
  static create<N extends string, S extends Zod.ZodType>(name: N, dataSchema: (z: ZodApi) => S, message?: (data: Zod.input<S>) => string) {
    type Data = Zod.input<S>
    let data: S | undefined
    let full: Zod.ZodObject<{ name: Zod.ZodLiteral<N>; data: S }> | undefined

    class Named extends NamedError {
      declare readonly name: N

      constructor(
        readonly data: Data,
        options?: ErrorOptions,
      ) {
        super(message ? message(data) : messageOf(data, name), options)
      }

      /** The data schema, built on first call. */
      static dataSchema(): S {
        data ??= dataSchema(zod())
        return data
      }

      /** `{name, data}` as `toObject()` returns it, built on first call. */
      static schema(): Zod.ZodObject<{ name: Zod.ZodLiteral<N>; data: S }> {
        full ??= zod().object({ name: zod().literal(name), data: Named.dataSchema() })
        return full
      }

      /** True for an error of this name (a type guard; `this` makes it narrow to a subclass too). */
      static isInstance<T>(this: abstract new (...args: never[]) => T, input: unknown): input is T {
        return typeof input === "object" && input !== null && (input as { name?: unknown }).name === name
      }

      override toObject(): NamedErrorObject<N, Data> {
        return { name, data: this.data }
      }
    }
    // On the prototype, so the stack trace (captured in the Error constructor) already shows the name.
    Object.defineProperty(Named.prototype, "name", { value: name, writable: true, configurable: true })
    Object.defineProperty(Named, "name", { value: name })
    return Named
  }
}

function messageOf(data: unknown, fallback: string): string {
  const m = typeof data === "object" && data !== null ? (data as { message?: unknown }).message : undefined
  return typeof m === "string" ? m : fallback
}
