/**
 * htmlToText on pages shaped like the ones web_fetch meets: nested and half-closed lists, every kind of character
 * reference, markup browsers forgive (missing </head>, unclosed paragraphs, misnested inline tags), megabytes of
 * inline script, and the parts that are not text at all (head, navigation, svg, templates).
 */
import { describe, expect, test } from "bun:test"
import { decodeEntities, htmlToText } from "../../../src/agent/tools/html-to-text.ts"

describe("structure", () => {
  test("nested lists: ordered numbering, indentation per level, <li> left unclosed", () => {
    const { text } = htmlToText(`<ul><li>Fruit<ol><li>Apple<li>Pear<ul><li>Conference</li></ul></li><li>Plum</ol><li>Veg</ul><p>after`)
    expect(text).toBe("- Fruit\n  1. Apple\n  2. Pear\n    - Conference\n  3. Plum\n- Veg\n\nafter")
  })

  test("headings become # lines with blank lines around them", () => {
    const { text } = htmlToText(`<h1>Top</h1><h2>Sub <small>small</small></h2>text<h3>Three</h3><h6>Six</h6>`)
    expect(text).toBe("# Top\n\n## Sub small\n\ntext\n\n### Three\n\n###### Six")
  })

  test("tables become rows of cells joined by |, also with implied </td> and </tr>", () => {
    const { text } = htmlToText(`<table><caption>Prices</caption><tr><th>Item<th>Price<tr><td>Tea<td>€3<tr><td>Coffee <b>x2</b><td>€5</table><p>next`)
    expect(text).toBe("Prices\nItem | Price\nTea | €3\nCoffee x2 | €5\n\nnext")
  })

  test("pre blocks are fenced and verbatim; inline code gets backticks", () => {
    const html = `<p>Run <code>npm &amp;&amp; go</code> now.</p><pre>\n  if (a &lt; b) {\n    return &quot;x&quot;\n  }\n</pre><pre><code>two</code></pre>`
    expect(htmlToText(html).text).toBe('Run `npm && go` now.\n\n```\n  if (a < b) {\n    return "x"\n  }\n```\n\n```\ntwo\n```')
  })

  test("whitespace collapses; <br> breaks a line, <hr> is a rule; never more than one empty line", () => {
    const { text } = htmlToText(`Hello <b>world</b>\n\n\n   and   more<br><br><br>lines<hr>after rule<p></p><p></p><div></div><p>end   </p>`)
    expect(text).toBe("Hello world and more\nlines\n\n---\n\nafter rule\n\nend")
  })

  test("a fragment without html or body works, text outside any element included", () => {
    expect(htmlToText("just text &amp; <i>some</i> markup").text).toBe("just text & some markup")
    expect(htmlToText("")).toEqual({ title: undefined, text: "" })
  })
})

describe("links and images", () => {
  test("text (absolute url), resolved against <base href>; fragments and script URLs are dropped", () => {
    const html = `<base href="https://example.com/docs/"><p><a href="page.html">Relative</a>, <a href="#top">Top</a>, <a href="javascript:alert(1)">JS</a>,
<a href="https://example.com/x">https://example.com/x</a>, <a href="/img"><img alt="Logo" src=l.png></a>, <a href="/empty"></a>, <a href="mailto:a@b.c">mail</a></p>`
    expect(htmlToText(html, "http://ignored.test/").text).toBe(
      "Relative (https://example.com/docs/page.html), Top, JS, https://example.com/x, [image: Logo] (https://example.com/img), https://example.com/empty, mail (mailto:a@b.c)",
    )
  })

  test("without a base, relative links stay as written", () => {
    expect(htmlToText(`<a href="/x">x page</a>`).text).toBe("x page (/x)")
  })
})

