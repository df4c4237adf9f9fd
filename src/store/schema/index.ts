/** Barrel of every table; drizzle-kit reads this file to generate migrations into drizzle/. */
export * from "./meta.sql.ts"
export * from "./sessions.sql.ts"
export * from "./channels.sql.ts"
export * from "./memory.sql.ts"
export * from "./cron.sql.ts"
export * from "./nodes.sql.ts"
export * from "./devices.sql.ts"
