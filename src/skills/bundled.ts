/**
 * The skills embedded in the binary, as text: they have no folder on disk (inside the compiled binary import.meta
 * points into /$bunfs), so their file path is shown as <bundled>/<name>/SKILL.md. Both dispatch to a tool, so the
 * model uses the tool itself and the skills are kept out of the prompt (disable-model-invocation).
 */
import browser from "./bundled/browser/SKILL.md" with { type: "text" }
import webSearch from "./bundled/web-search/SKILL.md" with { type: "text" }

export interface BundledSkill {
  dirName: string
  text: string
}

export const BUNDLED_SKILLS: readonly BundledSkill[] = [
  { dirName: "web-search", text: webSearch },
  { dirName: "browser", text: browser },
]

/** How a bundled skill's location is shown (it exists only inside the binary). */
export const BUNDLED_ROOT = "<bundled>"
