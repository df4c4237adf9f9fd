/** Builds the web page with Vite (config: src/web/vite.config.ts) into dist/web; returns the output directory. */
import { resolve } from "node:path"

export async function buildWeb(): Promise<string> {
  const { build } = await import("vite")
  const configFile = resolve(import.meta.dir, "vite.config.ts")
  const { WEB_OUT } = (await import("./vite.config.ts")) as { WEB_OUT: string }
  await build({ configFile, logLevel: "warn" })
  return WEB_OUT
}

if (import.meta.main) console.log(`built the web page into ${await buildWeb()}`)
