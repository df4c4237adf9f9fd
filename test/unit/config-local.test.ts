/**
 * config/local.ts finds the local gateway without zod when the config cannot change the answer. Its answers must be
 * those of the validated config in every case: compared here with the straightforward algorithm (load and validate
 * the whole config, then decide) over configs that validate or not, set the connection keys or not, in the user's
 * file or the system layer, with and without a running gateway and the environment variables.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readGeneratedToken, isLoopbackAddress } from "../../src/config/auth.ts"
import { loadConfig, validate } from "../../src/config/load.ts"
import { DEFAULT_BIND, DEFAULT_PORT, localConnection, type LocalConnection } from "../../src/config/local.ts"
import { resolvePaths } from "../../src/config/paths.ts"
import { liveRuntime, type RuntimeInfo } from "../../src/config/runtime.ts"
import { DEFAULT_PORT as SCHEMA_DEFAULT_PORT } from "../../src/config/schema.ts"

/** The algorithm local.ts had before it avoided zod: the reference its answers must equal. */
async function reference(home: string, env: NodeJS.ProcessEnv): Promise<LocalConnection> {
  const paths = resolvePaths(home, env)
  const loaded = loadConfig(paths.config, paths.systemConfig)
  const gw = loaded.config?.gateway
  const runtime = await liveRuntime(paths)
  const clientHost = (bind: string) => {
    const host = bind === "loopback" || bind === "localhost" || bind === "lan" || bind === "0.0.0.0" || bind === "::" ? "127.0.0.1" : bind
    return host.includes(":") && !isLoopbackAddress(host) ? `[${host}]` : host
  }
  let url: string
  let urlSource: LocalConnection["urlSource"]
  if (runtime) {
    url = runtime.url
    urlSource = "runtime"
  } else {
    const port = env.GATEWAY_PORT ? Number(env.GATEWAY_PORT) : (gw?.port ?? SCHEMA_DEFAULT_PORT)
    urlSource = env.GATEWAY_PORT ? "env" : gw && loaded.exists ? "config" : "default"
    url = `ws://${clientHost(gw?.bind ?? "loopback")}:${port}`
  }
  const envToken = env.GATEWAY_TOKEN ? "GATEWAY_TOKEN" : env.OPENCLAW_GATEWAY_TOKEN ? "OPENCLAW_GATEWAY_TOKEN" : undefined
  const generated = gw?.auth.password ? undefined : readGeneratedToken(paths)
  const token = (envToken && env[envToken]) || gw?.auth.token || generated
  const tokenSource = envToken ?? (gw?.auth.token ? `gateway.auth.token in ${paths.config}` : generated ? paths.tokenFile : undefined)
  const envPassword = env.GATEWAY_PASSWORD ? "GATEWAY_PASSWORD" : env.OPENCLAW_GATEWAY_PASSWORD ? "OPENCLAW_GATEWAY_PASSWORD" : undefined
  const password = (envPassword && env[envPassword]) || gw?.auth.password
  const passwordSource = envPassword ?? (gw?.auth.password ? `gateway.auth.password in ${paths.config}` : undefined)
  return { url, token, password, source: paths.config, urlSource, tokenSource, passwordSource, runtime, home: paths.home, tokenFile: paths.tokenFile }
}

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** Config texts: valid or not, touching the connection keys or not. `undefined` = no file. */
const CONFIGS: (string | undefined)[] = [
  undefined,
  "",
  "  \n",
  "{}",
  "// comment only\n{}",
  `{ "logging": { "level": "debug" } }`,
  `{ "logging": { "level": "loud" } }`,
  `{ "nonsense": 1 }`,
  `{ "gateway": {} }`,
  `{ "gateway": { "tickIntervalMs": 5000 } }`,
  `{ "gateway": { "tickIntervalMs": 5 } }`,
  `{ "gateway": { "auth": {} } }`,
  `{ "gateway": { "auth": { "mode": "none" } } }`,
  `{ "gateway": { "auth": { "rateLimit": { "maxAttempts": 0 } } } }`,
  `{ "gateway": { "port": 19123 } }`,
  `{ "gateway": { "port": 19123 }, "nonsense": 1 }`,
  `{ "gateway": { "port": "eighty" } }`,
  `{ "gateway": { "bind": "lan" } }`,
  `{ "gateway": { "bind": "::1" } }`,
  `{ "gateway": { "bind": "fd00::5" } }`,
  `{ "gateway": { "auth": { "token": "config-token-123" } } }`,
  `{ "gateway": { "auth": { "token": "short" } } }`,
  `{ "gateway": { "auth": { "token": "config-token-123" } }, "logging": { "level": "loud" } }`,
  `{ "gateway": { "auth": { "password": "config-password" } } }`,
  `{ "gateway": { "auth": "token" } }`,
  `{ "gateway": 5 }`,
  "[]",
  "42",
  "null",
  `{ "gateway": `,
  `{ "__proto__": { "gateway": { "port": 1 } } }`,
  `{ "gateway": { "__proto__": { "port": 1 } } }`,
  `{ "gateway": { "auth": { "__proto__": { "token": "proto-token-1234" } } } }`,
]

