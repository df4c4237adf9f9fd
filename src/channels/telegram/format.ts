/**
 * Markdown as models write it → the HTML subset Telegram accepts (b, i, s, u, code, pre, a, blockquote). Text is
 * escaped first, so nothing the model writes becomes markup by accident; what does not map (tables, lists, headings)
 * stays readable text. When Telegram still rejects a message, the adapter resends it as plain text.
 */

const escapeHtml = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
const escapeAttr = (s: string) => escapeHtml(s).replaceAll('"', "&quot;")

/** Inline markup within one line or paragraph (already outside code blocks). */
function inline(text: string): string {
  // Inline code first: its content is literal.
  const parts = text.split(/(`[^`\n]+`)/g)
  return parts
    .map((part) => {
      if (part.startsWith("`") && part.endsWith("`") && part.length > 2) return `<code>${escapeHtml(part.slice(1, -1))}</code>`
      let s = escapeHtml(part)
      // The text is escaped already (& is &amp;): only quotes remain to be escaped inside the attribute.
      s = s.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_m, label: string, url: string) => `<a href="${url.replaceAll('"', "&quot;")}">${label}</a>`)
      s = s.replace(/\*\*([^*\n]+)\*\*/g, "<b>$1</b>")
      s = s.replace(/__([^_\n]+)__/g, "<u>$1</u>")
      s = s.replace(/~~([^~\n]+)~~/g, "<s>$1</s>")
      s = s.replace(/(^|[\s(])\*([^*\s][^*\n]*?)\*(?=[\s).,!?:;]|$)/g, "$1<i>$2</i>")
      s = s.replace(/(^|[\s(])_([^_\s][^_\n]*?)_(?=[\s).,!?:;]|$)/g, "$1<i>$2</i>")
      return s
    })
    .join("")
}

export function markdownToTelegramHtml(md: string): string {
  const out: string[] = []
  const lines = md.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const fence = /^\s*(```|~~~)\s*([\w+-]*)\s*$/.exec(line)
    if (fence) {
      const body: string[] = []
      let j = i + 1
      while (j < lines.length && !lines[j]!.trim().startsWith(fence[1]!)) body.push(lines[j++]!)
      const lang = fence[2] ? ` class="language-${escapeAttr(fence[2])}"` : ""
      out.push(`<pre><code${lang}>${escapeHtml(body.join("\n"))}</code></pre>`)
      i = j
      continue
    }
    const heading = /^#{1,6}\s+(.*)$/.exec(line)
    if (heading) {
      out.push(`<b>${inline(heading[1]!)}</b>`)
      continue
    }
    const quote = /^>\s?(.*)$/.exec(line)
    if (quote) {
      const body = [quote[1]!]
      while (i + 1 < lines.length && /^>\s?/.test(lines[i + 1]!)) body.push(lines[++i]!.replace(/^>\s?/, ""))
      out.push(`<blockquote>${body.map(inline).join("\n")}</blockquote>`)
      continue
    }
    out.push(inline(line.replace(/^(\s*)[*-]\s+/, "$1• ")))
  }
  return out.join("\n")
}
