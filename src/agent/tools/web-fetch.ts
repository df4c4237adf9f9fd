/**
 * web_fetch: GET an http(s) URL and return readable text. HTML is converted to text (headings, paragraphs, links as
 * "text (url)"); other text types come back as they are; binary types are refused. Redirects are followed (at most
 * 5), the body is read up to MAX_BODY_BYTES while streaming, and the whole fetch is bounded by tools.webFetch.timeoutMs.
 * Every hop goes through the SSRF guard (net-guard.ts): only public addresses, or those in tools.web.allowPrivate, and
 * the connection goes to the address that was checked.
 */
import { z } from "zod"
import { htmlToText } from "./html-to-text.ts"
import { type CheckedUrl, checkUrl, parseHttpUrl, pinTo, type Resolver } from "./net-guard.ts"
import type { ToolPolicy } from "./policy.ts"
import { defineTool, ToolError, type ToolDef } from "./tool.ts"

/** Bytes of body read at most; the rest is not downloaded. */
const MAX_BODY_BYTES = 5 * 1024 * 1024
const MAX_REDIRECTS = 5
const USER_AGENT = "Mozilla/5.0 (compatible; gateway-web-fetch/1.0)"

const WebFetchParams = z.object({
  url: z.string().describe("Absolute http:// or https:// URL to fetch"),
  maxChars: z.number().int().min(100).optional().describe("Cut the returned text at this many characters (default and maximum: tools.webFetch.maxChars)"),
})

type Kind = "html" | "text" | "binary"

function classify(contentType: string): Kind | undefined {
  const ct = contentType.toLowerCase().split(";")[0]!.trim()
  if (!ct) return undefined
  if (ct === "text/html" || ct === "application/xhtml+xml") return "html"
  if (ct.startsWith("text/")) return "text"
  if (
    /^application\/(json|xml|javascript|ecmascript|x-javascript|x-sh|x-yaml|yaml|toml|x-toml|graphql|sql|x-www-form-urlencoded|ld\+json|rss\+xml|atom\+xml)$/.test(
      ct,
    )
  )
    return "text"
  if (/\+(json|xml)$/.test(ct)) return "text"
  if (ct === "image/svg+xml") return "text"
  return "binary"
}

function charsetOf(contentType: string): string {
  return /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType)?.[1] ?? "utf-8"
}

async function readCapped(body: ReadableStream<Uint8Array> | null, cap: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (!body) return { bytes: new Uint8Array(), truncated: false }
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  let truncated = false
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      if (size + value.byteLength > cap) {
        chunks.push(value.subarray(0, cap - size))
        size = cap
        truncated = true
        break
      }
      chunks.push(value)
      size += value.byteLength
    }
  } finally {
    if (truncated) await reader.cancel().catch(() => {})
    reader.releaseLock()
  }
  const bytes = new Uint8Array(size)
  let off = 0
  for (const c of chunks) {
    bytes.set(c, off)
    off += c.byteLength
  }
  return { bytes, truncated }
}

function decode(bytes: Uint8Array, charset: string): string {
  try {
    return new TextDecoder(charset as ConstructorParameters<typeof TextDecoder>[0]).decode(bytes)
  } catch {
    return new TextDecoder().decode(bytes)
  }
}

/**
 * One request to a checked URL, to each checked address in turn until one answers (as a browser falls back across
 * A/AAAA records). Only checked addresses are ever connected to: the URL fetch gets is an IP literal (pinTo), so fetch
 * makes no DNS lookup of its own. keepalive is off so that a TLS connection verified for one name is never reused for
 * another name on the same address.
 */
async function fetchChecked(
  doFetch: typeof fetch,
  checked: CheckedUrl,
  init: RequestInit & { signal: AbortSignal; headers: Record<string, string> },
): Promise<Response> {
  let lastError: unknown
  for (const address of checked.addresses) {
    const pin = pinTo(checked.url, address)
    try {
      return await doFetch(pin.url, {
        ...init,
        keepalive: false,
        headers: { ...init.headers, host: pin.host },
        ...(pin.serverName ? { tls: { serverName: pin.serverName } } : {}),
        // HTTP/1.1 carries the Host header as set; an HTTP/2 :authority could be taken from the (IP) URL instead.
        ...(pin.url.protocol === "https:" ? { protocol: "http1.1" as const } : {}),
      })
    } catch (err) {
      if (init.signal.aborted) throw err
      lastError = err
    }
  }
  throw lastError
}

export interface WebFetchOptions {
  policy: ToolPolicy
  /** Injectable for tests; default globalThis.fetch. */
  fetch?: typeof fetch
  /** Host name lookup for the SSRF guard (injectable for tests); default: the system resolver. */
  resolve?: Resolver
  /** Body bytes read at most (default MAX_BODY_BYTES). */
  maxBodyBytes?: number
}

