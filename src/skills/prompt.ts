/**
 * The skills section of the system prompt: eligible, model-visible skills as name, description and SKILL.md path,
 * within a character and a count cap. Only the list goes in; the model reads a skill's SKILL.md with `read` when
 * one applies (OpenClaw's layout, so skills written for it read the same).
 */

export interface PromptSkill {
  name: string
  description: string
  location: string
}

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const HEADER = [
  "## Skills",
  "Before replying, scan <available_skills>. If exactly one skill clearly applies, read its SKILL.md (at <location>) with the read tool, then follow it; if several could apply, pick the most specific; if none does, read none. Read at most one skill up front.",
]

/** The section, or "" when no skill fits (or maxChars is 0). Skills that do not fit are counted in a last line. */
export function skillsPromptSection(skills: PromptSkill[], opts: { maxChars: number; maxSkills: number }): string {
  if (skills.length === 0 || opts.maxChars <= 0 || opts.maxSkills <= 0) return ""
  const head = `${HEADER.join("\n")}\n<available_skills>\n`
  const tail = "</available_skills>"
  let body = ""
  let listed = 0
  for (const s of skills) {
    if (listed >= opts.maxSkills) break
    const entry = `<skill><name>${escapeXml(s.name)}</name><description>${escapeXml(s.description)}</description><location>${escapeXml(s.location)}</location></skill>\n`
    // Room is kept for the closing tag and the "N more" line.
    if (head.length + body.length + entry.length + tail.length + 60 > opts.maxChars) break
    body += entry
    listed++
  }
  if (listed === 0) return ""
  const more = skills.length - listed
  return `${head}${body}${tail}${more > 0 ? `\n(${more} more skills not listed: the skills.prompt caps were reached)` : ""}`
}
