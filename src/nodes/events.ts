/** Domain events of node pairing (the broadcaster shows them as node.pair.requested / node.pair.resolved). */
import { defineEvent } from "../bus/index.ts"
import { NodePairRequestedEvent, NodePairResolvedEvent } from "../protocol/methods/nodes.ts"

export const NodePairRequested = defineEvent("nodes.pair.requested", NodePairRequestedEvent)
export const NodePairResolved = defineEvent("nodes.pair.resolved", NodePairResolvedEvent)
