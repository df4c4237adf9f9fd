/**
 * How secrets are hidden wherever the gateway shows text it did not write itself: config values, log lines, status.
 * The marker is OpenClaw's, so its clients recognise a redacted value and echo it back unchanged; the gateway then
 * keeps the stored secret (config/load.ts restoreRedacted).
 */
export const REDACTED = "__OPENCLAW_REDACTED__"
/** The marker this gateway used before adopting OpenClaw's; still understood when a client echoes it. */
export const LEGACY_REDACTED = "__GATEWAY_REDACTED__"

export function isRedactionMarker(value: unknown): boolean {
  return value === REDACTED || value === LEGACY_REDACTED
}

/** `scheme://user:pass@host` → `scheme://__OPENCLAW_REDACTED__@host` (the whole user-info part). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>]+)@/gi

export function redactUrlCredentials(text: string): string {
  return text.includes("@") ? text.replace(URL_USERINFO, `$1${REDACTED}@`) : text
}

/** Replaces every occurrence of the given secrets (and any URL credentials) in free text. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = redactUrlCredentials(text)
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED)
  return out
}