describe("character references", () => {
  test("named, decimal and hex references in text, attributes and the title; decoded once", () => {
    const html = `<title>A &amp;amp; B &mdash; C</title><p>&lt;b&gt; &amp;lt; &#0; &#x1F600; &#128512; &eacute;&Eacute; &notanentity; &amp &copy 5&nbsp;&nbsp;km <a href="/q?a=1&amp;b=&quot;x&quot;">q</a> <img alt="Tom &amp; Jerry" src=x.png>`
    const { title, text } = htmlToText(html, "http://h.test/")
    expect(title).toBe("A &amp; B — C")
    expect(text).toBe("<b> &lt; \uFFFD 😀 😀 éÉ &notanentity; & © 5 km q (http://h.test/q?a=1&b=%22x%22) [image: Tom & Jerry]")
  })

  test("decodeEntities leaves text without references alone", () => {
    const s = "no references here"
    expect(decodeEntities(s)).toBe(s)
    expect(decodeEntities("&#xD800;&#1114112;&#65")).toBe("\uFFFD\uFFFDA")
  })
})

describe("markup browsers forgive", () => {
  test("missing </head> and <body>, unclosed <p>, misnested inline tags, stray end tags, NULs", () => {
    const html = `<HTML><HEAD><TITLE>Broken</TITLE><META charset=utf-8><LINK rel=stylesheet href=x.css>
<P>First para<P>Second <B>bold <I>both</B> italic?</I> plain</p></p></div></span>
<DIV/>inside div</div><!-- comment <p>not text</p> --><![CDATA[ cdata ]]>tail\u0000end`
    const { title, text } = htmlToText(html)
    expect(title).toBe("Broken")
    expect(text).toBe("First para\n\nSecond bold both italic? plain\n\ninside div\ntailend")
  })

  test("text right after an unclosed <head> is body text", () => {
    expect(htmlToText("<head><title>T</title>Body text<p>more").text).toBe("Body text\n\nmore")
    expect(htmlToText("<head><title>T</title><meta x><p>para").text).toBe("para")
  })

  test("an unterminated tag at the end is dropped, not printed", () => {
    expect(htmlToText(`<p>ok <a href="/x`).text).toBe("ok")
  })

  test("the title is the document's, not an svg's", () => {
    expect(htmlToText(`<body><svg><title>icon</title></svg>x</body>`).title).toBeUndefined()
    expect(htmlToText(`<title>  Spaced\n  out  </title><svg><title>icon</title></svg>`).title).toBe("Spaced out")
  })
})

describe("what is not text", () => {
  test("scripts (with markup in their strings), styles, noscript, template, svg, nav, forms controls, iframes", () => {
    const html = `<html><head><script>var s = "</div><p>not text</p>"; if (a < b && c > d) {} document.write("<h1>x</h1>")</script>
<style>p::before { content: "<p>styled</p>" }</style></head><body><p>Visible</p>
<script>document.write("<scr" + "ipt src=x></scr" + "ipt>") // <!-- balanced -->
</script><noscript><p>Enable JS</p></noscript><template><p>tmpl</p></template>
<svg viewBox="0 0 10 10"><title>icon</title><text>svg text</text><path d="M0"/></svg>
<nav><a href="/">Home</a></nav><button>Click</button><select><option>opt</select><iframe src=x>frame</iframe>
<p>End</p></body></html>`
    expect(htmlToText(html).text).toBe("Visible\n\nEnd")
  })

  test("megabytes of inline script and JSON cost little and leave nothing behind", () => {
    const js = `function f(a,b){return a<b?"<div>":"</p>"}var s='${"x".repeat(180)}';`.repeat(15_000)
    const data = JSON.stringify({ html: "<p>not text</p>".repeat(5_000) })
    const html = `<!doctype html><html><head><title>App</title><script>${js}</script><style>${".a{color:red}".repeat(20_000)}</style></head>
<body><div id=root><h1>Hello</h1><p>World</p></div><script>window.__DATA__=${data}</script><p>Bye</p></body></html>`
    expect(html.length).toBeGreaterThan(3_000_000)
    const started = performance.now()
    expect(htmlToText(html)).toEqual({ title: "App", text: "# Hello\n\nWorld\n\nBye" })
    expect(performance.now() - started).toBeLessThan(2_000)
  })
})
