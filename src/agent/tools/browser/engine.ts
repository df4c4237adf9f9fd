/**
 * The headless browser behind the browser tool: playwright-core driving a system Chromium. One browser process is
 * shared by every session (launched on first use, closed after tools.browser.idleTimeoutMs without a call); each
 * agent session gets its own context (cookies, storage) and current page.
 *
 * SSRF: Chromium reaches the network only through guard-proxy.ts, which puts every request (navigations, each
 * redirect hop, sub-resources, fetch/XHR, WebSockets) through the same guard as web_fetch (net-guard.ts checkUrl with
 * tools.web.allowPrivate) and connects to the address it checked. A refused navigation becomes the guard's message;
 * service workers are blocked and downloads refused.
 *
 * This module is a separate entry of the compiled binary (install/build.ts), imported on the first browser call, so
 * a gateway that never browses never loads playwright-core.
 */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import { checkUrl, type Resolver } from "../net-guard.ts"
import { ToolError } from "../tool.ts"
import { type GuardProxy, startGuardProxy } from "./guard-proxy.ts"

export interface EngineSettings {
  executablePath: string
  allowPrivate: readonly string[]
  idleTimeoutMs: number
  timeoutMs: number
  maxTextChars: number
  maxLinks: number
}

export interface EngineOptions {
  /** Read at every call, so config reloads apply (a new executablePath applies to the next launch). */
  settings: () => EngineSettings
  /** Host name lookup for the SSRF guard (tests); default the system resolver. */
  resolve?: Resolver
}

export interface PageLink {
  text: string
  href: string
}

export interface PageSummary {
  url: string
  finalUrl: string
  title: string
  text: string
  links: PageLink[]
}

/** Chromium's start is not a page action: it gets its own bound (a cold start on a busy machine takes seconds). */
const LAUNCH_TIMEOUT_MS = 30_000

export type WaitUntil = "load" | "domcontentloaded" | "networkidle"

interface Tab {
  /** The browser the context lives in: a tab of a browser since closed is dropped, not reused. */
  browser: Browser
  context: BrowserContext
  page?: Page
  /** URLs of navigation requests (redirect hops included) that failed during the current action. */
  failedNavigations: string[]
}

/** A request the guard refused: plain HTTP by its URL, a CONNECT tunnel (https, wss) by host:port only. */
interface Refusal {
  seq: number
  url: string
  tunnel: boolean
  host: string
  message: string
}

export interface BrowserEngine {
  open(session: string, url: string, waitUntil?: WaitUntil): Promise<PageSummary>
  click(session: string, target: { selector?: string; text?: string }): Promise<PageSummary>
  type(session: string, selector: string, text: string, submit: boolean): Promise<PageSummary>
  snapshot(session: string): Promise<{ url: string; title: string; snapshot: string }>
  screenshot(session: string, path: string, fullPage: boolean): Promise<{ path: string; url: string; title: string; bytes: number }>
  /** Closes the session's current page (a cancelled action must not leave it busy); the context stays. */
  closePage(session: string): Promise<void>
  /** Whether a browser process is running now. */
  running(): boolean
  /** Closes the browser (all sessions' pages). */
  close(): Promise<void>
}

/** The few DOM shapes readPage touches (the project's TypeScript lib has no DOM). */
interface DomAnchor {
  href: string
  innerText?: string
  textContent: string | null
}
interface DomDocument {
  title: string
  body?: { innerText: string } | null
  documentElement?: { textContent: string | null } | null
  querySelectorAll(selector: string): ArrayLike<DomAnchor>
}

/** What the page shows: its text and links, read in the page (serialised by Playwright; it must stay self-contained). */
function readPage(max: { text: number; links: number }): { title: string; text: string; links: PageLink[] } {
  const doc = (globalThis as unknown as { document: DomDocument }).document
  // innerText on purpose: the rendered text (no script or style contents, hidden elements left out), as a reader sees it.
  // biome-ignore lint/performance/useDomNodeTextContent: rendered text is the point
  const text = (doc.body?.innerText ?? doc.documentElement?.textContent ?? "").replace(/\n{3,}/g, "\n\n").trim()
  const seen = new Set<string>()
  const links: PageLink[] = []
  for (const a of Array.from(doc.querySelectorAll("a[href]"))) {
    if (links.length >= max.links) break
    const href = a.href
    if (!/^https?:/i.test(href) || seen.has(href)) continue
    seen.add(href)
    // biome-ignore lint/performance/useDomNodeTextContent: rendered text is the point
    links.push({ text: (a.innerText || a.textContent || "").replace(/\s+/g, " ").trim().slice(0, 200), href })
  }
  return { title: doc.title, text: text.slice(0, max.text), links }
}

