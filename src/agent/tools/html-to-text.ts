/**
 * A small HTML → readable text converter for web_fetch (no DOM, no dependencies): drops scripts, styles and
 * navigation, keeps headings (as `#` lines), paragraphs and list items as line breaks, links as "text (url)",
 * preformatted blocks verbatim, and decodes character references.
 */

const NAMED_ENTITIES: Record<string, string> = {
  amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " ", ensp: " ", emsp: " ", thinsp: " ",
  copy: "©", reg: "®", trade: "™", hellip: "…", mdash: "—", ndash: "–", minus: "−",
  lsquo: "‘", rsquo: "’", sbquo: "‚", ldquo: "“", rdquo: "”", bdquo: "„", laquo: "«", raquo: "»", lsaquo: "‹", rsaquo: "›",
  bull: "•", middot: "·", prime: "′", Prime: "″", dagger: "†", Dagger: "‡", permil: "‰",
  euro: "€", pound: "£", yen: "¥", cent: "¢", curren: "¤", sect: "§", para: "¶", deg: "°", plusmn: "±", times: "×", divide: "÷",
  frac12: "½", frac14: "¼", frac34: "¾", sup1: "¹", sup2: "²", sup3: "³", micro: "µ", iexcl: "¡", iquest: "¿", shy: "",
  larr: "←", rarr: "→", uarr: "↑", darr: "↓", harr: "↔", lArr: "⇐", rArr: "⇒", hArr: "⇔",
  le: "≤", ge: "≥", ne: "≠", asymp: "≈", infin: "∞", sum: "∑", prod: "∏", radic: "√", part: "∂", nabla: "∇", isin: "∈", forall: "∀", exist: "∃",
  alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", lambda: "λ", mu: "μ", pi: "π", sigma: "σ", tau: "τ", phi: "φ", omega: "ω",
  Alpha: "Α", Beta: "Β", Gamma: "Γ", Delta: "Δ", Lambda: "Λ", Pi: "Π", Sigma: "Σ", Phi: "Φ", Omega: "Ω",
  check: "✓", star: "☆", hearts: "♥", zwj: "", zwnj: "", lrm: "", rlm: "",
  Agrave: "À", Aacute: "Á", Acirc: "Â", Atilde: "Ã", Auml: "Ä", Aring: "Å", AElig: "Æ", Ccedil: "Ç", Egrave: "È", Eacute: "É", Ecirc: "Ê", Euml: "Ë",
  Igrave: "Ì", Iacute: "Í", Icirc: "Î", Iuml: "Ï", Ntilde: "Ñ", Ograve: "Ò", Oacute: "Ó", Ocirc: "Ô", Otilde: "Õ", Ouml: "Ö", Oslash: "Ø",
  Ugrave: "Ù", Uacute: "Ú", Ucirc: "Û", Uuml: "Ü", Yacute: "Ý", szlig: "ß",
  agrave: "à", aacute: "á", acirc: "â", atilde: "ã", auml: "ä", aring: "å", aelig: "æ", ccedil: "ç", egrave: "è", eacute: "é", ecirc: "ê", euml: "ë",
  igrave: "ì", iacute: "í", icirc: "î", iuml: "ï", ntilde: "ñ", ograve: "ò", oacute: "ó", ocirc: "ô", otilde: "õ", ouml: "ö", oslash: "ø",
  ugrave: "ù", uacute: "ú", ucirc: "û", uuml: "ü", yacute: "ý", yuml: "ÿ", OElig: "Œ", oelig: "œ", Scaron: "Š", scaron: "š",
}

/** Decodes named (common set), decimal and hex character references; unknown ones are left as written. */
export function decodeEntities(s: string): string {
  if (!s.includes("&")) return s
  return s.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});?/g, (m, ref: string) => {
    if (ref[0] === "#") {
      const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)
      if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return "\uFFFD"
      return String.fromCodePoint(code)
    }
    const v = NAMED_ENTITIES[ref]
    return v === undefined ? m : v
  })
}

