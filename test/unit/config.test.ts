import { describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { changedPaths, deepMerge, getPath, loadConfig, mergePatch, pathPatch, REDACTED, redact, restoreRedacted, secretValues } from "../../src/config/load.ts"
import { createLogger } from "../../src/util/log.ts"
import { ConfigConflictError, ConfigManager, envOverrides, isRestartPath } from "../../src/config/manager.ts"
import { patchConfigFile, parseCliValue } from "../../src/config/edit.ts"
import { resolvePaths } from "../../src/config/paths.ts"
import { configJsonSchema, configReferenceMarkdown } from "../../src/config/json-schema.ts"
import { ConfigError } from "../../src/config/load.ts"

function home(config?: string) {
  const dir = mkdtempSync(join(tmpdir(), "gw-cfg-"))
  if (config !== undefined) writeFileSync(join(dir, "gateway.json"), config)
  return resolvePaths(dir, { XDG_CACHE_HOME: join(dir, "cache"), GATEWAY_SYSTEM_CONFIG: join(dir, "system.json") })
}

describe("loadConfig", () => {
  test("no file means embedded defaults", () => {
    const p = home()
    const l = loadConfig(p.config)
    expect(l.exists).toBe(false)
    expect(l.config?.gateway.port).toBe(18789)
    expect(l.config?.gateway.bind).toBe("loopback")
    expect(l.issues).toEqual([])
  })

  test("comments and trailing commas are accepted", () => {
    const p = home(`{
      // the port
      "gateway": { "port": 19000, },
    }`)
    expect(loadConfig(p.config).config?.gateway.port).toBe(19000)
  })

  test("unknown keys are rejected with their full path", () => {
    const p = home(`{"gateway": {"auth": {"tokn": "abcdefgh"}}}`)
    const l = loadConfig(p.config)
    expect(l.config).toBeNull()
    expect(l.issues).toContainEqual({ path: "gateway.auth.tokn", message: "unknown key" })
  })

  test("wrong types name the field", () => {
    const l = loadConfig(home(`{"gateway": {"port": "eighty"}}`).config)
    expect(l.issues[0]?.path).toBe("gateway.port")
  })

  test("unparseable text is an issue, not a throw", () => {
    const l = loadConfig(home(`{"gateway": `).config)
    expect(l.config).toBeNull()
    expect(l.issues[0]?.message).toContain("not valid JSON")
  })

  test("the system layer applies under the user's file", () => {
    const p = home(`{"gateway": {"port": 19001}}`)
    writeFileSync(p.systemConfig, JSON.stringify({ gateway: { port: 1, bind: "lan", auth: { token: "system-token" } } }))
    const l = loadConfig(p.config, p.systemConfig)
    expect(l.config?.gateway.port).toBe(19001)
    expect(l.config?.gateway.bind).toBe("lan")
    expect(l.config?.gateway.auth.token).toBe("system-token")
  })
})

describe("config helpers", () => {
  test("mergePatch follows RFC 7396", () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 } }, { b: { c: null, e: 4 }, f: [1] })).toEqual({ a: 1, b: { d: 3, e: 4 }, f: [1] })
  })
  test("changedPaths lists leaves", () => {
    expect(changedPaths({ a: { b: 1, c: 2 } }, { a: { b: 1, c: 3 }, d: true })).toEqual(["a.c", "d"])
  })
  test("deepMerge replaces arrays", () => {
    expect(deepMerge({ a: [1, 2], b: { c: 1 } }, { a: [3], b: { d: 2 } })).toEqual({ a: [3], b: { c: 1, d: 2 } })
  })
  test("redact hides secrets and restoreRedacted puts them back", () => {
    const cfg = { gateway: { auth: { token: "s3cret-token", mode: "token" } } }
    const red = redact(cfg) as typeof cfg
    expect(red.gateway.auth.token).toBe(REDACTED)
    expect(restoreRedacted(red, cfg)).toEqual(cfg)
  })
  test("redact also masks every header value, URL credentials and the other secret-named keys; both markers restore", () => {
    const cfg = {
      models: {
        providers: {
          corp: {
            baseUrl: "https://svc:hunter22@llm.example.com/v1",
            headers: { Authorization: "Bearer sk-live-123456", "X-Team": "blue" },
            apiKey: "sk-abcdef",
          },
          local: { baseUrl: "http://127.0.0.1:11434/v1" },
        },
      },
      channels: { telegram: { botToken: "123:ABCdef", webhookSecret: "whsec-987654" } },
    }
    const red = redact(cfg) as typeof cfg
    expect(red.models.providers.corp.baseUrl).toBe(`https://${REDACTED}@llm.example.com/v1`)
    expect(red.models.providers.corp.headers).toEqual({ Authorization: REDACTED, "X-Team": REDACTED })
    expect(red.models.providers.corp.apiKey).toBe(REDACTED)
    expect(red.models.providers.local.baseUrl).toBe("http://127.0.0.1:11434/v1")
    expect(red.channels.telegram).toEqual({ botToken: REDACTED, webhookSecret: REDACTED })
    const text = JSON.stringify(red)
    for (const secret of ["hunter22", "sk-live-123456", "sk-abcdef", "123:ABCdef", "whsec-987654"]) expect(text).not.toContain(secret)
    expect(restoreRedacted(red, cfg)).toEqual(cfg)
    // A client that still echoes the old marker keeps the stored secret too.
    expect(restoreRedacted({ apiKey: "__GATEWAY_REDACTED__" }, { apiKey: "sk-abcdef" })).toEqual({ apiKey: "sk-abcdef" })
    expect(REDACTED).toBe("__OPENCLAW_REDACTED__")
    expect(secretValues(cfg).sort()).toEqual(["123:ABCdef", "Bearer sk-live-123456", "sk-abcdef", "whsec-987654"].sort())
  })
  test("log lines never carry a secret", () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-log-"))
    const log = createLogger({ file: join(dir, "gateway.jsonl"), maxFileBytes: 1e6, level: "debug", console: "off" })
    log.setSecrets(["tok-123456789"])
    log.warn("provider https://user:pw@api.example.com failed with tok-123456789", { header: "Bearer tok-123456789" })
    log.close()
    const line = readFileSync(join(dir, "gateway.jsonl"), "utf8")
    expect(line).not.toContain("tok-123456789")
    expect(line).not.toContain("user:pw")
    expect(line).toContain(`https://${REDACTED}@api.example.com`)
  })
  test("pathPatch and getPath", () => {
    expect(pathPatch("a.b.c", 5)).toEqual({ a: { b: { c: 5 } } })
    expect(getPath({ a: { b: 2 } }, "a.b")).toBe(2)
    expect(() => pathPatch("", 1)).toThrow()
  })
  test("restart paths", () => {
    expect(isRestartPath("gateway.port")).toBe(true)
    expect(isRestartPath("gateway.auth.token")).toBe(true)
    expect(isRestartPath("logging.level")).toBe(false)
  })
  test("env overrides", () => {
    expect(envOverrides({ GATEWAY_PORT: "1234", OPENCLAW_GATEWAY_TOKEN: "tok" })).toEqual({ port: 1234, token: "tok" })
    expect(() => envOverrides({ GATEWAY_PORT: "nope" })).toThrow(/GATEWAY_PORT/)
  })
  test("CLI values parse as JSON5 or stay strings", () => {
    expect(parseCliValue("18790")).toBe(18790)
    expect(parseCliValue("true")).toBe(true)
    expect(parseCliValue("anthropic/claude")).toBe("anthropic/claude")
    expect(parseCliValue("[1,2]")).toEqual([1, 2])
  })
})

