/**
 * The canvas host at /__openclaw__/canvas/ (OpenClaw's path): the files the agent's `canvas` tool wrote, with a
 * live-reload script injected into HTML pages (Server-Sent Events from /__openclaw__/canvas/__reload).
 *
 * Agent-written pages run in a CSP sandbox (an opaque origin), so their scripts cannot read the web page's stored
 * token or call the gateway's APIs with the visitor's credentials. Off loopback every request needs the gateway's
 * Bearer token, like the other HTTP APIs.
 */
import { Hono, type MiddlewareHandler } from "hono"
import { CANVAS_URL_PREFIX, CanvasPathError, listCanvasFiles, readCanvasFile } from "../canvas/files.ts"
import type { CanvasWatcher } from "../canvas/watch.ts"
import { isDirectLocal } from "./exposure.ts"
import { remoteAddressOf } from "./http-auth.ts"

const RELOAD_PATH = "__reload"
const PING_MS = 25_000
const SANDBOX_CSP = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads"

/** Injected before </body> (or appended): reloads the page when the canvas changes; reconnects on its own. */
export const LIVE_RELOAD_SCRIPT = `<script>(()=>{try{const s=new EventSource(${JSON.stringify(CANVAS_URL_PREFIX + RELOAD_PATH)});s.addEventListener("change",()=>location.reload())}catch{}})()</script>`

export interface CanvasDeps {
  workspace(): string
  watcher: CanvasWatcher
  /** The gateway's HTTP auth (http-auth.ts bearerAuth), applied to every request that is not direct-local. */
  auth: MiddlewareHandler
}

function localOrAuth(auth: MiddlewareHandler): MiddlewareHandler {
  return async (c, next) => {
    if (isDirectLocal(remoteAddressOf(c), c.req.raw.headers)) return next()
    return auth(c, next)
  }
}

export function injectLiveReload(html: string): string {
  const i = html.toLowerCase().lastIndexOf("</body>")
  return i >= 0 ? `${html.slice(0, i)}${LIVE_RELOAD_SCRIPT}${html.slice(i)}` : `${html}${LIVE_RELOAD_SCRIPT}`
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

function indexPage(files: { path: string; size: number }[]): string {
  const items = files.map((f) => `<li><a href="${escapeHtml(encodeURI(f.path))}">${escapeHtml(f.path)}</a> (${f.size} bytes)</li>`).join("")
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Canvas</title></head><body><h1>Canvas</h1>${
    files.length ? `<ul>${items}</ul>` : "<p>The canvas is empty. The agent's <code>canvas</code> tool writes pages here.</p>"
  }</body></html>`
}

export function canvasRoutes(deps: CanvasDeps): Hono {
  const app = new Hono()
  app.use("*", localOrAuth(deps.auth))

  app.get(`/${RELOAD_PATH}`, (c) => {
    let unsubscribe = () => {}
    let ping: ReturnType<typeof setInterval> | undefined
    const enc = new TextEncoder()
    const body = new ReadableStream<Uint8Array>({
      start(ctrl) {
        const send = (text: string) => {
          try {
            ctrl.enqueue(enc.encode(text))
          } catch {
            unsubscribe()
          }
        }
        send("retry: 1000\n: connected\n\n")
        unsubscribe = deps.watcher.subscribe(() => send("event: change\ndata: change\n\n"))
        ping = setInterval(() => send(": ping\n\n"), PING_MS)
        c.req.raw.signal.addEventListener("abort", () => {
          clearInterval(ping)
          unsubscribe()
        })
      },
      cancel() {
        clearInterval(ping)
        unsubscribe()
      },
    })
    return new Response(body, {
      headers: {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
        // Sandboxed canvas pages have an opaque origin; the stream carries no data beyond "something changed".
        "Access-Control-Allow-Origin": "*",
      },
    })
  })

  app.get("/*", (c) => {
    let rel: string
    try {
      rel = decodeURIComponent(c.req.path.slice(CANVAS_URL_PREFIX.length)).replace(/^\/+/, "")
    } catch {
      return c.text("malformed path", 400)
    }
    const headers: Record<string, string> = {
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      "Content-Security-Policy": SANDBOX_CSP,
      "Referrer-Policy": "no-referrer",
    }
    const workspace = deps.workspace()
    if (rel === "" || rel.endsWith("/")) {
      const dirIndex = `${rel}index.html`
      try {
        const file = readCanvasFile(workspace, dirIndex)
        if (file) return c.body(injectLiveReload(new TextDecoder().decode(file.body)), 200, { ...headers, "Content-Type": file.type })
      } catch (err) {
        if (!(err instanceof CanvasPathError)) throw err
      }
      if (rel !== "") return c.text("not found", 404, headers)
      return c.body(injectLiveReload(indexPage(listCanvasFiles(workspace))), 200, { ...headers, "Content-Type": "text/html; charset=utf-8" })
    }
    try {
      const file = readCanvasFile(workspace, rel)
      if (!file) return c.text("not found", 404, headers)
      const isHtml = file.type.startsWith("text/html")
      const h = { ...headers, "Content-Type": file.type }
      if (isHtml) return c.body(injectLiveReload(new TextDecoder().decode(file.body)), 200, h)
      return c.body(file.body as Uint8Array<ArrayBuffer>, 200, h)
    } catch (err) {
      if (err instanceof CanvasPathError) return c.text(err.message, 400, headers)
      throw err
    }
  })
  return app
}
