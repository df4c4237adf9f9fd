/** The skills room's refusals, in a module of their own so method handlers can tell them apart without loading the installer. */

/** An install or update that cannot proceed (bad source, hash mismatch, name taken); nothing was written. */
export class SkillInstallError extends Error {
  override name = "SkillInstallError"
}

/** An archive or folder that would write outside the skill or past the limits (traversal, links, bombs). */
export class UnsafeArchiveError extends Error {
  override name = "UnsafeArchiveError"
}