const SYSTEM: (string | undefined)[] = [undefined, `{ "gateway": { "port": 19500 } }`, `{ "logging": { "level": "warn" } }`, `{ "bad": true }`, "{"]

const ENVS: NodeJS.ProcessEnv[] = [
  {},
  { GATEWAY_PORT: "19999" },
  { GATEWAY_TOKEN: "env-token-1234567" },
  { OPENCLAW_GATEWAY_TOKEN: "oc-token-1234567", GATEWAY_PASSWORD: "env-password" },
]

function stateHome(config: string | undefined, system: string | undefined, generatedToken: boolean): { home: string; env: NodeJS.ProcessEnv } {
  const home = mkdtempSync(join(tmpdir(), "gw-local-"))
  dirs.push(home)
  if (config !== undefined) writeFileSync(join(home, "gateway.json"), config)
  const systemConfig = join(home, "system", "gateway.json")
  if (system !== undefined) {
    mkdirSync(join(home, "system"))
    writeFileSync(systemConfig, system)
  }
  if (generatedToken) writeFileSync(join(home, "gateway.token"), "generated-token-abcdef\n")
  return { home, env: { GATEWAY_SYSTEM_CONFIG: systemConfig, XDG_CACHE_HOME: join(home, "cache") } }
}

/** Both answers as plain data (urlSource is a getter in local.ts's). */
const plain = (c: LocalConnection) => ({ ...c, urlSource: c.urlSource })

describe("localConnection", () => {
  test("its defaults are the schema's", () => {
    expect(DEFAULT_PORT).toBe(SCHEMA_DEFAULT_PORT)
    const gw = validate({}).config!.gateway
    expect([gw.port, gw.bind, gw.auth.token, gw.auth.password]).toEqual([DEFAULT_PORT, DEFAULT_BIND, undefined, undefined])
  })

  test("answers as the validated config does, for every config, system layer and environment", async () => {
    let compared = 0
    for (const config of CONFIGS) {
      for (const system of SYSTEM) {
        for (const generatedToken of [false, true]) {
          const { home, env: base } = stateHome(config, system, generatedToken)
          for (const extra of ENVS) {
            const env = { ...base, ...extra }
            const got = plain(await localConnection(home, env))
            expect(got, `config ${JSON.stringify(config)}, system ${JSON.stringify(system)}, env ${JSON.stringify(extra)}`).toEqual(
              plain(await reference(home, env)),
            )
            compared++
          }
        }
      }
    }
    expect(compared).toBe(CONFIGS.length * SYSTEM.length * 2 * ENVS.length)
  })

  test("with a running gateway, the runtime file gives the URL in both", async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
    try {
      for (const config of [undefined, `{ "gateway": { "port": 19123 } }`, `{ "gateway": { "auth": { "token": "config-token-123" } } }`, `{ "x": 1 }`]) {
        const { home, env } = stateHome(config, undefined, true)
        const info: RuntimeInfo = {
          pid: process.pid,
          url: `ws://127.0.0.1:${server.port}`,
          port: server.port,
          host: "127.0.0.1",
          bind: "loopback",
          startedAt: new Date().toISOString(),
          version: "test",
          home,
          configPath: join(home, "gateway.json"),
          portSource: "flag",
          authMode: "token",
          authSource: "generated",
          overrides: {},
        }
        writeFileSync(join(home, "gateway.runtime.json"), JSON.stringify(info))
        const got = plain(await localConnection(home, env))
        expect(got.urlSource).toBe("runtime")
        expect(got).toEqual(plain(await reference(home, env)))
      }
    } finally {
      server.stop(true)
    }
  })
})
