/** Tiny DOM helpers: elements built with textContent only (nothing from the wire is ever parsed as HTML). */

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id)
  if (!el) throw new Error(`missing #${id}`)
  return el as T
}

type Child = Node | string | null | undefined | false

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { class?: string; text?: string; attrs?: Record<string, string>; on?: Record<string, (ev: Event) => void> } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  if (props.class) el.className = props.class
  if (props.text !== undefined) el.textContent = props.text
  for (const [k, v] of Object.entries(props.attrs ?? {})) el.setAttribute(k, v)
  for (const [k, fn] of Object.entries(props.on ?? {})) el.addEventListener(k, fn)
  for (const c of children) if (c) el.append(c)
  return el
}

export function button(label: string, onClick: () => void, opts: { class?: string; ariaLabel?: string } = {}): HTMLButtonElement {
  return h("button", {
    text: label,
    class: opts.class,
    attrs: { type: "button", ...(opts.ariaLabel ? { "aria-label": opts.ariaLabel } : {}) },
    on: { click: onClick },
  })
}

export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}

export function ago(ms: number | undefined): string {
  if (!ms) return "—"
  const s = Math.round((Date.now() - ms) / 1000)
  if (Math.abs(s) < 60) return s >= 0 ? `${s}s ago` : `in ${-s}s`
  const m = Math.round(s / 60)
  if (Math.abs(m) < 60) return m >= 0 ? `${m} min ago` : `in ${-m} min`
  return new Date(ms).toLocaleString()
}

/** Text of a message's content: a string, or parts of which the text ones count. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content
  if (Array.isArray(content)) return content.map((p) => (p && typeof p === "object" && "text" in p ? String((p as { text: unknown }).text) : "")).join("")
  return ""
}
