/**
 * Fixed sizes and timers of the protocol, as OpenClaw's gateway enforces them. The configurable ones (frame and
 * buffer limits, tick, health and handshake timers) have their defaults in the config schema.
 */
export const MAX_PREAUTH_PAYLOAD_BYTES = 64 * 1024
export const PING_INTERVAL_MS = 25_000

/** WebSocket close codes the gateway uses. */
export const CloseCode = {
  normal: 1000,
  protocolError: 1002,
  policyViolation: 1008,
  tooBig: 1009,
  serviceRestart: 1012,
  tryAgainLater: 1013,
} as const
