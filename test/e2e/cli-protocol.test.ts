/** `gateway protocol schema` from the compiled binary: the wire contract as JSON Schema, whole or one method. */
import { describe, expect, test } from "bun:test"
import { tmpdir } from "node:os"
import { EVENTS, METHODS } from "../../src/protocol/index.ts"
import { methodJsonSchema } from "../../src/protocol/json-schema.ts"
import { BINARY } from "./harness.ts"

function cli(args: string[]) {
  const r = Bun.spawnSync([BINARY, ...args], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? "", HOME: tmpdir() }, stdout: "pipe", stderr: "pipe" })
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() }
}

describe("gateway protocol schema", () => {
  test("prints frames, every method and every event as JSON Schema, without a running gateway", () => {
    const r = cli(["protocol", "schema"])
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.out)
    expect(doc.$schema).toBe("https://json-schema.org/draft/2020-12/schema")
    expect(doc.protocol).toBe(4)
    expect(Object.keys(doc.frames)).toEqual(["req", "res", "event", "error", "connectParams", "helloOk"])
    expect(doc.frames.req.properties.type).toEqual({ type: "string", const: "req" })
    expect(doc.frames.helloOk.required).toContain("features")
    // The same methods and events, in the order hello-ok advertises them.
    expect(Object.keys(doc.methods)).toEqual(Object.keys(METHODS))
    expect(Object.keys(doc.events)).toEqual(Object.keys(EVENTS))
    for (const [name, m] of Object.entries(doc.methods) as [string, Record<string, any>][]) {
      expect(m.scope).toBe(METHODS[name as keyof typeof METHODS].scope)
      expect(m.params.type).toBe("object")
      // A result is never a placeholder: it declares properties (or is a union / array of schemas that do).
      expect(JSON.stringify(m.result)).toContain('"properties"')
    }
    // What the binary prints is what the source declares.
    expect(doc.methods["chat.history"]).toEqual(methodJsonSchema("chat.history"))
    // Params are closed; a result OpenClaw extends is open, one it does not is closed.
    expect(doc.methods["chat.send"].params.additionalProperties).toBe(false)
    expect(doc.methods.status.result.additionalProperties).toEqual({})
    expect(doc.methods["exec.bash"].result.additionalProperties).toBe(false)
    expect(doc.events.agent.oneOf.map((o: { properties: { stream: { const: string } } }) => o.properties.stream.const)).toContain("tool")
  })

  test("--method prints one method; an unknown name is an error listing the methods", () => {
    const r = cli(["protocol", "schema", "--method", "sessions.patch"])
    expect(r.code).toBe(0)
    const m = JSON.parse(r.out)
    expect(m).toMatchObject({ method: "sessions.patch", scope: "operator.write" })
    expect(m.params.required).toEqual(["key"])
    expect(m.result.properties.entry.properties.key).toEqual({ type: "string" })

    const bad = cli(["protocol", "schema", "--method", "no.such.method"])
    expect(bad.code).toBe(1)
    expect(bad.out).toBe("")
    expect(bad.err).toContain("unknown method: no.such.method")
    expect(bad.err).toContain("chat.send")
  })

  test("--help explains it, and the root help lists the command", () => {
    const h = cli(["protocol", "schema", "--help"])
    expect(h.code).toBe(0)
    expect(h.out).toContain("JSON Schema")
    expect(h.out).toContain("--method")
    expect(cli(["--help"]).out).toContain("The gateway's wire protocol")
  })
})
