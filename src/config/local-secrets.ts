/**
 * The two auth facts a client on this machine needs, kept free of heavy imports (node:crypto, node:net, zod): whether
 * an address is loopback, and the generated token file's content. config/auth.ts (the daemon) and config/local.ts
 * (every CLI client command) share them.
 */
import { readFileSync } from "node:fs"
import type { Paths } from "./paths.ts"

export function isLoopbackAddress(addr: string): boolean {
  const a = addr.replace(/^::ffff:/, "")
  return a === "::1" || a === "localhost" || /^127\./.test(a)
}

/** Reads the generated token without creating it (clients use this). */
export function readGeneratedToken(paths: Paths): string | undefined {
  try {
    const token = readFileSync(paths.tokenFile, "utf8").trim()
    return token || undefined
  } catch {
    return undefined
  }
}
