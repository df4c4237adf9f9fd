/**
 * Flags instructions that pipe a download straight into a shell (`curl … | sh`, `wget -O- … | bash`,
 * `bash <(curl …)`, `sh -c "$(curl …)"`, `iwr … | iex`): the "prerequisite" pattern malicious skills on public
 * marketplaces used. Flagging is advisory (shown by `skills list` and skills.status); nothing here runs anything.
 */

export interface SkillFlag {
  kind: "pipe-to-shell"
  /** File inside the skill folder (SKILL.md unless an install scan found it elsewhere). */
  file: string
  line: number
  text: string
}

const FETCH = String.raw`(?:curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod)\b`
const PATTERNS = [
  // curl … | sh, wget -O- … | sudo bash, curl … | python3
  new RegExp(String.raw`\b${FETCH}[^\n|]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+)?(?:ba|z|da|k|fi)?sh\b`, "i"),
  new RegExp(String.raw`\b${FETCH}[^\n|]*\|\s*(?:sudo\s+)?(?:python[0-9.]*|perl|ruby|node|bun)\b`, "i"),
  // PowerShell: iwr … | iex, iex (iwr …)
  new RegExp(String.raw`\b${FETCH}[^\n|]*\|\s*(?:iex|invoke-expression)\b`, "i"),
  new RegExp(String.raw`\b(?:iex|invoke-expression)\s*\(?\s*(?:\(\s*)?(?:new-object\s+net\.webclient|${FETCH})`, "i"),
  // bash <(curl …), sh -c "$(curl …)", source <(wget …)
  new RegExp(String.raw`\b(?:(?:ba|z|da|k)?sh|source|\.)\s+<\(\s*${FETCH}`, "i"),
  new RegExp(String.raw`\b(?:ba|z|da|k)?sh\s+-c\s+["']?\$\(\s*${FETCH}`, "i"),
]

/** Every line of `text` that pipes a download into an interpreter (at most 20 per file). */
export function scanPipeToShell(text: string, file = "SKILL.md"): SkillFlag[] {
  const out: SkillFlag[] = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length && out.length < 20; i++) {
    const line = lines[i]!
    if (line.length > 4000) continue
    if (PATTERNS.some((p) => p.test(line))) out.push({ kind: "pipe-to-shell", file, line: i + 1, text: line.trim().slice(0, 200) })
  }
  return out
}
