/**
 * web_fetch: GET an http(s) URL and return readable text. HTML is converted to text (headings, paragraphs, links as
 * "text (url)"); other text types come back as they are; binary types are refused. Redirects are followed (at most
 * 5), the body is read up to MAX_BODY_BYTES while streaming, and the whole fetch is bounded by tools.webFetch.timeoutMs.
 */
import { z } from "zod"
import { htmlToText } from "./html-to-text.ts"
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

function parseUrl(raw: string): URL {
  let u: URL
  try {
    u = new URL(raw.trim())
  } catch {
    throw new ToolError({ message: `"${raw}" is not a valid absolute URL. Pass a full URL such as https://example.com/page.` })
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new ToolError({ message: `web_fetch only fetches http:// and https:// URLs, not ${u.protocol}. Use read for local files.` })
  if (u.username || u.password) throw new ToolError({ message: "URLs with embedded credentials (user:password@) are not fetched. Remove them from the URL." })
  return u
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

export interface WebFetchOptions {
  policy: ToolPolicy
  /** Injectable for tests; default globalThis.fetch. */
  fetch?: typeof fetch
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
    ].join(" "),
    parameters: WebFetchParams,
    get maxOutputChars() {
      return policy.config.webFetch.maxChars + 2000
    },
    async execute(args, ctx) {
      const cfg = policy.config.webFetch
      const maxChars = Math.min(args.maxChars ?? cfg.maxChars, cfg.maxChars)
      let url = parseUrl(args.url)
      const timeout = AbortSignal.timeout(cfg.timeoutMs)
      const signal = AbortSignal.any([ctx.signal, timeout])
      let res: Response | undefined
      try {
        for (let hop = 0; ; hop++) {
          res = await doFetch(url, {
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
