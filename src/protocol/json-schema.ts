/**
 * The wire contract as JSON Schema (zod v4's `z.toJSONSchema`), the way OpenClaw publishes its protocol schema for
 * client code generation: frames, connect params and hello-ok, every method's params and result, every event payload.
 * Builds every schema, so only `gateway protocol schema` and tests call it.
 */
import { z } from "zod"
import { ConnectParams, HelloOk, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from "./connect.ts"
import { EVENTS } from "./events.ts"
import { ErrorShape, EventFrame, RequestFrame, ResponseFrame } from "./frames.ts"
import { METHODS, type MethodName, type MethodScope } from "./methods/index.ts"

export type JsonSchema = Record<string, unknown>

export const JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

/**
 * What a client sends is described as input (fields with defaults are optional, strict objects are closed); what it
 * receives as output (objects are closed unless `.loose()`, where OpenClaw may send more).
 */
function toJson(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema
  return rest
}

export interface MethodJsonSchema {
  scope: MethodScope
  params: JsonSchema
  result: JsonSchema
}

export function methodJsonSchema(name: MethodName): MethodJsonSchema {
  const def = METHODS[name]
  return { scope: def.scope, params: toJson(def.params, "input"), result: toJson(def.result, "output") }
}

export function protocolJsonSchema(serverVersion: string) {
  return {
    $schema: JSON_SCHEMA_DIALECT,
    title: `OpenClaw gateway protocol v${PROTOCOL_VERSION}, as gateway ${serverVersion} speaks it`,
    protocol: PROTOCOL_VERSION,
    minProtocol: MIN_PROTOCOL_VERSION,
    frames: {
      req: toJson(RequestFrame, "input"),
      res: toJson(ResponseFrame, "output"),
      event: toJson(EventFrame, "output"),
      error: toJson(ErrorShape, "output"),
      connectParams: toJson(ConnectParams, "input"),
      helloOk: toJson(HelloOk, "output"),
    },
    methods: Object.fromEntries((Object.keys(METHODS) as MethodName[]).map((name) => [name, methodJsonSchema(name)])),
    events: Object.fromEntries(Object.entries(EVENTS).map(([name, schema]) => [name, toJson(schema, "output")])),
  }
}
