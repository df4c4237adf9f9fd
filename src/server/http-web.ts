/**
 * The web page at `/`: Vite's build of src/web/app, embedded in the binary. index.html is revalidated on every load
 * (ETag) so a new binary's page shows at once; /assets/* carry content hashes in their names and are cached for a year.
 * A strict CSP: only our own scripts and styles, WebSocket back to this origin, no framing.
 */
import { Hono, type Context } from "hono"
import type { WebAsset, WebAssetTable } from "../web/asset-table.ts"

export const WEB_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ")

interface Prepared {
  asset: WebAsset
  etag: string
  gzip?: Uint8Array<ArrayBuffer>
}

export interface WebDeps {
  /** The built page; undefined when this gateway was run from source without a build. */
  assets(): WebAssetTable | undefined
  version: string
}

export function webRoutes(deps: WebDeps): Hono {
  const app = new Hono()
  const prepared = new Map<string, Prepared>()
  const prepare = (path: string): Prepared | undefined => {
    let p = prepared.get(path)
    if (p) return p
    const asset = deps.assets()?.[path]
    if (!asset) return undefined
    const etag = `"${Bun.hash(asset.body).toString(36)}"`
    p = { asset, etag }
    prepared.set(path, p)
    return p
  }

  const serve = (c: Context, path: string, cacheControl: string) => {
    const p = prepare(path)
    if (!p) return undefined
    const headers: Record<string, string> = {
      "Content-Type": p.asset.type,
      "Cache-Control": cacheControl,
      ETag: p.etag,
      Vary: "Accept-Encoding",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    }
    if (p.asset.type.startsWith("text/html")) {
      headers["Content-Security-Policy"] = WEB_CSP
      headers["X-Frame-Options"] = "DENY"
    }
    if (c.req.header("if-none-match") === p.etag) return c.body(null, 304, headers)
    if (/\bgzip\b/.test(c.req.header("accept-encoding") ?? "")) {
      p.gzip ??= Bun.gzipSync(Buffer.from(p.asset.body)) as Uint8Array<ArrayBuffer>
      return c.body(p.gzip, 200, { ...headers, "Content-Encoding": "gzip" })
    }
    return c.body(p.asset.body, 200, headers)
  }

  const index = (c: Context) =>
    serve(c, "/index.html", "no-cache") ??
    c.text(
      `gateway ${deps.version}\nWebSocket clients connect here (OpenClaw gateway protocol v4).\nProbes: /healthz /readyz\n(The web page is not in this build: run bun run build.)\n`,
    )
  app.get("/", index)
  app.get("/index.html", index)
  app.get("/assets/*", (c) => serve(c, c.req.path, "public, max-age=31536000, immutable") ?? c.text("not found", 404))
  return app
}
