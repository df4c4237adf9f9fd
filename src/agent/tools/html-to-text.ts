/**
 * HTML → readable text for web_fetch, on Bun's HTMLRewriter (lol-html: a streaming tokenizer that copes with
 * malformed markup and keeps script and style bodies as raw text). Drops scripts, styles, the head and navigation;
 * keeps headings (as `#` lines), paragraphs and list items as line breaks, links as "text (url)", preformatted
 * blocks fenced and verbatim, inline code in backticks, table rows as "a | b" lines; decodes character references
 * (lol-html hands text and attribute values over as written).
 */

// biome-ignore format: a dense lookup table, one line per group
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

/** Dropped with everything inside them. */
const SKIP = new Set("script style noscript template textarea svg math nav iframe object canvas select button menu dialog".split(" "))
/** What may stand in <head>: anything else there (or text) means the page left out </head>. */
const HEAD_CONTENT = new Set(["title", "meta", "link", "style", "script", "base", "noscript", "template"])
/** Start and end on a line of their own. */
const BLOCK = new Set(
  `address article aside body caption center details dd div dl dt fieldset figcaption figure footer form header hgroup html
  legend main section summary tbody tfoot thead`.split(/\s+/),
)

export interface HtmlText {
  title?: string
  text: string
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

/** Collapses HTML whitespace (and NULs, and no-break spaces) to single spaces. */
function collapse(s: string): string {
  return s.replace(/\0/g, "").replace(/[\s\u00a0]+/g, " ")
}

/** The text being built: knows whether it ends in a space and how many line breaks end it, so blocks never stack. */
class Output {
  readonly parts: string[] = []
  private empty = true
  private newlines = 0
  private space = true

  write(s: string): void {
    if (!s) return
    this.parts.push(s)
    const tail = /\S(\s*)$/.exec(s)
    if (tail) {
      this.empty = false
      this.newlines = countNewlines(tail[1]!)
    } else this.newlines += countNewlines(s)
    this.space = /\s$/.test(s)
  }

  /** Collapsed inline text: a leading space is dropped where the output already ends in whitespace. */
  inline(s: string): void {
    this.write(s.startsWith(" ") && this.space ? s.slice(1) : s)
  }

  /** Ends the current line and leaves `lines - 1` empty lines (nothing at the very start). */
  block(lines: 1 | 2): void {
    if (!this.empty && this.newlines < lines) this.write("\n".repeat(lines - this.newlines))
  }

  get endsWithSpace(): boolean {
    return this.space
  }

