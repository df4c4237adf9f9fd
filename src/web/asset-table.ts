/**
 * The web page's built files (Vite's output) as a table of URL path → text and content type. The build embeds this
 * table in the binary (install/build.ts); a gateway run from source reads it from dist/web at first use.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { extname, join, relative, sep } from "node:path"

export interface WebAsset {
  body: string
  type: string
}

export type WebAssetTable = Record<string, WebAsset>

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json",
  ".txt": "text/plain; charset=utf-8",
}

/** Reads every file under `dir` into the table (text only: the page ships no binary files); undefined without index.html. */
export function readAssetTable(dir: string): WebAssetTable | undefined {
  if (!existsSync(join(dir, "index.html"))) return undefined
  const table: WebAssetTable = {}
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name)
      if (statSync(full).isDirectory()) walk(full)
      else {
        const type = TYPES[extname(name).toLowerCase()]
        if (!type) throw new Error(`web build: ${full} has a type the page cannot embed (add it to TYPES in src/web/asset-table.ts)`)
        table[`/${relative(dir, full).split(sep).join("/")}`] = { body: readFileSync(full, "utf8"), type }
      }
    }
  }
  walk(dir)
  return table
}
