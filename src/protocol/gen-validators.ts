/**
 * Generates src/protocol/validators.gen.ts: plain-JavaScript parsers for the frames a client checks on every
 * connection (ServerFrame, HelloOk) and for ConnectParams, produced by zod's own compiler from the zod schemas, so
 * the schemas stay the single source and the CLI can validate without loading zod or building a schema.
 *
 *   bun src/protocol/gen-validators.ts           rewrite the file
 *   bun src/protocol/gen-validators.ts --check   exit 1 when the committed file is stale
 *
 * install/build.ts regenerates the module in memory for every build, so a binary always carries validators of its
 * own schemas; test/unit/protocol/validators.test.ts fails when the committed file is stale and checks that every
 * parser agrees with its schema on valid and invalid input.
 *
 * zod's compiler (`compileFn`, the engine behind `z.compile`) emits a function body plus constants it passes in.
 * The constants are re-created in the generated module: sets of literals, JSON values, and the two zod helpers it
 * calls (code-point length, plain-object test), written out here. Any other constant fails the generation, so a
 * schema change that needs more never produces a validator that silently differs.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type z, z as zod } from "zod"
import { compileFn, util } from "zod/v4/core"
import { ConnectParams, HelloOk } from "./connect.ts"
import { ServerFrame } from "./frames.ts"
import { HealthSummary } from "./methods/system.ts"

export const GENERATED_FILE = join(import.meta.dir, "validators.gen.ts")

/** The schemas compiled, by the name the generated parser is exported under. */
export function compiledSchemas(): Record<string, { schema: z.ZodType; type: string; from: string }> {
  // The snapshot's health is a z.lazy (so the health schema is built only when needed); the compiler would leave a
  // lazy to the zod runtime, so it compiles HelloOk with that one field resolved. The agreement tests run against
  // the real HelloOk.
  const snapshot = HelloOk.shape.snapshot.extend({ health: HealthSummary() })
  return {
    serverFrame: { schema: ServerFrame, type: "ServerFrame", from: "./frames.ts" },
    helloOk: { schema: HelloOk.extend({ snapshot }), type: "HelloOk", from: "./connect.ts" },
    connectParams: { schema: ConnectParams, type: "ConnectParams", from: "./connect.ts" },
  }
}

interface Compiled {
  code: string
  names: string[]
  values: unknown[]
  definite: boolean
}

/**
 * Runs zod's compiler and captures what it hands `new Function`: the constant names, the body and the constants'
 * values (the compiler does not return them).
 */
function compile(schema: z.ZodType): Compiled {
  const RealFunction = globalThis.Function
  let captured: Omit<Compiled, "definite"> | undefined
  globalThis.Function = new Proxy(RealFunction, {
    construct(target, args: string[]) {
      const factory = Reflect.construct(target, args) as (...values: unknown[]) => unknown
      const body = args.at(-1)!
      return (...values: unknown[]) => {
        captured = { names: args.slice(0, -1), code: body, values }
        return factory(...values)
      }
    },
  })
  try {
    const fn = compileFn(schema as never) as { definite?: boolean }
    if (!captured) throw new Error("zod's compiler did not build a function")
    return { ...captured, definite: fn.definite !== false }
  } finally {
    globalThis.Function = RealFunction
  }
}

/** The helpers of zod the compiled code may call, by identity, and how the generated module spells them. */
const KNOWN_FUNCTIONS = new Map<unknown, string>([
  [util.codePointLength, "codePointLength"],
  [util.isPlainObject, "isPlainObject"],
  [Object.prototype.propertyIsEnumerable, "propertyIsEnumerable"],
])

const HELPERS = `/** zod's util.codePointLength: a string's length in code points (a surrogate pair counts once). */
function codePointLength(str) {
  const units = str.length
  if (!/[\\uD800-\\uDBFF]/.test(str)) return units
  let count = units
  for (let i = 0; i < units - 1; i++) {
    if ((str.charCodeAt(i) & 0xfc00) === 0xd800 && (str.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--
      i++
    }
  }
  return count
}

/** zod's util.isPlainObject. */
function isPlainObject(o) {
  if (typeof o !== "object" || o === null || Array.isArray(o)) return false
  const ctor = o.constructor
  if (ctor === undefined) return true
  if (typeof ctor !== "function") return true
  const prot = ctor.prototype
  if (typeof prot !== "object" || prot === null || Array.isArray(prot)) return false
  return Object.prototype.hasOwnProperty.call(prot, "isPrototypeOf")
}

const propertyIsEnumerable = Object.prototype.propertyIsEnumerable
`

function isJsonValue(v: unknown): boolean {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true
  if (typeof v === "number") return Number.isFinite(v)
  if (Array.isArray(v)) return v.every(isJsonValue)
  return util.isPlainObject(v) && Object.values(v).every(isJsonValue)
}

