/**
 * Whether a loaded skill may be used here and now, with the reasons when not: disabled in config
 * (skills.entries.<key>.enabled), a bundled skill outside skills.allowBundled, the wrong OS, or missing binaries
 * (PATH lookup), environment variables or config keys. `always: true` skips the requirement checks (OpenClaw).
 */
import { getPath } from "../config/load.ts"
import type { Config } from "../config/schema.ts"
import type { Requirements } from "./frontmatter.ts"
import type { LoadedSkill } from "./sources.ts"

export interface Eligibility {
  eligible: boolean
  disabled: boolean
  blockedByAllowlist: boolean
  platformIncompatible: boolean
  missing: Requirements
  configChecks: { path: string; satisfied: boolean }[]
  /** Human-readable reasons, empty when eligible. */
  reasons: string[]
}

export interface EligibilityEnv {
  config: Config
  env: NodeJS.ProcessEnv
  platform?: NodeJS.Platform
  /** PATH lookup (default Bun.which against env.PATH); injectable for tests. */
  which?: (bin: string) => string | null
}

const truthy = (v: unknown) => !(v === undefined || v === null || v === false || v === "" || v === 0 || (Array.isArray(v) && v.length === 0))

export function evaluate(skill: LoadedSkill, e: EligibilityEnv): Eligibility {
  const sk = e.config.skills
  const entry = sk.entries[skill.key] ?? sk.entries[skill.name]
  const platform = e.platform ?? process.platform
  const which = e.which ?? ((bin: string) => Bun.which(bin, { PATH: e.env.PATH ?? "" }))
  const req = skill.requires

  const disabled = entry?.enabled === false
  const blockedByAllowlist =
    skill.source === "openclaw-bundled" && !!sk.allowBundled && !sk.allowBundled.includes(skill.name) && !sk.allowBundled.includes(skill.key)
  const platformIncompatible = req.os.length > 0 && !req.os.includes(platform)
  const hasEnv = (name: string) => !!e.env[name] || !!entry?.env?.[name] || (!!entry?.apiKey && skill.primaryEnv === name)
  const configChecks = req.config.map((path) => ({ path, satisfied: truthy(getPath(e.config, path)) }))
  const missing: Requirements = {
    bins: req.bins.filter((b) => !which(b)),
    anyBins: req.anyBins.length > 0 && !req.anyBins.some((b) => which(b)) ? [...req.anyBins] : [],
    env: req.env.filter((v) => !hasEnv(v)),
    config: configChecks.filter((c) => !c.satisfied).map((c) => c.path),
    os: platformIncompatible ? [...req.os] : [],
  }
  const reasons: string[] = []
  if (disabled) reasons.push(`disabled by skills.entries.${skill.key}.enabled`)
  if (blockedByAllowlist) reasons.push("bundled skill not in skills.allowBundled")
  if (platformIncompatible) reasons.push(`needs OS ${req.os.join(" or ")} (this is ${platform})`)
  if (!skill.always) {
    if (missing.bins.length) reasons.push(`missing binaries on PATH: ${missing.bins.join(", ")}`)
    if (missing.anyBins.length) reasons.push(`needs one of: ${missing.anyBins.join(", ")}`)
    if (missing.env.length) reasons.push(`missing environment variables: ${missing.env.join(", ")} (or set skills.entries.${skill.key}.env)`)
    if (missing.config.length) reasons.push(`config keys not set: ${missing.config.join(", ")}`)
  }
  return { eligible: reasons.length === 0, disabled, blockedByAllowlist, platformIncompatible, missing, configChecks, reasons }
}
