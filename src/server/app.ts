/** The Hono app for plain HTTP on the gateway's port: probes, the OpenAI-compatible API and tool invocation. */
import { Hono, type Context } from "hono"
import { bodyLimit } from "hono/body-limit"
import type { AgentFacade } from "../agent/facade.ts"
import type { ChannelManager } from "../channels/manager.ts"
import type { Bus } from "../bus/index.ts"
import type { ResolvedAuth } from "../config/auth.ts"
import type { Config } from "../config/schema.ts"
import type { Router } from "../router/index.ts"
import type { AuthRateLimiter } from "./auth-rate-limit.ts"
import { CanvasWatcher } from "../canvas/watch.ts"
import { webAssets } from "../web/assets.ts"
import { bearerAuth } from "./http-auth.ts"
import { canvasRoutes } from "./http-canvas.ts"
import { openAiRoutes } from "./http-openai.ts"
import { toolsRoutes } from "./http-tools.ts"
import { webRoutes } from "./http-web.ts"

export interface AppDeps {
  isReady(): boolean
  version: string
  auth(): ResolvedAuth
  /** Failed-auth limiter shared with the WebSocket handshake. */
  authLimiter: AuthRateLimiter
  agent(): AgentFacade
  router(): Router
  bus: Bus
  chatCompletionsEnabled(): boolean
  /** The listener's config (trusted-proxy auth reads gateway.trustedProxies and gateway.auth.trustedProxy). */
  gatewayConfig?(): Config["gateway"]
  /** Chat channels, for platform webhooks (Telegram in webhook mode); undefined until they exist. */
  channels?(): Pick<ChannelManager, "webhook"> | undefined
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono()
  const live = () => ({ ok: true, status: "live" })
  app.get("/healthz", (c) => c.json(live()))
  app.get("/health", (c) => c.json(live()))
  const ready = (c: Context) => (deps.isReady() ? c.json({ ok: true, status: "ready" }) : c.json({ ok: false, status: "starting" }, 503))
  app.get("/readyz", ready)
  app.get("/ready", ready)
  // The web page (src/web/app, embedded by the build) at `/`; plain text when this run has no build of it.
  app.route("/", webRoutes({ assets: webAssets, version: deps.version }))

  app.use("/v1/*", bearerAuth(deps.auth, deps.authLimiter, deps.gatewayConfig))
  app.route("/v1", openAiRoutes({ enabled: deps.chatCompletionsEnabled, agent: deps.agent, router: deps.router, bus: deps.bus }))
  app.use("/tools/*", bearerAuth(deps.auth, deps.authLimiter, deps.gatewayConfig))
  app.route("/tools", toolsRoutes(deps.agent))
  // The canvas host (OpenClaw's path): pages the agent's canvas tool wrote, live-reloaded; off loopback, the token.
  app.get("/__openclaw__/canvas", (c) => c.redirect("/__openclaw__/canvas/"))
  app.route(
    "/__openclaw__/canvas",
    canvasRoutes({
      workspace: () => deps.agent().workspace,
      watcher: new CanvasWatcher(() => deps.agent().workspace),
      auth: bearerAuth(deps.auth, deps.authLimiter, deps.gatewayConfig),
    }),
  )
  // Telegram's webhook: authenticated by the secret token Telegram echoes (it cannot send our Bearer token).
  app.post("/telegram/webhook", bodyLimit({ maxSize: 1024 * 1024 }), async (c) => {
    let update: unknown
    try {
      update = await c.req.json()
    } catch {
      return c.json({ ok: false, error: { code: "BAD_REQUEST", message: "body must be a Telegram Update as JSON" } }, 400)
    }
    const status = (await deps.channels?.()?.webhook("telegram", update, c.req.header("x-telegram-bot-api-secret-token"))) ?? 404
    if (status === 200) return c.json({ ok: true })
    return c.json(
      {
        ok: false,
        error: status === 401 ? { code: "UNAUTHORIZED", message: "wrong secret token" } : { code: "NOT_FOUND", message: "Telegram is not in webhook mode" },
      },
      status,
    )
  })

  app.notFound((c) => c.json({ ok: false, error: { code: "NOT_FOUND", message: `no route for ${c.req.method} ${c.req.path}` } }, 404))
  app.onError((err, c) => c.json({ ok: false, error: { code: "INTERNAL", message: err.message } }, 500))
  return app
}
