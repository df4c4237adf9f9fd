/**
 * Operator scopes, as OpenClaw defines them: the one list the handshake, the method table, the broadcaster, the bus and
 * the client share. Plain data (no zod), so importing it costs nothing.
 */
export const SCOPES = [
  "operator.admin",
  "operator.read",
  "operator.write",
  "operator.approvals",
  "operator.pairing",
  "operator.talk",
  "operator.talk.secrets",
  "operator.questions",
] as const
export type Scope = (typeof SCOPES)[number]

const known: ReadonlySet<string> = new Set(SCOPES)

export function isScope(name: string): name is Scope {
  return known.has(name)
}

/** admin satisfies every scope and write satisfies read, as OpenClaw defines them. */
export function hasScope(granted: readonly string[], required: Scope): boolean {
  if (granted.includes("operator.admin")) return true
  if (granted.includes(required)) return true
  return required === "operator.read" && granted.includes("operator.write")
}
