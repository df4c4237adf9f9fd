/**
 * The parsers in src/protocol/validators.gen.ts are generated from the zod schemas by zod's compiler; the CLI trusts
 * them instead of the schemas. They must stay generated from today's schemas (the file is not stale) and agree
 * with the schemas: the same parsed value (unknown keys stripped) where the schema accepts, INVALID where it
 * rejects, on realistic frames and on every single-field mutation of them.
 */
import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import type { z } from "zod"
import { util } from "zod/v4/core"
import { GENERATED_FILE, generateValidators } from "../../../src/protocol/gen-validators.ts"
import { ConnectParams, HelloOk, ServerFrame } from "../../../src/protocol/index.ts"
import { connectParams, helloOk, INVALID, type Parser, serverFrame } from "../../../src/protocol/validators.gen.ts"

const health = {
  ok: true,
  ts: 1_760_000_000_000,
  durationMs: 3,
  channels: { telegram: { configured: false } },
  channelOrder: ["telegram"],
  channelLabels: { telegram: "Telegram" },
  heartbeatSeconds: 0,
  defaultAgentId: "main",
  agents: [{ agentId: "main", isDefault: true, heartbeat: { enabled: false, every: "0", everyMs: 0 }, sessions: { path: "/x", count: 2, recent: [] } }],
  sessions: { path: "/x/gateway.db", count: 2, recent: [] },
  extraField: "loose objects keep it",
}

const hello = {
  type: "hello-ok",
  protocol: 4,
  server: { version: "0.1.0", connId: "c-1", bootId: "b-1" },
  features: { methods: ["health", "status"], events: ["tick"] },
  snapshot: {
    presence: [{ host: "h", ip: "127.0.0.1", version: "0.1.0", mode: "cli", ts: 1, roles: ["operator"], scopes: ["operator.read"], connId: "c-1" }],
    health,
    stateVersion: { presence: 1, health: 2 },
    uptimeMs: 12,
    sessionDefaults: { defaultAgentId: "main", modelConfigured: false, mainKey: "main", mainSessionKey: "agent:main:main", scope: "per-sender" },
    configPath: "/x/gateway.json",
    stateDir: "/x",
    authMode: "token",
  },
  auth: { method: "token", role: "operator", scopes: ["operator.read", "operator.write"] },
  policy: { maxPayload: 26_214_400, maxBufferedBytes: 52_428_800, tickIntervalMs: 30_000 },
}

const connect = {
  minProtocol: 3,
  maxProtocol: 4,
  client: { id: "cli", displayName: "CLI", version: "0.1.0", platform: "linux", deviceFamily: "Linux", mode: "cli", instanceId: "i-1" },
  caps: ["tool-events"],
  commands: ["a"],
  permissions: { x: true },
  pathEnv: "/bin",
  role: "operator",
  scopes: ["operator.read"],
  device: { id: "d", publicKey: "k", signature: "s", signedAt: 1, nonce: "n" },
  auth: { token: "t", password: "p", deviceToken: "dt", bootstrapToken: "bt" },
  locale: "en",
  userAgent: "ua",
}

const res = { type: "res", id: "7", ok: false, payload: { a: 1 }, error: { code: "X", message: "m", details: { k: [1] }, retryable: true, retryAfterMs: 5 } }
const event = { type: "event", event: "tick", payload: { ts: 1 }, seq: 3, stateVersion: { presence: 1, health: 1 } }

const clone = <T>(v: T): T => structuredClone(v)

/** Values each field is replaced with: every JSON type, edge numbers, and strings around the length limits. */
const emoji = "😀"
const REPLACEMENTS: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1.5,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "",
  "x",
  "res",
  "event",
  "hello-ok",
  "operator",
  "node",
  "cli",
  true,
  false,
  [],
  ["x"],
  [1],
  {},
  { a: 1 },
  "a".repeat(128),
  "a".repeat(129),
  "a".repeat(256),
  "a".repeat(257),
  emoji.repeat(128),
  emoji.repeat(129),
  `${"a".repeat(127)}\uD83D`,
  Object.create(null),
  new Date(0),
]

