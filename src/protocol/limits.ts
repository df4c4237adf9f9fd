/** Sizes and timers of the protocol, as OpenClaw's gateway advertises and enforces them. */
export const MAX_PAYLOAD_BYTES = 25 * 1024 * 1024
export const MAX_BUFFERED_BYTES = 50 * 1024 * 1024
export const MAX_PREAUTH_PAYLOAD_BYTES = 64 * 1024
export const TICK_INTERVAL_MS = 30_000
export const HEALTH_REFRESH_INTERVAL_MS = 60_000
export const HANDSHAKE_TIMEOUT_MS = 15_000
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
