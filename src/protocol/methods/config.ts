/** Config methods: config.get / set / patch / schema over the running config. Writes need baseHash to avoid lost updates. */
import { z } from "zod"
import { lazy, type Built } from "../lazy.ts"
import { method, NoParams } from "./define.ts"

export const ConfigIssue = lazy(() => z.object({ path: z.string(), message: z.string() }))

/** The file as it is on disk (`raw`, `parsed`, `hash`, `issues`) and the config that is running (`config`), secrets redacted. */
export const ConfigGetResult = lazy(() =>
  z
    .object({
      path: z.string(),
      exists: z.boolean(),
      raw: z.string().nullable().describe("The file's text; null when missing or unparseable"),
      parsed: z.unknown().describe("The file's parsed value, redacted"),
      valid: z.boolean(),
      config: z.record(z.string(), z.unknown()).describe("The running config, redacted"),
      hash: z.string().describe("Send as baseHash with config.set / config.patch"),
      issues: z.array(ConfigIssue()),
      warnings: z.array(z.string()),
    })
    .loose(),
)
export type ConfigGetResult = z.infer<Built<typeof ConfigGetResult>>

export const ConfigWriteResult = lazy(() =>
  z.object({
    ok: z.literal(true),
    path: z.string(),
    hash: z.string(),
    config: z.record(z.string(), z.unknown()).describe("The config now running, redacted"),
    changedPaths: z.array(z.string()),
    restartRequired: z.boolean(),
    restartPaths: z.array(z.string()),
  }),
)
export type ConfigWriteResult = z.infer<Built<typeof ConfigWriteResult>>

const ConfigWriteParams = lazy(() =>
  z.strictObject({
    raw: z.string().max(1_000_000).describe("JSON5: the whole file (config.set) or a JSON merge patch (config.patch)"),
    baseHash: z.string().optional(),
    sessionKey: z.string().optional(),
    note: z.string().optional(),
    restartDelayMs: z.number().optional(),
  }),
)

export const configGet = method("config.get", "operator.read", NoParams, ConfigGetResult)
export const configSet = method("config.set", "operator.admin", ConfigWriteParams, ConfigWriteResult)
export const configPatch = method("config.patch", "operator.admin", ConfigWriteParams, ConfigWriteResult)

export const ConfigUiHint = lazy(() => z.object({ label: z.string().optional(), help: z.string().optional(), sensitive: z.boolean().optional() }))

export const configSchema = method("config.schema", "operator.admin", NoParams, () =>
  z.object({
    schema: z.record(z.string(), z.unknown()).describe("JSON Schema of gateway.json"),
    uiHints: z.record(z.string(), ConfigUiHint()).describe("Per dotted path, e.g. gateway.auth.token"),
    version: z.string(),
    generatedAt: z.string(),
  }),
)
