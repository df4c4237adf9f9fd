/**
 * The bus → WebSocket bridge: the one subscriber that turns domain events into wire events. It owns who may see
 * what (scopes, the `tool-events` capability) and which events a slow client may lose; the hub owns the sockets.
 */
import { ApprovalRequested, ApprovalResolved, ChatUpdate, RunProgress } from "../agent/events.ts"
import type { Bus } from "../bus/index.ts"
import { ConfigChanged } from "../config/events.ts"
import { CronChanged, HeartbeatBeat } from "../cron/events.ts"
import { HealthUpdated } from "../health.ts"
import { NodePairRequested, NodePairResolved } from "../nodes/events.ts"
import { DeviceAccessRevoked, DevicePairRequested, DevicePairResolved } from "../nodes/device-events.ts"
import type { EventName, EventPayload, Scope, StateVersion } from "../protocol/index.ts"

/** One wire event to fan out, with its audience and slow-consumer policy. */
export interface WireBroadcast<E extends EventName = EventName> {
  event: E
  payload: EventPayload<E>
  /** Frame-level stateVersion (health and presence events carry one). */
  stateVersion?: StateVersion
  /** Slow consumers lose this event instead of being disconnected. */
  dropIfSlow?: boolean
  /** Only connections holding this scope receive it (undefined: everyone). */
  scope?: Scope
  /** Only connections that declared this capability in connect.caps receive it. */
  cap?: string
}

export interface BroadcastTarget {
  broadcast(msg: WireBroadcast): void
  nextHealthVersion(): StateVersion
  /** Closes the connections of a device that lost access (removed, or the token they used revoked). */
  closeDevice?(deviceId: string, opts: { role?: string; tokenOnly: boolean; reason: string }): void
}

/** Subscribes the hub to the bus; returns the unsubscribe. */
export function connectBroadcaster(bus: Bus, hub: BroadcastTarget): () => void {
  const send = <E extends EventName>(msg: WireBroadcast<E>) => hub.broadcast(msg as unknown as WireBroadcast)
  const offs = [
    bus.subscribe(RunProgress, ({ tool, ...payload }) =>
      // Tool activity only reaches clients that asked for it (cap "tool-events"), as in OpenClaw.
      send({ event: "agent", payload, scope: "operator.read", ...(tool ? { cap: "tool-events" } : {}) }),
    ),
    bus.subscribe(ChatUpdate, (payload) => send({ event: "chat", payload, scope: "operator.read" })),
    bus.subscribe(ApprovalRequested, (payload) => send({ event: "exec.approval.requested", payload, scope: "operator.approvals" })),
    bus.subscribe(ApprovalResolved, (payload) => send({ event: "exec.approval.resolved", payload, scope: "operator.approvals" })),
    bus.subscribe(HealthUpdated, (payload) => send({ event: "health", payload, stateVersion: hub.nextHealthVersion(), dropIfSlow: true })),
    bus.subscribe(ConfigChanged, (payload) => send({ event: "config.changed", payload, scope: "operator.admin", dropIfSlow: true })),
    bus.subscribe(CronChanged, (payload) => send({ event: "cron", payload, scope: "operator.read" })),
    // Heartbeat events go to every connection, as in OpenClaw.
    bus.subscribe(HeartbeatBeat, (payload) => send({ event: "heartbeat", payload, dropIfSlow: true })),
    bus.subscribe(NodePairRequested, (payload) => send({ event: "node.pair.requested", payload, scope: "operator.pairing" })),
    bus.subscribe(NodePairResolved, (payload) => send({ event: "node.pair.resolved", payload, scope: "operator.pairing" })),
    bus.subscribe(DevicePairRequested, (payload) => send({ event: "device.pair.requested", payload, scope: "operator.pairing" })),
    bus.subscribe(DevicePairResolved, (payload) => send({ event: "device.pair.resolved", payload, scope: "operator.pairing" })),
    bus.subscribe(DeviceAccessRevoked, ({ deviceId, role, reason }) =>
      hub.closeDevice?.(deviceId, { role, tokenOnly: reason !== "removed", reason: reason === "removed" ? "device removed" : "device token revoked" }),
    ),
  ]
  return () => {
    for (const off of offs) off()
  }
}
