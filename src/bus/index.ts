/**
 * The typed domain event bus. An event is defined once, beside its domain, as a name plus a zod schema for its
 * payload; publishers and subscribers both hold the definition, so the payload type follows from it. The bus knows
 * nothing of sockets: the WebSocket broadcaster (server/) and later the channel outbox are ordinary subscribers.
 * Publishing is synchronous and never throws into the publisher.
 */
import type { z } from "zod"
import { describeIssues } from "../protocol/frames.ts"

export interface BusEventDef<N extends string = string, S extends z.ZodType = z.ZodType> {
  readonly name: N
  /** Built on first use: most definitions are never validated outside tests, and start-up time matters. */
  schema(): S
}

export type BusPayload<D extends BusEventDef> = z.infer<ReturnType<D["schema"]>>

/** Defines a domain event. `schema` is a thunk so importing a definition costs nothing. */
export function defineEvent<N extends string, S extends z.ZodType>(name: N, schema: () => S): BusEventDef<N, S> {
  let built: S | undefined
  return { name, schema: () => (built ??= schema()) }
}

type Handler = (payload: unknown) => void

export interface BusOptions {
  /** Called when a subscriber throws; the other subscribers still run. */
  onError?(err: unknown, event: string): void
  /** Validate every payload against its schema before delivery (tests turn this on; off in production). */
  validate?: boolean
}

export class Bus {
  private handlers = new Map<string, Set<Handler>>()

  constructor(private opts: BusOptions = {}) {}

  subscribe<D extends BusEventDef>(def: D, fn: (payload: BusPayload<D>) => void): () => void {
    let set = this.handlers.get(def.name)
    if (!set) {
      set = new Set()
      this.handlers.set(def.name, set)
    }
    set.add(fn as Handler)
    return () => set.delete(fn as Handler)
  }

  publish<D extends BusEventDef>(def: D, payload: BusPayload<D>): void {
    if (this.opts.validate) {
      const parsed = def.schema().safeParse(payload)
      if (!parsed.success) throw new Error(`bus event ${def.name}: payload does not match its schema: ${describeIssues(parsed.error)}`)
    }
    const set = this.handlers.get(def.name)
    if (!set) return
    for (const fn of set) {
      try {
        fn(payload)
      } catch (err) {
        this.opts.onError?.(err, def.name)
      }
    }
  }

  /** Subscribers of one event (diagnostics and tests). */
  listenerCount(def: BusEventDef): number {
    return this.handlers.get(def.name)?.size ?? 0
  }
}
