/**
 * Skills methods: skills.status in OpenClaw's shape (checked against a recorded OpenClaw reply), skills.bins,
 * skills.install (a skill from a folder, archive or git URL; or, with installId, one of a skill's install hints),
 * skills.update (re-fetch from the recorded source) and skills.invoke (run a skill that dispatches to a tool).
 */
import { z } from "zod"
import { lazy } from "../lazy.ts"
import { method, NoParams } from "./define.ts"

const Requirements = lazy(() =>
  z.object({
    bins: z.array(z.string()),
    anyBins: z.array(z.string()),
    env: z.array(z.string()),
    config: z.array(z.string()),
    os: z.array(z.string()),
  }),
)

export const SkillFlag = lazy(() =>
  z.object({
    kind: z.literal("pipe-to-shell").describe("An instruction pipes a download into a shell or interpreter"),
    file: z.string(),
    line: z.number().int(),
    text: z.string(),
  }),
)

export const SkillInstallOption = lazy(() =>
  z.object({
    id: z.string(),
    kind: z.string().describe("brew | apt | node | npm | go | uv | download"),
    label: z.string(),
    bins: z.array(z.string()),
    command: z.string().optional().describe("The exact command skills.install {name, installId} would run (download hints: none)"),
    url: z.string().optional(),
  }),
)

export const SkillStatusEntry = lazy(() =>
  z.object({
    name: z.string(),
    description: z.string(),
    source: z.string().describe("openclaw-workspace | openclaw-managed | openclaw-bundled | openclaw-extra"),
    bundled: z.boolean(),
    filePath: z.string(),
    baseDir: z.string(),
    skillKey: z.string(),
    emoji: z.string().optional(),
    homepage: z.string().optional(),
    primaryEnv: z.string().optional(),
    always: z.boolean(),
    disabled: z.boolean(),
    blockedByAllowlist: z.boolean(),
    blockedByAgentFilter: z.boolean(),
    eligible: z.boolean(),
    platformIncompatible: z.boolean(),
    modelVisible: z.boolean(),
    userInvocable: z.boolean(),
    commandVisible: z.boolean(),
    requirements: Requirements(),
    missing: Requirements(),
    configChecks: z.array(z.object({ path: z.string(), satisfied: z.boolean() })),
    install: z.array(SkillInstallOption()),
    commandTool: z.string().optional().describe("command-dispatch: tool — the tool skills.invoke runs"),
    reasons: z.array(z.string()).optional().describe("Why the skill is not eligible"),
    flags: z.array(SkillFlag()).optional().describe("Suspicious instructions (a download piped into a shell)"),
    sha256: z.string().optional().describe("Content hash recorded when installed with skills.install"),
    installedFrom: z.string().optional(),
    shadows: z
      .array(z.object({ source: z.string(), filePath: z.string() }))
      .optional()
      .describe("Lower-precedence copies of the same name this skill hides (a workspace skill named like a bundled one takes its place)"),
  }),
)

export const skillsStatus = method(
  "skills.status",
  "operator.read",
  () => z.strictObject({ agentId: z.string().optional() }).optional().default({}),
  () =>
    z.object({
      workspaceDir: z.string(),
      managedSkillsDir: z.string(),
      agentId: z.string().optional(),
      skills: z.array(SkillStatusEntry()),
      errors: z
        .array(z.object({ source: z.string(), filePath: z.string(), message: z.string() }))
        .optional()
        .describe("SKILL.md files that could not be loaded (the others still are)"),
    }),
)

/** Node role (OpenClaw: a node host's exec auto-allow asks for it) or operator.read, checked by the handler. */
export const skillsBins = method("skills.bins", null, NoParams, () =>
  z.object({ bins: z.array(z.string()).describe("Every binary the loaded skills require (bins and anyBins)") }),
)

const FileChanges = lazy(() => z.object({ added: z.array(z.string()), removed: z.array(z.string()), changed: z.array(z.string()) }))

