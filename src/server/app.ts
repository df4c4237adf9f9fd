/** The Hono app for plain HTTP on the gateway's port: liveness, readiness, and whatever later rooms mount. */
import { Hono } from "hono"

export interface AppDeps {
  isReady(): boolean
  version: string
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono()
  const live = () => ({ ok: true, status: "live" })
  app.get("/healthz", (c) => c.json(live()))
  app.get("/health", (c) => c.json(live()))
  const ready = (c: import("hono").Context) =>
    deps.isReady() ? c.json({ ok: true, status: "ready" }) : c.json({ ok: false, status: "starting" }, 503)
  app.get("/readyz", ready)
  app.get("/ready", ready)
  app.get("/", (c) =>
    c.text(`gateway ${deps.version}\nWebSocket clients connect here (OpenClaw gateway protocol v4).\nProbes: /healthz /readyz\n`),
  )
  app.notFound((c) => c.json({ ok: false, error: { code: "NOT_FOUND", message: `no route for ${c.req.method} ${c.req.path}` } }, 404))
  app.onError((err, c) => c.json({ ok: false, error: { code: "INTERNAL", message: err.message } }, 500))
  return app
}