describe("ConfigManager writes", () => {
  test("patch needs the current baseHash once a file exists", () => {
    const p = home(`{"logging": {"level": "info"}}`)
    const m = new ConfigManager(p)
    expect(() => m.patch({ logging: { level: "debug" } })).toThrow(ConfigConflictError)
    expect(() => m.patch({ logging: { level: "debug" } }, "deadbeef")).toThrow(ConfigConflictError)
    const change = m.patch({ logging: { level: "debug" } }, m.file.hash)
    expect(change.changedPaths).toEqual(["logging.level"])
    expect(m.current.logging.level).toBe("debug")
    expect(statSync(p.config).mode & 0o777).toBe(0o600)
  })

  test("an invalid write is rejected and the file is untouched", () => {
    const p = home(`{"logging": {"level": "info"}}`)
    const before = readFileSync(p.config, "utf8")
    const m = new ConfigManager(p)
    expect(() => m.replace(`{"logging": {"level": "loud"}}`, m.file.hash)).toThrow(ConfigError)
    expect(readFileSync(p.config, "utf8")).toBe(before)
  })

  test("restart-only changes are reported as such", () => {
    const p = home()
    const m = new ConfigManager(p)
    const seen: string[][] = []
    m.onChange((c) => seen.push(c.restartPaths))
    const change = m.patch({ gateway: { port: 19999 } })
    expect(change.restartPaths).toEqual(["gateway.port"])
    expect(seen).toEqual([["gateway.port"]])
  })

  test("overrides win over the file and survive reloads", () => {
    const p = home(`{"gateway": {"port": 19002}}`)
    const m = new ConfigManager(p, { port: 1 })
    expect(m.current.gateway.port).toBe(1)
    writeFileSync(p.config, `{"gateway": {"port": 19003}, "logging": {"level": "warn"}}`)
    m.reload("test")
    expect(m.current.gateway.port).toBe(1)
    expect(m.current.logging.level).toBe("warn")
  })

  test("reload keeps the last good config when the file turns invalid", () => {
    const p = home(`{"logging": {"level": "warn"}}`)
    const errors: string[] = []
    const m = new ConfigManager(p, {}, (_l, msg) => errors.push(msg))
    writeFileSync(p.config, `{"logging": {"level": 7}}`)
    expect(m.reload("test")).toBeUndefined()
    expect(m.current.logging.level).toBe("warn")
    expect(errors[0]).toContain("logging.level")
  })

  test("the constructor refuses an invalid file", () => {
    expect(() => new ConfigManager(home(`{"nope": 1}`))).toThrow(/nope/)
  })

  test("offline patchConfigFile validates and refuses to clobber unparseable text", () => {
    const p = home()
    patchConfigFile(p, { models: { default: "openai/gpt-5" } })
    expect(loadConfig(p.config).config?.models.default).toBe("openai/gpt-5")
    expect(() => patchConfigFile(p, { models: { nope: 1 } })).toThrow(/models.nope/)
    writeFileSync(p.config, "{ broken")
    expect(() => patchConfigFile(p, { logging: { level: "debug" } })).toThrow(ConfigError)
    expect(readFileSync(p.config, "utf8")).toBe("{ broken")
  })
})

describe("JSON Schema", () => {
  test("is generated from the zod schema with defaults optional", () => {
    const s = configJsonSchema() as { properties: Record<string, any> }
    expect(s.properties.gateway.properties.port.default).toBe(18789)
    expect(s.properties.gateway.additionalProperties).toBe(false)
  })
  test("the markdown reference lists leaf keys", () => {
    const md = configReferenceMarkdown()
    expect(md).toContain("`gateway.port`")
    expect(md).toContain("`gateway.auth.rateLimit.maxAttempts`")
  })
})