export function createWebFetchTool(o: WebFetchOptions): ToolDef<typeof WebFetchParams> {
  const { policy } = o
  const doFetch = o.fetch ?? fetch
  const maxBody = o.maxBodyBytes ?? MAX_BODY_BYTES
  return defineTool({
    name: "web_fetch",
    description: [
      'Fetch a web page or text resource by URL (HTTP GET) and return it as readable text: HTML is converted to text with headings (#), paragraphs, lists, table rows, fenced code blocks and links as "text (url)"; JSON, XML and other text come back unchanged.',
      "Binary content (images, PDFs, archives) is refused. Long pages are cut at maxChars.",
      "Only public internet addresses are reached: localhost, private-network, link-local and cloud metadata addresses are refused, also as redirect targets, unless the gateway's operator listed them in tools.web.allowPrivate.",
    ].join(" "),
    parameters: WebFetchParams,
    get maxOutputChars() {
      return policy.config.webFetch.maxChars + 2000
    },
    async execute(args, ctx) {
      const cfg = policy.config.webFetch
      const maxChars = Math.min(args.maxChars ?? cfg.maxChars, cfg.maxChars)
      let url = parseHttpUrl(args.url, "web_fetch")
      let from: URL | undefined
      const timeout = AbortSignal.timeout(cfg.timeoutMs)
      const signal = AbortSignal.any([ctx.signal, timeout])
      let res: Response | undefined
      try {
        for (let hop = 0; ; hop++) {
          const checked = await checkUrl(url, { allowPrivate: policy.config.web.allowPrivate, resolve: o.resolve, signal, redirectedFrom: from })
          // Redirects are followed by hand, so that every hop is checked (and connected by its checked address).
          res = await fetchChecked(doFetch, checked, {
            method: "GET",
            redirect: "manual",
            signal,
            headers: { "user-agent": USER_AGENT, accept: "text/html,application/xhtml+xml,text/plain,application/json;q=0.9,*/*;q=0.5" },
          })
          if (res.status >= 300 && res.status < 400 && res.headers.get("location")) {
            await res.body?.cancel().catch(() => {})
            if (hop >= MAX_REDIRECTS)
              throw new ToolError({
                message: `Too many redirects (more than ${MAX_REDIRECTS}) starting from ${args.url}; last location ${url}. Try the final URL directly.`,
              })
            const next = new URL(res.headers.get("location")!, url)
            if (next.protocol !== "http:" && next.protocol !== "https:")
              throw new ToolError({ message: `${url} redirects to a ${next.protocol} URL, which web_fetch does not follow.` })
            from = url
            url = next
            continue
          }
          break
        }
      } catch (err) {
        if (ToolError.isInstance(err)) throw err
        if (ctx.signal.aborted) throw err
        if (timeout.aborted)
          throw new ToolError({
            message: `Fetching ${url} timed out after ${cfg.timeoutMs} ms. The site may be slow or unreachable; try again later or another URL.`,
          })
        throw new ToolError({ message: `Could not fetch ${url}: ${(err as Error).message}. Check the URL (host name, port, https) and try again.` })
      }
      const contentType = res.headers.get("content-type") ?? ""
      let body: { bytes: Uint8Array; truncated: boolean }
      try {
        let kind = classify(contentType)
        if (kind === "binary") {
          await res.body?.cancel().catch(() => {})
          throw new ToolError({
            message: `${url} returned binary content (${contentType.split(";")[0]}); web_fetch only returns text such as HTML, JSON or plain text.`,
          })
        }
        body = await readCapped(res.body, maxBody)
        if (!kind) {
          // No content type: sniff.
          const head = body.bytes.subarray(0, 1024)
          if (head.includes(0))
            throw new ToolError({ message: `${url} returned binary content (no content type; the data contains NUL bytes); web_fetch only returns text.` })
          kind = /<(!doctype html|html|head|body)\b/i.test(new TextDecoder().decode(head)) ? "html" : "text"
        }
        const raw = decode(body.bytes, charsetOf(contentType))
        if (!res.ok) {
          const excerpt = (kind === "html" ? htmlToText(raw, url.toString()).text : raw).slice(0, 500)
          throw new ToolError({ message: `${url} answered HTTP ${res.status} ${res.statusText}.${excerpt ? ` The response said:\n${excerpt}` : ""}` })
        }
        let title: string | undefined
        let text = raw
        if (kind === "html") ({ title, text } = htmlToText(raw, url.toString()))
        const full = text.length
        const cut = full > maxChars
        if (cut) text = text.slice(0, maxChars)
        const notes: string[] = []
        if (cut) notes.push(`[Text cut at ${maxChars} of ${full}${body.truncated ? "+" : ""} characters; the rest is not shown.]`)
        if (body.truncated)
          notes.push(
            `[The response was larger than ${maxBody >= 1024 * 1024 ? `${maxBody / 1024 / 1024} MB` : `${maxBody} bytes`}; only the beginning was downloaded.]`,
          )
        const header = [`URL: ${url}`, `Status: ${res.status}`, `Content-Type: ${contentType || "unknown"}`, ...(title ? [`Title: ${title}`] : [])].join("\n")
        return {
          output: `${header}\n\n${text}${notes.length ? `\n\n${notes.join("\n")}` : ""}`,
          meta: { url: url.toString(), status: res.status, contentType, title, truncated: cut || body.truncated },
        }
      } catch (err) {
        if (ToolError.isInstance(err) || ctx.signal.aborted) throw err
        if (timeout.aborted) throw new ToolError({ message: `Reading ${url} timed out after ${cfg.timeoutMs} ms.` })
        throw new ToolError({ message: `Could not read the response from ${url}: ${(err as Error).message}.` })
      }
    },
  })
}
