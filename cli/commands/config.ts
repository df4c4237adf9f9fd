/**
 * `gateway config get [KEY] | set KEY VALUE | unset KEY | path | schema`. Talks to the running gateway when there is
 * one (it validates, writes and hot-applies); edits the file directly when none is running.
 */
import { defineCommand } from "citty"
import { type GatewayClient, GatewayUnreachableError } from "../../src/client/index.ts"
import { patchConfigFile, parseCliValue } from "../../src/config/edit.ts"
import { ConfigError, getPath, loadConfig, pathPatch, redact } from "../../src/config/load.ts"
import { applyOverrides, envOverrides } from "../../src/config/manager.ts"
import { resolvePaths } from "../../src/config/paths.ts"
import { readRuntime } from "../../src/config/runtime.ts"
import { ConfigWouldNotStart } from "../../src/config/startup-check.ts"
import { StateHomeError } from "../../src/config/state-home.ts"
import { connect, connectionArgs, describeError, fail, homeArgs, jsonArgs, printJson, type ConnectionArgValues } from "./_shared.ts"

/** A connected client, or undefined when no gateway answers (then the file is used). Other errors are fatal. */
async function tryConnect(args: ConnectionArgValues & { json?: boolean }): Promise<GatewayClient | undefined> {
  try {
    return await connect(args, ["operator.admin"])
  } catch (err) {
    if (err instanceof GatewayUnreachableError && !args.url && !process.env.GATEWAY_URL) return undefined
    fail(describeError(err), { json: args.json, error: err })
  }
}

function printValue(value: unknown, json: boolean): void {
  if (json || typeof value === "object") printJson(value ?? null)
  else process.stdout.write(`${value === undefined ? "" : String(value)}\n`)
}

const get = defineCommand({
  meta: { name: "get", description: "Print the effective config (secrets redacted), or one KEY such as gateway.port" },
  args: { key: { type: "positional", required: false, description: "Dotted key, e.g. gateway.auth.mode" }, ...connectionArgs },
  async run({ args }) {
    const client = await tryConnect(args)
    let config: unknown
    if (client) {
      try {
        config = (await client.request("config.get")).config
      } catch (err) {
        fail(describeError(err), { json: args.json, error: err })
      } finally {
        client.close()
      }
    } else {
      const paths = resolvePaths(args.home)
      const loaded = loadConfig(paths.config, paths.systemConfig)
      if (!loaded.config) fail(new ConfigError({ path: paths.config, issues: loaded.issues }).message, { json: args.json })
      // What `gateway run` from this shell would use: GATEWAY_PORT and friends apply over the file, as at start-up.
      let overrides: ReturnType<typeof envOverrides> = {}
      try {
        overrides = envOverrides(process.env)
      } catch (err) {
        fail((err as Error).message, { json: args.json })
      }
      if (overrides.port !== undefined && overrides.port !== loaded.config.gateway.port && (!args.key || "gateway.port".startsWith(args.key))) {
        process.stderr.write(`gateway: note: GATEWAY_PORT=${overrides.port} overrides gateway.port (${loaded.config.gateway.port} in ${paths.config})\n`)
      }
      config = redact(applyOverrides(loaded.config, overrides))
    }
    const value = args.key ? getPath(config, args.key) : config
    if (args.key && value === undefined) fail(`no such config key: ${args.key}`, { json: args.json })
    printValue(value, args.json)
  },
})

/**
 * Applies a config patch through the running gateway when there is one, else to the file; prints what happened
 * (with --json: one object, `extra` merged in).
 */