export function createBrowserEngine(o: EngineOptions): BrowserEngine {
  let launching: Promise<Browser> | undefined
  let browser: Browser | undefined
  const tabs = new Map<string, Tab>()
  let idle: ReturnType<typeof setTimeout> | undefined

  /** Each session's last queued action: one session's actions run one after another (they share its page). */
  const queues = new Map<string, Promise<void>>()
  /** The running action of each session, and how to let the queue move on without it (closePage on a cancel). */
  const running = new Map<string, { release: () => void; released: boolean }>()
  function serial<T>(session: string, fn: (lane: { released: boolean }) => Promise<T>): Promise<T> {
    const lane = { release: () => {}, released: false }
    const released = new Promise<void>((resolve) => {
      lane.release = () => {
        lane.released = true
        resolve()
      }
    })
    const result = (queues.get(session) ?? Promise.resolve()).then(() => {
      running.set(session, lane)
      return fn(lane)
    })
    const done = Promise.race([
      result.then(
        () => {},
        () => {},
      ),
      released,
    ]).then(() => {
      if (running.get(session) === lane) running.delete(session)
    })
    queues.set(session, done)
    void done.then(() => {
      if (queues.get(session) === done) queues.delete(session)
    })
    return result
  }

  let busy = 0
  /**
   * Runs one action after the session's earlier ones; the idle timer runs only while no action is in flight (a slow
   * launch must not close itself).
   */
  function busyWhile<T>(session: string, fn: () => Promise<T>): Promise<T> {
    return serial(session, (lane) => action(session, lane, fn))
  }

  async function action<T>(session: string, lane: { released: boolean }, fn: () => Promise<T>): Promise<T> {
    busy++
    if (idle) clearTimeout(idle)
    idle = undefined
    // Playwright bounds navigations and element waits, not a page script that never yields (a busy loop hangs
    // page.evaluate for good): the whole action gets a deadline, after which the session's page is closed.
    const limitMs = o.settings().timeoutMs * 2 + 5000 + (browser?.isConnected() ? 0 : LAUNCH_TIMEOUT_MS)
    let timer: ReturnType<typeof setTimeout> | undefined
    let timedOut = false
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true
        reject(
          new ToolError({
            message: `The browser did not finish within ${limitMs} ms (the page may be stuck in a script); the page was closed. Open it again or try another page.`,
          }),
        )
      }, limitMs)
    })
    const run = fn()
    run.catch(() => {})
    try {
      return await Promise.race([run, deadline])
    } catch (err) {
      // The session's actions run one at a time, so its current page is the one this action is stuck on, unless a
      // cancel already closed it and let the next action in (whose page this is then).
      if (timedOut && !lane.released) {
        const tab = tabs.get(session)
        const stuck = tab?.page
        if (tab) tab.page = undefined
        await stuck?.close().catch(() => {})
      }
      throw err
    } finally {
      clearTimeout(timer)
      if (--busy === 0 && browser) {
        idle = setTimeout(() => void close(), o.settings().idleTimeoutMs)
        idle.unref?.()
      }
    }
  }

  let proxy: GuardProxy | undefined
  let seq = 0
  const refusals: Refusal[] = []

  async function check(url: URL): Promise<{ addresses: string[] } | { refused: string }> {
    try {
      return await checkUrl(url, { allowPrivate: o.settings().allowPrivate, resolve: o.resolve })
    } catch (err) {
      const tunnel = url.protocol === "https:" && url.pathname === "/"
      const message = ToolError.isInstance(err) ? err.message : `Refused to fetch ${url}: ${(err as Error).message}`
      refusals.push({ seq: ++seq, url: url.toString(), tunnel, host: url.host, message })
      if (refusals.length > 50) refusals.shift()
      return { refused: message }
    }
  }

  async function launch(): Promise<Browser> {
    if (browser?.isConnected()) return browser
    launching ??= (async () => {
      const s = o.settings()
      const executablePath = s.executablePath
      const p = await startGuardProxy(check)
      try {
        const b = await chromium.launch({ executablePath, headless: true, timeout: LAUNCH_TIMEOUT_MS, proxy: { server: p.url } })
        b.on("disconnected", () => {
          // Only the current browser's tabs are its; a browser closed for a restart leaves the new one's alone.
          if (browser === b) {
            browser = undefined
            proxy = undefined
            tabs.clear()
          }
          void p.close()
        })
        browser = b
        proxy = p
        return b
      } catch (err) {
        await p.close()
        throw new ToolError({
          message: `Could not start Chromium (${executablePath}): ${(err as Error).message.split("\n")[0]}. The gateway's operator should check tools.browser.executablePath or the Chromium installation (Debian/Ubuntu: apt-get install chromium).`,
        })
      } finally {
        launching = undefined
      }
    })()
    return launching
  }

  const opening = new Map<string, Promise<Tab>>()

  /** The session's tab; concurrent first calls of one session share one context. */
  function tabFor(session: string): Promise<Tab> {
    const existing = tabs.get(session)
    if (existing && existing.browser === browser && browser?.isConnected()) return Promise.resolve(existing)
    if (existing) tabs.delete(session)
    let p = opening.get(session)
    if (!p) {
      p = newTab(session).finally(() => opening.delete(session))
      opening.set(session, p)
    }
    return p
  }

  async function newTab(session: string): Promise<Tab> {
    const b = await launch()
    const s = o.settings()
    // Service workers could make requests no page asked for (and outlive it); downloads would write files.
    const context = await b.newContext({ serviceWorkers: "block", acceptDownloads: false, viewport: { width: 1280, height: 800 } })
    if (browser !== b) {
      // The browser was closed (idle, restart) while the context opened: it belongs to no one.
      await context.close().catch(() => {})
      throw new ToolError({ message: "The browser was restarted during the call; try again." })
    }
    context.setDefaultTimeout(s.timeoutMs)
    context.setDefaultNavigationTimeout(s.timeoutMs)
    const tab: Tab = { browser: b, context, failedNavigations: [] }
    context.on("requestfailed", (req) => {
      if (req.isNavigationRequest()) tab.failedNavigations.push(req.url())
    })
    // A link that opens a new tab (target=_blank, window.open) makes that page the current one.
    context.on("page", (p) => {
      tab.page = p
    })
    tabs.set(session, tab)
    return tab
  }

  /**
   * The refusal (since `since`) that explains an action's outcome: the page is at a refused URL (a plain-HTTP refusal
   * is the proxy's 403 page), or a navigation request to it failed (a refused CONNECT tunnel, for https and wss).
   * Matched by URL, so Chromium's own background requests, refused too, never explain a page's failure.
   */
  function refusalFor(since: number, urls: (string | undefined)[]): Refusal | undefined {
    const recent = refusals.filter((r) => r.seq > since)
    for (const raw of urls) {
      let u: URL
      try {
        u = new URL(raw ?? "")
      } catch {
        continue
      }
      if (u.protocol !== "http:" && u.protocol !== "https:") continue
      u.hash = ""
      const hit = recent.find((r) => (r.tunnel ? u.protocol === "https:" && r.host === u.host : r.url === u.toString()))
      if (hit) return hit
    }
    return undefined
  }

  function refused(r: Refusal, requested: string): never {
    const via = r.url !== requested && !r.tunnel ? `Opening ${requested} led to ${r.url}, which is refused. ` : ""
    throw new ToolError({ message: `${via}${r.message}` })
  }

  async function currentPage(session: string): Promise<Page> {
    const tab = tabs.get(session)
    const page = tab?.page
    if (!page || page.isClosed())
      throw new ToolError({ message: 'No page is open in the browser for this session. Call browser with action "open" and a url first.' })
    return page
  }

  async function summary(page: Page, requested: string): Promise<PageSummary> {
    const s = o.settings()
    const read = await page.evaluate(readPage, { text: s.maxTextChars, links: s.maxLinks })
    return { url: requested, finalUrl: page.url(), title: read.title, text: read.text, links: read.links }
  }

  /** A Playwright failure as a message for the model (a refused request is explained by the guard's own message). */
  function explain(err: unknown, what: string, since: number, requested: string, tab?: Tab, pageUrl?: string): never {
    if (ToolError.isInstance(err)) throw err
    const r = refusalFor(since, [pageUrl, ...(tab?.failedNavigations ?? []), requested])
    if (r) refused(r, requested)
    const msg = (err as Error)?.message ?? String(err)
    const first = msg.split("\n")[0]!.replace(/^\w+\.\w+: /, "")
    throw new ToolError({ message: `${what} failed: ${first}` })
  }

  /** The page after an action; a navigation the guard refused (the proxy's 403 page) is an error, not a page. */
  async function after(page: Page, requested: string, since: number): Promise<PageSummary> {
    const r = refusalFor(since, [page.url()])
    if (r) refused(r, requested)
    return summary(page, requested)
  }

  /** Waits briefly for a navigation a click or Enter started (none is fine). */
  async function settle(page: Page): Promise<void> {
    await page.waitForLoadState("load", { timeout: Math.min(o.settings().timeoutMs, 5000) }).catch(() => {})
  }

  async function close(): Promise<void> {
    if (idle) clearTimeout(idle)
    idle = undefined
    if (!browser && launching) await launching.catch(() => undefined)
    // This browser and its proxy, taken together before any wait: a launch during the close gets a new pair, which
    // this close never touches.
    const b = browser
    const p = proxy
    browser = undefined
    proxy = undefined
    tabs.clear()
    await b?.close().catch(() => {})
    await p?.close()
  }

  return {
    open(session, url, waitUntil = "load") {
      return busyWhile(session, async () => {
        const tab = await tabFor(session)
        const since = seq
        tab.failedNavigations = []
        let page = tab.page
        try {
          if (!page || page.isClosed()) {
            page = await tab.context.newPage()
            tab.page = page
          }
          await page.goto(url, { waitUntil })
          return await after(page, url, since)
        } catch (err) {
          // A failed navigation can leave the page on Chromium's error page, still navigating: the next open starts
          // on a fresh page (the context, with its cookies, stays). Only the page this call used is closed (an action
          // left running past its deadline must not close the page a later one opened).
          const at = page?.url()
          if (tab.page === page) tab.page = undefined
          await page?.close().catch(() => {})
          explain(err, `Opening ${url}`, since, url, tab, at)
        }
      })
    },

    click(session, target) {
      return busyWhile(session, async () => {
        const page = await currentPage(session)
        const tab = tabs.get(session)!
        const before = page.url()
        const since = seq
        tab.failedNavigations = []
        try {
          const loc = target.selector ? page.locator(target.selector).first() : page.getByText(target.text!, { exact: false }).first()
          await loc.click()
          await settle(tab.page ?? page)
          return await after(tab.page ?? page, before, since)
        } catch (err) {
          explain(
            err,
            `Clicking ${target.selector ? `selector ${target.selector}` : `the text "${target.text}"`}`,
            since,
            before,
            tab,
            (tab.page ?? page).url(),
          )
        }
      })
    },

    type(session, selector, text, submit) {
      return busyWhile(session, async () => {
        const page = await currentPage(session)
        const tab = tabs.get(session)!
        const before = page.url()
        const since = seq
        tab.failedNavigations = []
        try {
          const loc = page.locator(selector).first()
          await loc.fill(text)
          if (submit) {
            await loc.press("Enter")
            await settle(page)
          }
          return await after(tab.page ?? page, before, since)
        } catch (err) {
          explain(err, `Typing into ${selector}`, since, before, tab, (tab.page ?? page).url())
        }
      })
    },

    snapshot(session) {
      return busyWhile(session, async () => {
        const page = await currentPage(session)
        try {
          const snapshot = await page.locator("body").ariaSnapshot()
          return { url: page.url(), title: await page.title(), snapshot: snapshot.slice(0, o.settings().maxTextChars) }
        } catch (err) {
          explain(err, "Taking the page snapshot", seq, page.url())
        }
      })
    },

    screenshot(session, path, fullPage) {
      return busyWhile(session, async () => {
        const page = await currentPage(session)
        try {
          const png = await page.screenshot({ path, fullPage, type: "png" })
          return { path, url: page.url(), title: await page.title(), bytes: png.byteLength }
        } catch (err) {
          explain(err, "Taking the screenshot", seq, page.url())
        }
      })
    },

    async closePage(session) {
      // The cancelled action may still be stuck on the page (a script that never yields): the session's next
      // actions do not wait for it.
      running.get(session)?.release()
      const tab = tabs.get(session)
      const page = tab?.page
      if (tab) tab.page = undefined
      await page?.close().catch(() => {})
    },

    running: () => !!browser?.isConnected(),
    close,
  }
}
