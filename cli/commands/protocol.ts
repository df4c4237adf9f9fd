/**
 * `gateway protocol schema [--method NAME]`: the wire contract as JSON Schema, for clients' code generation (as
 * OpenClaw publishes its protocol schema). Params are described as clients send them, results and events as they
 * arrive: closed objects, except where OpenClaw may send more.
 */
import { defineCommand } from "citty"
import { fail, printJson } from "./_shared.ts"

const schema = defineCommand({
  meta: {
    name: "schema",
    description:
      "Print the wire protocol as JSON Schema (draft 2020-12) for client code generation: the frames (req, res, event, error, " +
      "connect params, hello-ok), every method's scope, params and result, and every event's payload. Needs no running gateway",
  },
  args: {
    method: { type: "string", description: "Print only this method, as {method, scope, params, result}", valueHint: "name" },
  },
  async run({ args }) {
    const [{ methodJsonSchema, protocolJsonSchema, JSON_SCHEMA_DIALECT }, { METHODS }, { VERSION }] = await Promise.all([
      import("../../src/protocol/json-schema.ts"),
      import("../../src/protocol/index.ts"),
      import("../../src/version.ts"),
    ])
    if (args.method === undefined) return printJson(protocolJsonSchema(VERSION))
    if (!Object.hasOwn(METHODS, args.method)) fail(`unknown method: ${args.method} (methods: ${Object.keys(METHODS).join(", ")})`)
    printJson({ $schema: JSON_SCHEMA_DIALECT, method: args.method, ...methodJsonSchema(args.method as keyof typeof METHODS) })
  },
})

export default defineCommand({
  meta: { name: "protocol", description: "The gateway's wire protocol (OpenClaw gateway protocol v4): 'gateway protocol schema' prints it as JSON Schema" },
  subCommands: { schema },
})
