/**
 * The browser tool: a real headless Chromium for pages that need JavaScript or interaction. Actions: open (text and
 * links of a page), click, type, snapshot (accessibility tree as text), screenshot (PNG into the workspace). The
 * engine (engine.ts, playwright-core) is loaded on the first call; which Chromium runs is find-chromium.ts's answer.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import { importEntry } from "../../../util/embedded.ts"
import { parseHttpUrl, type Resolver } from "../net-guard.ts"
import type { ToolPolicy, ToolsConfig } from "../policy.ts"
import { defineTool, ToolError, type ToolDef, type ToolResult } from "../tool.ts"
import type { BrowserEngine, EngineOptions } from "./engine.ts"
import { findChromium } from "./find-chromium.ts"

/** The embedded path of engine.ts in the binary, relative to its virtual root; defined by the build. */
declare const GATEWAY_BROWSER_ENTRY: string | undefined

const BrowserParams = z.object({
  action: z
    .enum(["open", "click", "type", "snapshot", "screenshot"])
    .describe(
      "open: load url and return its title, text and links; click: click selector or the element showing text; type: fill selector with text (submit presses Enter); snapshot: the page's accessibility tree as text; screenshot: save a PNG of the page into the workspace",
    ),
  url: z.string().optional().describe("open: absolute http(s) URL"),
  selector: z.string().optional().describe("click / type: CSS selector (Playwright selector syntax, e.g. 'button#go' or 'text=Next')"),
  text: z.string().optional().describe("click: visible text of the element to click (instead of selector); type: the text to enter"),
  submit: z.boolean().optional().describe("type: press Enter afterwards"),
  fullPage: z.boolean().optional().describe("screenshot: the whole scrollable page instead of the viewport"),
  waitUntil: z.enum(["load", "domcontentloaded", "networkidle"]).optional().describe("open: when the page counts as loaded (default load)"),
})

type EngineModule = typeof import("./engine.ts")

export interface BrowserToolOptions {
  policy: ToolPolicy
  /** The gateway's one browser, shared by every agent's tool; without it the tool starts its own (tests). */
  host?: BrowserHost
  /** Host name lookup for the SSRF guard (tests). */
  resolve?: Resolver
  /** PATH searched for Chromium (tests); default process.env.PATH. */
  path?: string
}

/** One Chromium process (its engine loaded on first use) for everyone holding this host. */
export interface BrowserHost {
  /** The engine, loading playwright-core on the first call; a clear error when there is no Chromium. */
  engine(): Promise<BrowserEngine>
  /** The engine if already loaded (a cancel must not load it). */
  loaded(): BrowserEngine | undefined
  /** Closes the browser process, if one runs (gateway stop). */
  close(): Promise<void>
  running(): boolean
}

export interface BrowserHostOptions {
  /** tools.web and tools.browser, read at every call (gateway-wide: agents.list[].tools does not narrow them). */
  config: () => Pick<ToolsConfig, "web" | "browser">
  resolve?: Resolver
  path?: string
}

export function createBrowserHost(o: BrowserHostOptions): BrowserHost {
  let engine: Promise<BrowserEngine> | undefined
  let loaded: BrowserEngine | undefined
  const settings: EngineOptions["settings"] = () => {
    const c = o.config()
    return {
      // Looked up at launch only (a getter): settings are read on every call.
      get executablePath() {
        return findChromium(o.config().browser.executablePath, o.path)
      },
      allowPrivate: c.web.allowPrivate,
      idleTimeoutMs: c.browser.idleTimeoutMs,
      timeoutMs: c.browser.timeoutMs,
      maxTextChars: c.browser.maxTextChars,
      maxLinks: c.browser.maxLinks,
    }
  }
  return {
    engine() {
      // Before loading playwright-core at all: no Chromium means a clear error, not a launch failure.
      findChromium(o.config().browser.executablePath, o.path)
      engine ??= importEntry<EngineModule>(
        typeof GATEWAY_BROWSER_ENTRY === "string" ? GATEWAY_BROWSER_ENTRY : undefined,
        new URL("./engine.ts", import.meta.url),
      ).then((m) => (loaded = m.createBrowserEngine({ settings, resolve: o.resolve })))
      engine.catch(() => {
        engine = undefined
      })
      return engine
    },
    loaded: () => loaded,
    async close() {
      await loaded?.close()
    },
    running: () => !!loaded?.running(),
  }
}

