/**
 * Session transcripts as a memory source (opt-in: memory.sessions.enabled). A transcript reads as one document of
 * `User: …` / `Assistant: …` lines, one line per message (newlines inside a message become spaces), so a line
 * number maps back to a message. Tool calls and results are left out; what looks like a secret (API keys, bearer
 * tokens) is masked before it reaches the index. Paths read `sessions/<session key>/<session id>`.
 */

export const SESSIONS_PREFIX = "sessions/"

export interface TranscriptDoc {
  path: string
  sessionKey: string
  sessionId: string
  /** Highest message id: changes whenever a message is added (stands in for a file's mtime). */
  lastId: number
  count: number
}

export const transcriptPath = (sessionKey: string, sessionId: string) => `${SESSIONS_PREFIX}${sessionKey}/${sessionId}`

export function parseTranscriptPath(path: string): { sessionKey: string; sessionId: string } | undefined {
  if (!path.startsWith(SESSIONS_PREFIX)) return undefined
  const rest = path.slice(SESSIONS_PREFIX.length)
  const slash = rest.lastIndexOf("/")
  if (slash <= 0 || slash === rest.length - 1) return undefined
  return { sessionKey: rest.slice(0, slash), sessionId: rest.slice(slash + 1) }
}

const SECRETS = [/\b(sk|pk|rk|xox[abp]|ghp|gho|github_pat|glpat)[-_][A-Za-z0-9_-]{12,}/g, /\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*/gi, /\bAIza[0-9A-Za-z_-]{30,}/g]

export function redactSecrets(text: string): string {
  return SECRETS.reduce((t, re) => t.replace(re, "[redacted]"), text)
}

/** The text of a stored message body (a TranscriptMessage as JSON), or undefined for tool traffic and junk. */
export function messageLine(role: string, body: string): string | undefined {
  if (role !== "user" && role !== "assistant") return undefined
  let m: { content?: unknown }
  try {
    m = JSON.parse(body)
  } catch {
    return undefined
  }
  const text =
    typeof m.content === "string"
      ? m.content
      : Array.isArray(m.content)
        ? m.content.flatMap((p: { type?: string; text?: unknown }) => (p?.type === "text" && typeof p.text === "string" ? [p.text] : [])).join("")
        : ""
  const flat = text.replace(/\s*\n\s*/g, " ").trim()
  if (!flat) return undefined
  return `${role === "user" ? "User" : "Assistant"}: ${redactSecrets(flat)}`
}
