/** Config of skills (SKILL.md folders): extra directories, the watcher, per-skill overrides, install limits, prompt cap. */
import { z } from "zod"

export const SkillEntry = z
  .strictObject({
    enabled: z.boolean().optional().describe("false disables the skill even when it is bundled or installed"),
    apiKey: z.string().optional().describe("Value for the skill's primaryEnv variable (counts as that variable being set)"),
    env: z.record(z.string(), z.string()).optional().describe("Environment variables the skill needs; each counts as set for its requires.env"),
    config: z.record(z.string(), z.unknown()).optional().describe("Free-form settings for the skill"),
  })
  .describe("Per-skill overrides, keyed by the skill's name (or its metadata skillKey)")

export const Skills = z
  .strictObject({
    allowBundled: z
      .array(z.string().min(1))
      .optional()
      .describe("When set, only the bundled skills named here are eligible (workspace, managed and extra skills are unaffected)"),
    load: z
      .strictObject({
        extraDirs: z.array(z.string().min(1)).default([]).describe("More directories of skill folders, lowest precedence (~ expands to home)"),
        watch: z.boolean().default(true).describe("Watch the skill directories and reload skills when a SKILL.md changes"),
        watchDebounceMs: z.number().int().min(10).max(60_000).default(250).describe("Debounce of the skills watcher"),
      })
      .prefault({}),
    entries: z.record(z.string(), SkillEntry).default({}).describe("Per-skill overrides: enabled, apiKey, env, config"),
    prompt: z
      .strictObject({
        maxChars: z.number().int().min(0).default(18_000).describe("Characters of the skills list in the system prompt (0: no list)"),
        maxSkills: z.number().int().min(0).default(150).describe("Most skills listed in the system prompt"),
      })
      .prefault({}),
    install: z
      .strictObject({
        maxBytes: z
          .number()
          .int()
          .min(1024)
          .default(20 * 1024 * 1024)
          .describe("Largest skill accepted by skills install (download and unpacked files, each)"),
        maxFiles: z.number().int().min(1).default(500).describe("Most files a skill may contain"),
        timeoutMs: z.number().int().min(1000).default(120_000).describe("Timeout of a download or git clone"),
      })
      .prefault({}),
  })
  .describe("Skills: SKILL.md folders in workspace/skills, $GATEWAY_HOME/skills, bundled, and load.extraDirs")
