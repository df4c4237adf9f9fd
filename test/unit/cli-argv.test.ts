/** cli/argv.ts: the command line citty would accept silently, refused with one line and a suggestion. */
import { describe, expect, test } from "bun:test"
import { defineCommand } from "citty"
import { closest, renderHelp, resolveCommand, UsageError } from "../../cli/argv.ts"

const conn = {
  token: { type: "string", description: "Token" },
  json: { type: "boolean", description: "JSON", default: false },
  timeout: { type: "string", description: "ms", default: "10000" },
} as const

const root = defineCommand({
  meta: { name: "gateway", version: "1.2.3", description: "root" },
  subCommands: {
    health: () => Promise.resolve(defineCommand({ meta: { name: "health", description: "health" }, args: { ...conn } })),
    logs: defineCommand({
      meta: { name: "logs", description: "logs" },
      args: { follow: { type: "boolean", alias: "f", description: "follow", default: false }, ...conn },
    }),
    status: defineCommand({ meta: { name: "status", description: "status" }, args: { probe: { type: "boolean", description: "probe", default: true } } }),
    agent: defineCommand({
      meta: { name: "agent", description: "agent" },
      args: { message: { type: "string", alias: "m", required: true, description: "msg" }, "run-timeout": { type: "string", description: "s" } },
    }),
    config: defineCommand({
      meta: { name: "config", description: "config" },
      subCommands: {
        set: defineCommand({
          meta: { name: "set", description: "set" },
          args: { key: { type: "positional", required: true, description: "k" }, value: { type: "positional", required: true, description: "v" }, ...conn },
        }),
        get: defineCommand({ meta: { name: "get", description: "get" }, args: { key: { type: "positional", required: false, description: "k" }, ...conn } }),
      },
    }),
  },
})

async function usage(args: string[]): Promise<string> {
  try {
    await resolveCommand(root, args)
  } catch (err) {
    if (err instanceof UsageError) return err.message
    throw err
  }
  return "ok"
}

describe("resolveCommand", () => {
  test("what citty understands passes: values, --x=v, aliases, --no-x, kebab and camel spellings, negative numbers, --", async () => {
    expect(await usage(["health", "--token", "t", "--json"])).toBe("ok")
    expect(await usage(["health", "--token=t", "--timeout", "-5"])).toBe("ok")
    expect(await usage(["logs", "-f"])).toBe("ok")
    expect(await usage(["status", "--no-probe"])).toBe("ok")
    expect(await usage(["agent", "-m", "hi", "--run-timeout", "5", "--runTimeout", "6"])).toBe("ok")
    expect(await usage(["config", "set", "a", "--json", "b"])).toBe("ok")
    expect(await usage(["config", "set", "--", "a", "--not-a-flag"])).toBe("ok")
    expect(await usage(["config", "get"])).toBe("ok")
  })

  test("unknown flags, with the nearest known one", async () => {
    expect(await usage(["health", "--tokne", "x"])).toBe("unknown option '--tokne' for 'gateway health' (did you mean '--token'?)")
    expect(await usage(["health", "--jsno"])).toBe("unknown option '--jsno' for 'gateway health' (did you mean '--json'?)")
    expect(await usage(["health", "--zzzzzz"])).toBe("unknown option '--zzzzzz' for 'gateway health' (see 'gateway health --help')")
    expect(await usage(["logs", "-x"])).toBe("unknown option '-x' for 'gateway logs' (see 'gateway logs --help')")
    // --no- only negates booleans.
    expect(await usage(["health", "--no-token"])).toBe("unknown option '--no-token' for 'gateway health' (see 'gateway health --help')")
  })

  test("a flag before its command belongs to the parent, which is told so", async () => {
    expect(await usage(["--json", "health"])).toBe("unknown option '--json' for 'gateway' (options go after the command: 'gateway health --json')")
  })

  test("commands: unknown (with a suggestion), missing, and help on a command group", async () => {
    expect(await usage(["helth"])).toBe("unknown command 'helth' (did you mean 'health'?)")
    expect(await usage(["config", "gte"])).toBe("unknown command 'gte' for 'gateway config' (did you mean 'get'?)")
    expect(await usage(["config"])).toBe("'gateway config' needs a command: set, get (see 'gateway config --help')")
    expect((await resolveCommand(root, ["config", "--help"])).help).toBe(true)
  })

  test("arguments: missing, extra, a value flag without its value, a required option", async () => {
    expect(await usage(["config", "set", "a"])).toBe("missing argument VALUE for 'gateway config set'")
    expect(await usage(["config", "set", "a", "b", "c"])).toBe("unexpected argument 'c' for 'gateway config set'")
    expect(await usage(["health", "now"])).toBe("unexpected argument 'now' for 'gateway health'")
    expect(await usage(["health", "--token"])).toBe("option '--token' needs a value")
    expect(await usage(["health", "--token", "--json"])).toBe("option '--token' needs a value")
    expect(await usage(["agent"])).toBe("missing option --message for 'gateway agent'")
  })

  test("--help anywhere before -- wins over missing arguments", async () => {
    const r = await resolveCommand(root, ["config", "set", "--help"])
    expect(r.help).toBe(true)
    expect(r.chain.map((c) => c.name)).toEqual(["gateway", "config", "set"])
  })
})

describe("renderHelp", () => {
  test("names the command in full; plain unless colour is asked for", async () => {
    const { chain } = await resolveCommand(root, ["config", "set", "-h"])
    const plain = await renderHelp(chain, false)
    expect(plain).not.toContain("\x1b[")
    expect(plain).toContain("USAGE gateway config set [OPTIONS] <KEY> <VALUE>")
    expect(plain).toContain("(gateway config set v1.2.3)")
    // With colour asked for, the text is citty's as it is (citty itself leaves colour out under CI=true or NO_COLOR,
    // so only the words are checked here); the plain form above never has escapes, wherever it runs.
    const coloured = await renderHelp(chain, true)
    expect(coloured.replace(/\x1b\[[0-9;]*m/g, "")).toBe(plain)
  })
})

test("closest: typos and swaps are near, other words are not", () => {
  expect(closest("--tokne", ["--token", "--timeout", "--json"])).toBe("--token")
  expect(closest("confg", ["config", "call", "doctor"])).toBe("config")
  expect(closest("xyz", ["config", "health"])).toBeUndefined()
})
