/**
 * The web page's files. From source this reads Vite's output in dist/web (once); the compiled binary replaces this
 * module with one that carries the table inline (install/build.ts, embedWeb), so the page works with no files around.
 */
import { join } from "node:path"
import { readAssetTable, type WebAssetTable } from "./asset-table.ts"

let table: WebAssetTable | undefined | null = null

/** The built page, or undefined when it was never built (`bun run build` builds it). */
export function webAssets(): WebAssetTable | undefined {
  if (table === null) table = readAssetTable(join(import.meta.dir, "../../dist/web"))
  return table
}