/** Dropped with their content; their content is raw text, so they are removed before tokenizing. */
const RAW_SKIP = ["script", "style", "noscript", "template", "textarea"]
/** Dropped with their content (nested elements counted). */
const SKIP = new Set(["nav", "svg", "iframe", "object", "canvas", "select", "button", "head", "menu", "dialog", "math"])
const VOID = new Set(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"])
const BLOCK = new Set([
  "address", "article", "aside", "blockquote", "body", "center", "details", "dd", "div", "dl", "dt", "fieldset", "figcaption", "figure",
  "footer", "form", "header", "hgroup", "html", "legend", "li", "main", "ol", "p", "section", "summary", "table", "tbody", "thead",
  "tfoot", "tr", "ul", "caption",
])

export interface HtmlText {
  title?: string
  text: string
}

function attr(attrs: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s"'>]+))`, "i").exec(attrs)
  return m ? decodeEntities(m[1] ?? m[2] ?? m[3] ?? "") : undefined
}

function absoluteUrl(href: string, base?: string): string | undefined {
  const h = href.trim()
  if (!h || h.startsWith("#") || /^(javascript|data|vbscript):/i.test(h)) return undefined
  try {
    return base ? new URL(h, base).toString() : new URL(h).toString()
  } catch {
    return h
  }
}

/** Converts an HTML document (or fragment) to readable text. `baseUrl` makes relative links absolute. */
export function htmlToText(html: string, baseUrl?: string): HtmlText {
  const titleMatch = /<title\b[^>]*>([\s\S]*?)<\/title\s*>/i.exec(html)
  const title = titleMatch ? decodeEntities(titleMatch[1]!.replace(/\s+/g, " ").trim()) || undefined : undefined
  const baseHref = /<base\b[^>]*\bhref\s*=\s*["']?([^"'\s>]+)/i.exec(html)?.[1]
  const base = baseHref ? (absoluteUrl(baseHref, baseUrl) ?? baseUrl) : baseUrl

  let src = html.replace(/<!--[\s\S]*?(?:-->|$)/g, "").replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, "").replace(/<!DOCTYPE[^>]*>/gi, "")
  for (const t of RAW_SKIP) src = src.replace(new RegExp(`<${t}\\b[\\s\\S]*?(?:<\\/${t}\\s*>|$)`, "gi"), " ")

  const out: string[] = []
  let skipDepth = 0
  let preDepth = 0
  let cellInRow = 0
  const links: { start: number; href?: string }[] = []
  const listStack: { ordered: boolean; n: number }[] = []
  const tagRe = /<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g

  const endsWithSpace = () => {
    for (let i = out.length - 1; i >= 0; i--) if (out[i]!.length) return /\s$/.test(out[i]!)
    return true
  }
  const text = (t: string) => {
    if (skipDepth || !t) return
    if (preDepth) return void out.push(decodeEntities(t))
    let s = decodeEntities(t.replace(/\s+/g, " ")).replace(/[\s\u00a0]+/g, " ")
    if (s.startsWith(" ") && endsWithSpace()) s = s.slice(1)
    if (s) out.push(s)
  }
  /** Ensures the output ends with at least n line breaks (none at the very start). */
  const br = (n: 1 | 2) => {
    let tail = ""
    let i = out.length - 1
    for (; i >= 0; i--) {
      tail = out[i]! + tail
      if (/\S/.test(out[i]!)) break
    }
    if (i < 0) return
    const have = (/\s*$/.exec(tail)![0].match(/\n/g) ?? []).length
    if (have < n) out.push("\n".repeat(n - have))
  }


  let last = 0
  for (let m: RegExpExecArray | null; (m = tagRe.exec(src)); ) {
    text(src.slice(last, m.index))
    last = tagRe.lastIndex
    const closing = m[1] === "/"
    const tag = m[2]!.toLowerCase()
    const attrs = m[3] ?? ""
    const selfClosing = attrs.trimEnd().endsWith("/")

    if (SKIP.has(tag)) {
      if (!closing && !selfClosing) skipDepth++
      else if (closing && skipDepth) skipDepth--
      continue
    }
    if (skipDepth) continue

    if (/^h[1-6]$/.test(tag)) {
      br(2)
      if (!closing) out.push(`${"#".repeat(Number(tag[1]))} `)
    } else if (tag === "br") br(1)
    else if (tag === "hr") {
      br(2)
      out.push("---")
      br(2)
    }
    else if (tag === "p" || tag === "blockquote" || tag === "table") br(2)
    else if (tag === "pre") {
      br(closing ? 2 : 1)
      preDepth = Math.max(0, preDepth + (closing ? -1 : 1))
    } else if (tag === "ul" || tag === "ol") {
      if (!closing) listStack.push({ ordered: tag === "ol", n: 0 })
      else listStack.pop()
      br(1)
    } else if (tag === "li") {
      if (!closing) {
        const l = listStack.at(-1)
        const indent = "  ".repeat(Math.max(0, listStack.length - 1))
        br(1)
        out.push(`${indent}${l?.ordered ? `${++l.n}. ` : "- "}`)
      } else br(1)
    } else if (tag === "tr") {
      cellInRow = 0
      br(1)
    } else if (tag === "td" || tag === "th") {
      if (!closing && cellInRow++ > 0) out.push(" | ")
    } else if (tag === "a") {
      if (!closing) links.push({ start: out.length, href: attr(attrs, "href") })
      else {
        const l = links.pop()
        if (l) {
          const label = out.slice(l.start).join("").replace(/\s+/g, " ").trim()
          const url = l.href ? absoluteUrl(l.href, base) : undefined
          if (url && !label) out.push(url)
          else if (url && label !== url && label !== l.href) {
            if (endsWithSpace()) out.push(`(${url}) `)
            else out.push(` (${url})`)
          }
        }
      }
    } else if (tag === "img") {
      const alt = attr(attrs, "alt")?.trim()
      if (alt) out.push(`[image: ${alt}]`)
    } else if (BLOCK.has(tag)) br(1)
  }
  text(src.slice(last))

  const joined = out
    .join("")
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()
  return { title, text: joined }
}