  /** Everything written since part `from`. */
  since(from: number): string {
    return this.parts.slice(from).join("")
  }
}

function countNewlines(s: string): number {
  let n = 0
  for (const c of s) if (c === "\n") n++
  return n
}

/** Converts an HTML document (or fragment) to readable text. `baseUrl` makes relative links absolute. */
export function htmlToText(html: string, baseUrl?: string): HtmlText {
  const out = new Output()
  let title: string | undefined
  let titleText: string | undefined
  let base = baseUrl
  let skip = 0
  let pre = 0
  let preStart = false
  let inHead = false
  let cells = 0
  const lists: { ordered: boolean; n: number }[] = []
  // A text node can arrive in several chunks, and a chunk can end inside a character reference.
  let pending = ""

  const flush = () => {
    if (!pending) return
    let t = pending
    pending = ""
    if (pre) {
      // As in browsers, a line break right after <pre> is not content.
      if (preStart) t = t.replace(/^\r?\n/, "")
      preStart = false
      out.write(decodeEntities(t.replace(/\0/g, "")))
    } else out.inline(collapse(decodeEntities(collapse(t))))
  }

  const element = (el: HTMLRewriterTypes.Element) => {
    flush()
    const tag = el.tagName.toLowerCase()
    // Foreign (svg, math) self-closing elements have no end tag; in HTML a stray "/>" changes nothing.
    const foreign = tag === "svg" || tag === "math"
    const hasEnd = el.canHaveContent && !(foreign && el.selfClosing)
    const atEnd = (fn: () => void) => {
      if (hasEnd)
        el.onEndTag(() => {
          flush()
          fn()
        })
    }
    if (inHead && (tag === "body" || !HEAD_CONTENT.has(tag))) inHead = false
    if (SKIP.has(tag) || skip) {
      if (SKIP.has(tag) && hasEnd) {
        skip++
        atEnd(() => skip--)
      }
      return
    }

    if (tag.length === 2 && tag[0] === "h" && tag[1]! >= "1" && tag[1]! <= "6") {
      out.block(2)
      out.write(`${"#".repeat(Number(tag[1]))} `)
      atEnd(() => out.block(2))
      return
    }
    switch (tag) {
      case "head":
        inHead = true
        atEnd(() => (inHead = false))
        return
      case "title":
        if (title === undefined && titleText === undefined && hasEnd) {
          titleText = ""
          atEnd(() => {
            title = collapse(decodeEntities(titleText ?? "")).trim() || undefined
            titleText = undefined
          })
        }
        return
      case "base": {
        const href = el.getAttribute("href")
        if (href) base = absoluteUrl(decodeEntities(href), baseUrl) ?? base
        return
      }
      case "br":
        if (pre) out.write("\n")
        else out.block(1)
        return
      case "hr":
        out.block(2)
        out.write("---")
        out.block(2)
        return
      case "p":
      case "blockquote":
      case "table":
        out.block(2)
        atEnd(() => out.block(2))
        return
      case "pre":
        out.block(2)
        out.write("```\n")
        pre++
        preStart = true
        atEnd(() => {
          pre = Math.max(0, pre - 1)
          out.block(1)
          out.write("```")
          out.block(2)
        })
        return
      case "code":
        if (!pre) {
          out.write("`")
          atEnd(() => out.write("`"))
        }
        return
      case "ul":
      case "ol":
        lists.push({ ordered: tag === "ol", n: 0 })
        out.block(1)
        atEnd(() => {
          lists.pop()
          out.block(1)
        })
        return
      case "li": {
        const list = lists.at(-1)
        out.block(1)
        out.write(`${"  ".repeat(Math.max(0, lists.length - 1))}${list?.ordered ? `${++list.n}. ` : "- "}`)
        atEnd(() => out.block(1))
        return
      }
      case "tr":
        cells = 0
        out.block(1)
        atEnd(() => out.block(1))
        return
      case "td":
      case "th":
        if (cells++ > 0) out.write(" | ")
        return
      case "a": {
        const href = el.getAttribute("href")
        const start = out.parts.length
        atEnd(() => {
          const url = href ? absoluteUrl(decodeEntities(href), base) : undefined
          if (!url) return
          const label = collapse(out.since(start)).trim()
          if (!label) out.inline(url)
          else if (label !== url && label !== href) out.write(out.endsWithSpace ? `(${url}) ` : ` (${url})`)
        })
        return
      }
      case "img": {
        const alt = collapse(decodeEntities(el.getAttribute("alt") ?? "")).trim()
        if (alt) out.inline(`[image: ${alt}]`)
        return
      }
    }
    if (BLOCK.has(tag)) {
      out.block(1)
      atEnd(() => out.block(1))
    }
  }

  new HTMLRewriter()
    .on("*", { element })
    .onDocument({
      text(chunk) {
        if (skip) return
        if (titleText !== undefined) {
          titleText += chunk.text
          return
        }
        // Text in <head> means its end tag was left out: what follows is the body.
        if (inHead) {
          if (!/\S/.test(chunk.text)) return
          inHead = false
        }
        pending += chunk.text
        if (chunk.lastInTextNode) flush()
      },
    })
    .transform(html)
  flush()

  const text = out.parts
    .join("")
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()
  return { title, text }
}
