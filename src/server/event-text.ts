/**
 * An event frame serialised once for a whole fan-out. Only `seq` differs per connection, so the frame is kept as the
 * text before and after the seq number, in eventFrame's key order (type, event, payload, seq, stateVersion).
 */
import type { EventName, StateVersion } from "../protocol/index.ts"

export interface SharedEvent {
  head: string
  tail: string
}

/** `payloadJson` is the payload already serialised (the presence list is kept as text), so it is not parsed again. */
export function sharedEvent(event: EventName, payloadJson: string, stateVersion?: StateVersion): SharedEvent {
  return {
    head: `{"type":"event","event":${JSON.stringify(event)},"payload":${payloadJson},"seq":`,
    tail: stateVersion ? `,"stateVersion":${JSON.stringify(stateVersion)}}` : "}",
  }
}

export function withSeq(e: SharedEvent, seq: number): string {
  return e.head + seq + e.tail
}
