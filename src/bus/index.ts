/**
 * The typed event bus: everything observable is published here once; the WebSocket broadcaster (and later the
 * channel senders) subscribe. Publishing is synchronous and never throws into the publisher.
 */
import type { EventName, EventPayload, StateVersion } from "../protocol/index.ts"

export interface BusMessage<E extends EventName = EventName> {
  event: E
  payload: EventPayload<E>
  /** Frame-level stateVersion (health and presence events carry one). */
  stateVersion?: StateVersion
  /** Slow consumers lose this event instead of being disconnected. */
  dropIfSlow?: boolean
  /** Only connections holding this scope receive it (undefined: everyone). */
  scope?: "operator.read" | "operator.write" | "operator.admin" | "operator.pairing" | "operator.approvals"
  /** Only connections that declared this capability in connect.caps receive it (tool events need "tool-events"). */
  cap?: string
}

type Subscriber = (msg: BusMessage) => void

export class Bus {
  private subscribers = new Set<Subscriber>()

  constructor(private onError: (err: unknown) => void = () => {}) {}

  subscribe(fn: Subscriber): () => void {
    this.subscribers.add(fn)
    return () => this.subscribers.delete(fn)
  }

  publish<E extends EventName>(event: E, payload: EventPayload<E>, opts: Omit<BusMessage<E>, "event" | "payload"> = {}): void {
    const msg = { event, payload, ...opts } as BusMessage
    for (const fn of this.subscribers) {
      try {
        fn(msg)
      } catch (err) {
        this.onError(err)
      }
    }
  }
}