export const SkillInstallResult = lazy(() =>
  z.object({
    ok: z.literal(true),
    name: z.string(),
    dir: z.string(),
    source: z.string(),
    sourceKind: z.enum(["dir", "archive", "git"]),
    sha256: z.string().describe("SHA-256 of the sorted '<sha256>  <path>' lines of the skill's files"),
    files: z.number().int(),
    bytes: z.number().int(),
    replaced: z.boolean(),
    unchanged: z.boolean().describe("The same content was already installed; nothing was written"),
    previousSha256: z.string().optional(),
    changes: FileChanges().optional(),
    flags: z.array(SkillFlag()),
  }),
)

export const SkillDepsResult = lazy(() =>
  z.object({
    ok: z.boolean(),
    name: z.string(),
    installId: z.string(),
    command: z.array(z.string()),
    dryRun: z.boolean(),
    exitCode: z.number().int().nullable(),
    stdout: z.string(),
    stderr: z.string(),
  }),
)

export const skillsInstall = method(
  "skills.install",
  "operator.admin",
  () =>
    z.strictObject({
      source: z.string().min(1).max(4096).optional().describe("A folder with SKILL.md, a .tar.gz/.tgz/.zip URL or file, or a git URL"),
      sha256: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/)
        .optional()
        .describe("Refuse unless the content hash is this"),
      force: z.boolean().optional().describe("Replace an installed skill of the same name"),
      cwd: z.string().max(4096).optional().describe("Relative local sources resolve against this (the caller's directory)"),
      name: z.string().min(1).max(128).optional().describe("With installId: the skill whose install hint runs"),
      installId: z.string().min(1).max(128).optional().describe("Runs this install hint (brew, apt, npm, go, uv) of the skill named by name"),
      dryRun: z.boolean().optional().describe("With installId: only answer the command that would run"),
      command: z
        .array(z.string().max(4096))
        .min(1)
        .max(64)
        .optional()
        .describe("With installId: the exact argv the caller showed (a dryRun's command); refused if the hint now stands for another command"),
      timeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
    }),
  () => z.union([SkillInstallResult(), SkillDepsResult()]),
)

export const skillsUpdate = method(
  "skills.update",
  "operator.admin",
  () =>
    z.strictObject({
      name: z.string().min(1).max(128).optional().describe("The installed skill to re-fetch from its recorded source"),
      all: z.boolean().optional().describe("Every skill installed with skills.install"),
      sha256: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/)
        .optional(),
      skillKey: z.string().min(1).max(128).optional().describe("OpenClaw's form: write skills.entries.<skillKey> (enabled, apiKey, env) instead"),
      enabled: z.boolean().optional(),
      apiKey: z.string().optional(),
      env: z.record(z.string(), z.string()).optional(),
    }),
  () =>
    z.union([
      z.object({
        ok: z.literal(true),
        skillKey: z.string(),
        config: z.object({ enabled: z.boolean().optional(), hasApiKey: z.boolean(), env: z.array(z.string()) }),
      }),
      skillsUpdateResults(),
    ]),
)

function skillsUpdateResults() {
  return z.object({
    results: z.array(
      z.union([
        SkillInstallResult(),
        z.object({ ok: z.literal(false), name: z.string(), error: z.string().describe("Why this skill was not updated (the old copy stays)") }),
      ]),
    ),
  })
}

export const skillsInvoke = method(
  "skills.invoke",
  "operator.write",
  () =>
    z.strictObject({
      skill: z.string().min(1).max(128),
      args: z
        .union([z.record(z.string(), z.unknown()), z.string().max(100_000)])
        .optional()
        .describe("Tool arguments (merged over the skill's command-args), or raw text for command-arg-mode raw"),
      sessionKey: z.string().optional(),
    }),
  () =>
    z.object({
      ok: z.boolean(),
      skill: z.string(),
      tool: z.string(),
      result: z.json().describe("The tool's output: parsed JSON when it is JSON, else its text"),
      isError: z.boolean(),
    }),
)