/** Every path to a value inside `v` (objects and arrays entered). */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at]
  if (Array.isArray(v)) for (const [i, x] of v.entries()) out.push(...paths(x, [...at, i]))
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]))
  return out
}

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value
  const copy = clone(root) as Record<string | number, unknown>
  let cur = copy
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>
  const last = path.at(-1)!
  if (value === undefined && !Array.isArray(cur)) delete cur[last]
  else cur[last] = value
  return copy
}

function agree(name: string, parser: Parser<unknown>, schema: z.ZodType, input: unknown): void {
  const expected = schema.safeParse(input)
  const got = parser(input)
  if (expected.success) {
    if (got === INVALID) throw new Error(`${name}: parser rejects what the schema accepts: ${JSON.stringify(input)}`)
    expect(got).toEqual(expected.data)
  } else if (got !== INVALID) {
    throw new Error(`${name}: parser accepts what the schema rejects (${expected.error.issues[0]?.message}): ${JSON.stringify(input)}`)
  }
}

/**
 * The schema as zod's runtime alone parses it: ConnectParams's parse and safeParse try its generated parser first
 * (lazySchema), so comparing with them would compare the parser with itself. A clone from the same definition is
 * plain zod.
 */
const runtimeOnly = <S extends z.ZodType>(schema: S): S => util.clone(schema) as S
const ConnectParamsRuntime = runtimeOnly(ConnectParams)

const CASES: { name: string; parser: Parser<unknown>; schema: z.ZodType; samples: unknown[] }[] = [
  { name: "serverFrame", parser: serverFrame, schema: ServerFrame, samples: [res, event, { type: "res", id: "1", ok: true }, { type: "event", event: "x" }] },
  { name: "helloOk", parser: helloOk, schema: HelloOk, samples: [hello] },
  {
    name: "connectParams",
    parser: connectParams,
    schema: ConnectParamsRuntime,
    samples: [connect, { minProtocol: 4, maxProtocol: 4, client: connect.client }],
  },
]

describe("generated validators", () => {
  test("validators.gen.ts is generated from today's schemas (else: bun src/protocol/gen-validators.ts)", () => {
    expect(readFileSync(GENERATED_FILE, "utf8")).toBe(generateValidators())
  })

  test("every parser is definite: INVALID always means the schema rejects", () => {
    for (const c of CASES) expect(c.parser.definite).toBe(true)
  })

  for (const c of CASES) {
    test(`${c.name} agrees with its schema on valid input, extra keys and every one-field mutation`, () => {
      let checked = 0
      for (const sample of c.samples) {
        agree(c.name, c.parser, c.schema, sample)
        for (const path of paths(sample)) {
          for (const r of REPLACEMENTS) {
            agree(c.name, c.parser, c.schema, setAt(sample, path, r))
            checked++
          }
          // An unknown key next to each object's own keys: stripped (or kept where the schema is loose) alike.
          const target = path.reduce<unknown>((v, p) => (v as Record<string | number, unknown>)[p], sample)
          if (target && typeof target === "object" && !Array.isArray(target)) {
            agree(c.name, c.parser, c.schema, setAt(sample, [...path, "unknownKey"], { deep: 1 }))
            checked++
          }
        }
      }
      expect(checked).toBeGreaterThan(100)
    })
  }

  test("ConnectParams parses with its generated parser and still reports zod's issues", () => {
    expect(ConnectParams.safeParse(connect)).toEqual(ConnectParamsRuntime.safeParse(connect))
    for (const bad of [{}, { ...connect, minProtocol: "4" }, { ...connect, client: { ...connect.client, id: "" } }, null]) {
      const fast = ConnectParams.safeParse(bad)
      expect(fast.success).toBe(false)
      expect(fast.error?.issues).toEqual(ConnectParamsRuntime.safeParse(bad).error?.issues)
    }
  })

  test("parsed values are fresh objects, as zod's are", () => {
    const out = serverFrame(res)
    expect(out).not.toBe(res)
    expect(out).toEqual(ServerFrame.parse(res))
  })
})
