/** The wire contract, imported by server and client alike. Depends on zod only. */
export * from "./frames.ts"
export * from "./connect.ts"
export * from "./scopes.ts"
export * from "./methods/index.ts"
export * from "./events.ts"
export * from "./limits.ts"