export interface BrowserTool extends ToolDef<typeof BrowserParams> {
  /** Closes the shared browser process, if one runs (gateway stop). */
  close(): Promise<void>
  /** Whether a browser process runs now. */
  running(): boolean
}

/** `p`, or the abort's reason as soon as the signal fires (then `onAbort` runs; the browser itself is shared). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal, cleanup: () => void): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  p.catch(() => {})
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      cleanup()
      reject(signal.reason)
    }
    signal.addEventListener("abort", onAbort, { once: true })
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort))
  })
}

function screenshotPath(workspace: string): string {
  const dir = join(workspace, "screenshots")
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, "-")
  return join(dir, `browser-${stamp}-${Math.random().toString(36).slice(2, 6)}.png`)
}

export function createBrowserTool(o: BrowserToolOptions): BrowserTool {
  const host = o.host ?? createBrowserHost({ config: () => o.policy.config, resolve: o.resolve, path: o.path })
  const getEngine = () => host.engine()

  const tool = defineTool({
    name: "browser",
    description: [
      "Use a real headless browser (Chromium) for pages that need JavaScript, or to interact with a page: open a URL, then click, type, take a snapshot or a screenshot of the current page.",
      "open returns JSON {url, finalUrl, title, text, links: [{text, href}]} (text and links capped); click and type return the same for the page afterwards; snapshot returns the accessibility tree as text; screenshot saves a PNG in the workspace and returns its path.",
      "For plain pages web_fetch is faster. Only public internet addresses are reached (as with web_fetch), unless the operator listed a host in tools.web.allowPrivate.",
    ].join(" "),
    parameters: BrowserParams,
    async execute(args, ctx) {
      // A cancelled run stops waiting at once and closes the session's page (the action may still be running on it).
      return untilAborted(run(args, ctx.sessionKey, ctx.workspace), ctx.signal, () => void host.loaded()?.closePage(ctx.sessionKey))
    },
  })

  /** One action for one agent session (its own browser context). */
  async function run(args: z.output<typeof BrowserParams>, session: string, workspace: string): Promise<ToolResult> {
    const need = (v: string | undefined, name: string): string => {
      if (v === undefined || v === "") throw new ToolError({ message: `browser action "${args.action}" needs ${name}.` })
      return v
    }
    let result: Record<string, unknown>
    switch (args.action) {
      case "open": {
        const url = parseHttpUrl(need(args.url, "url"), "The browser").toString()
        const e = await getEngine()
        result = { ...(await e.open(session, url, args.waitUntil)) }
        break
      }
      case "click": {
        if (!args.selector && !args.text) throw new ToolError({ message: 'browser action "click" needs selector or text.' })
        result = { ...(await (await getEngine()).click(session, { selector: args.selector, text: args.text })) }
        break
      }
      case "type":
        result = { ...(await (await getEngine()).type(session, need(args.selector, "selector"), args.text ?? "", !!args.submit)) }
        break
      case "snapshot":
        result = await (await getEngine()).snapshot(session)
        break
      case "screenshot":
        result = await (await getEngine()).screenshot(session, screenshotPath(workspace), !!args.fullPage)
        break
    }
    return { output: JSON.stringify(result), meta: result }
  }

  return Object.assign(tool, {
    async close() {
      // A shared host is the gateway's to close, not one agent's.
      if (!o.host) await host.close()
    },
    running: () => host.running(),
  })
}