export async function writeConfigPatch(
  args: ConnectionArgValues & { json?: boolean },
  patch: Record<string, unknown>,
  what: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const client = await tryConnect(args)
  if (client) {
    try {
      const { hash } = await client.request("config.get")
      const res = await client.request("config.patch", { raw: JSON.stringify(patch), baseHash: hash })
      if (args.json) printJson({ ...res, ...extra })
      else {
        process.stdout.write(`${what} (${res.restartRequired ? "saved" : "applied"} by the running gateway)\n`)
        if (res.restartRequired) process.stdout.write(`restart required for: ${res.restartPaths.join(", ")} (gateway restart)\n`)
        for (const note of overrideNotes(args.home, res.restartPaths)) process.stdout.write(`note: ${note}\n`)
      }
    } catch (err) {
      fail(describeError(err), { json: args.json, error: err })
    } finally {
      client.close()
    }
    return
  }
  const paths = resolvePaths(args.home)
  try {
    const { changed } = patchConfigFile(paths, patch)
    if (args.json) printJson({ ok: true, path: paths.config, changed, appliedBy: "file", ...extra })
    else process.stdout.write(`${what} in ${paths.config} (no gateway running; it applies at next start)\n`)
  } catch (err) {
    const known = err instanceof ConfigError || ConfigWouldNotStart.isInstance(err) || StateHomeError.isInstance(err)
    fail(known ? (err as Error).message : describeError(err), { json: args.json, error: err })
  }
}

/**
 * A restart-only key the running gateway takes from a flag or variable: saving it changes nothing until the
 * gateway is started without that override, which the user should hear now rather than after a restart.
 */
function overrideNotes(home: string | undefined, restartPaths: string[]): string[] {
  const rt = readRuntime(resolvePaths(home))
  if (!rt) return []
  const words: Record<string, string> = {
    "gateway.port": "--port / GATEWAY_PORT",
    "gateway.bind": "--bind",
    "gateway.auth.token": "--token / GATEWAY_TOKEN",
    "gateway.auth.password": "--password / GATEWAY_PASSWORD",
  }
  return restartPaths
    .filter((p) => rt.overrides?.[p])
    .map(
      (p) =>
        `the running gateway (pid ${rt.pid}) was started with ${words[p] ?? "an override"}, which wins over ${p}; a restart with the same command line keeps it`,
    )
}

const set = defineCommand({
  meta: { name: "set", description: "Set KEY to VALUE (JSON5 when it parses, else a string), validated before it is saved" },
  args: {
    key: { type: "positional", required: true, description: "Dotted key, e.g. models.default" },
    value: { type: "positional", required: true, description: 'Value, e.g. 18790, true, "text", ["a"]' },
    ...connectionArgs,
  },
  async run({ args }) {
    await writeConfigPatch(args, pathPatch(args.key, parseCliValue(args.value)), `set ${args.key}`)
  },
})

const unset = defineCommand({
  meta: { name: "unset", description: "Remove KEY from the config file (its default applies again)" },
  args: { key: { type: "positional", required: true, description: "Dotted key" }, ...connectionArgs },
  async run({ args }) {
    await writeConfigPatch(args, pathPatch(args.key, null), `unset ${args.key}`)
  },
})

const path = defineCommand({
  meta: { name: "path", description: "Print the config file's path" },
  args: { ...homeArgs, ...jsonArgs },
  run({ args }) {
    const paths = resolvePaths(args.home)
    if (args.json) printJson({ path: paths.config, exists: loadConfig(paths.config).exists, home: paths.home })
    else process.stdout.write(`${paths.config}\n`)
  },
})

const schema = defineCommand({
  meta: { name: "schema", description: "Print the config's JSON Schema (or --markdown: the reference table)" },
  args: { markdown: { type: "boolean", default: false, description: "Markdown reference table instead of JSON Schema" } },
  async run({ args }) {
    const { configJsonSchema, configReferenceMarkdown } = await import("../../src/config/json-schema.ts")
    if (args.markdown) process.stdout.write(`${configReferenceMarkdown()}\n`)
    else printJson(configJsonSchema())
  },
})

export default defineCommand({
  meta: { name: "config", description: "Read and change gateway.json (validated; hot-applied by a running gateway)" },
  subCommands: { get, set, unset, path, schema },
})