/** A constant as a JavaScript expression, or an error naming it. */
function constantSource(name: string, value: unknown, where: string): string {
  const known = KNOWN_FUNCTIONS.get(value)
  if (known) return known
  if (value instanceof Set && [...value].every((v) => v === null || ["string", "number", "boolean"].includes(typeof v))) {
    return `new Set(${JSON.stringify([...value])})`
  }
  if (isJsonValue(value)) return JSON.stringify(value)
  throw new Error(
    `${where}: zod's compiler needs the constant ${name} (${typeof value === "function" ? `function ${(value as { name?: string }).name || "anonymous"}` : String(value)}), ` +
      "which gen-validators.ts cannot write out: teach it (KNOWN_FUNCTIONS) or leave this schema to the zod runtime",
  )
}

function parserSource(exportName: string, schema: z.ZodType): { source: string; definite: boolean } {
  const c = compile(schema)
  const [invalid, ...rest] = c.names
  if (invalid !== "INVALID") throw new Error(`${exportName}: unexpected first constant ${invalid}`)
  const constants = rest.map((name, i) => `  const ${name} = ${constantSource(name, c.values[i + 1], exportName)}`)
  // The compiler's factory body is `return (input) => { ... }`: wrapped in a closure that holds the constants.
  const factory = c.code
    .split("\n")
    .map((l) => (l ? `  ${l}` : l))
    .join("\n")
  return { source: `(() => {\n${constants.join("\n")}${constants.length ? "\n" : ""}${factory}\n})()`, definite: c.definite }
}

/**
 * The text of validators.gen.ts for the current schemas, in the house style (Biome) unless `format` is false (the
 * build compiles the text and needs no style).
 */
export function generateValidators(opts: { format?: boolean } = {}): string {
  const text = rawModule()
  return opts.format === false ? text : biomeFormat(text)
}

/** Formats with the repository's Biome (as `bun run format` would), so the committed file passes `biome check`. */
function biomeFormat(text: string): string {
  const root = join(import.meta.dir, "../..")
  const r = Bun.spawnSync([join(root, "node_modules/.bin/biome"), "format", `--stdin-file-path=${GENERATED_FILE}`], {
    cwd: root,
    stdin: new TextEncoder().encode(text),
    stdout: "pipe",
    stderr: "pipe",
  })
  if (r.exitCode !== 0) throw new Error(`biome format failed: ${r.stderr.toString()}`)
  return r.stdout.toString()
}

function rawModule(): string {
  // Generation must not depend on whether some earlier code switched zod to jitless mode.
  const jitless = zod.config().jitless
  zod.config({ jitless: false })
  try {
    const out: string[] = []
    const types = new Map<string, Set<string>>()
    for (const [name, { schema, type, from }] of Object.entries(compiledSchemas())) {
      const { source, definite } = parserSource(name, schema)
      if (!types.has(from)) types.set(from, new Set())
      types.get(from)!.add(type)
      out.push(
        `/** ${type}: the parsed value (unknown keys stripped, as zod's parse does) or INVALID. */\n` +
          `export const ${name}: Parser<${type}> = Object.assign(\n  ${source.split("\n").join("\n  ")},\n  { definite: ${definite} },\n)`,
      )
    }
    const imports = [...types].map(([from, names]) => `import type { ${[...names].sort().join(", ")} } from "${from}"`).join("\n")
    return `// Generated by src/protocol/gen-validators.ts from the zod schemas: do not edit. Regenerate with
// \`bun src/protocol/gen-validators.ts\` after changing ConnectParams, HelloOk, ServerFrame or what they contain.
// biome-ignore-all lint: generated code, as zod's compiler writes it
// @ts-nocheck
${imports}

/**
 * What a parser returns for input its schema rejects (ask the zod schema for the issues). zod's own sentinel, so a
 * parser can also be installed on its schema with zod's \`withParser\`.
 */
export const INVALID: unique symbol = Symbol.for("zod.compile.invalid")

/**
 * A parser compiled from a schema. \`definite\`: INVALID always means the schema rejects the input (when false, a
 * refinement the parser cannot see may decide otherwise: ask the schema).
 */
export type Parser<T> = ((input: unknown) => T | typeof INVALID) & { readonly definite: boolean }

${HELPERS}
${out.join("\n\n")}
`
  } finally {
    zod.config({ jitless })
  }
}

if (import.meta.main) {
  const text = generateValidators()
  const current = (() => {
    try {
      return readFileSync(GENERATED_FILE, "utf8")
    } catch {
      return ""
    }
  })()
  if (process.argv.includes("--check")) {
    if (current !== text) {
      console.error(`${GENERATED_FILE} is stale: run bun src/protocol/gen-validators.ts`)
      process.exit(1)
    }
    console.log(`${GENERATED_FILE} is up to date`)
  } else if (current === text) console.log(`${GENERATED_FILE} unchanged`)
  else {
    writeFileSync(GENERATED_FILE, text)
    console.log(`wrote ${GENERATED_FILE}`)
  }
}
