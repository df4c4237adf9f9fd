/** config.get / set / patch / schema over the running ConfigManager. Writes need baseHash to avoid lost updates. */
import { ConfigError, redact } from "../config/load.ts"
import { configJsonSchema, configUiHints } from "../config/json-schema.ts"
import { ConfigConflictError, type ConfigChange } from "../config/manager.ts"
import type { Config } from "../config/schema.ts"
import { ConfigWouldNotStart } from "../config/startup-check.ts"
import { GatewayError } from "../protocol/index.ts"
import type { MethodContext } from "./context.ts"
import type { PartialHandlers } from "./registry.ts"

export function guardWrite(ctx: MethodContext, write: () => ConfigChange & { config: Config }) {
  try {
    const change = write()
    ctx.gw.log.info(`config written by ${ctx.caller.client.id} (${ctx.caller.connId})`, { changedPaths: change.changedPaths })
    return {
      ok: true as const,
      path: ctx.gw.paths.config,
      hash: change.hash,
      config: redact(change.config) as Record<string, unknown>,
      changedPaths: change.changedPaths,
      restartRequired: change.restartPaths.length > 0,
      restartPaths: change.restartPaths,
    }
  } catch (err) {
    if (err instanceof ConfigConflictError) throw new GatewayError("INVALID_REQUEST", err.message, { code: "CONFIG_BASE_HASH_MISMATCH" })
    // Valid, but the gateway would refuse to start with it (the same checks start-up makes): not written.
    if (ConfigWouldNotStart.isInstance(err))
      throw new GatewayError("INVALID_REQUEST", err.message, { code: "CONFIG_WOULD_NOT_START", problems: err.data.problems })
    if (err instanceof ConfigError) {
      const first = err.issues[0]
      throw new GatewayError("INVALID_REQUEST", `invalid config: ${first?.path || "(root)"}: ${first?.message}`, { code: "INVALID_CONFIG", issues: err.issues })
    }
    throw err
  }
}

export const configHandlers = {
  "config.get": (_params, { gw }) => {
    // The file as it is now (its hash is what writes are checked against; valid/issues say whether reload kept it
    // out), while `config` is what is running.
    const file = gw.config.onDisk()
    return {
      path: file.path,
      exists: file.exists,
      // Unparseable text cannot be redacted, so it is not shown (issues say what is wrong with it).
      raw: file.raw === null || file.parsed === null ? null : (redactRaw(file.raw, file.parsed) ?? null),
      parsed: redact(file.parsed ?? {}),
      valid: file.issues.length === 0,
      config: redact(gw.config.current) as Record<string, unknown>,
      hash: file.hash,
      issues: file.issues,
      warnings: file.warnings,
    }
  },
  "config.set": (params, ctx) => guardWrite(ctx, () => ctx.gw.config.replace(params.raw, params.baseHash)),
  "config.patch": (params, ctx) => guardWrite(ctx, () => ctx.gw.config.patch(params.raw, params.baseHash)),
  "config.schema": (_params, { gw }) => ({
    schema: configJsonSchema(),
    uiHints: configUiHints(),
    version: gw.version,
    generatedAt: new Date(gw.startedAt).toISOString(),
  }),
} satisfies PartialHandlers

/** The raw text with secrets masked: re-serialised from the parsed value when it holds any secret. */
function redactRaw(raw: string, parsed: unknown): string | undefined {
  const masked = redact(parsed)
  return JSON.stringify(masked) === JSON.stringify(parsed) ? raw : JSON.stringify(masked, null, 2)
}
