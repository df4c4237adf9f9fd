/**
 * Seeded mutations of recorded client frames for the fuzzer: on the parsed value (types, nesting, sizes, unicode,
 * numbers, ids, methods) and on the text (truncation, stray bytes, duplicate keys, out-of-range number literals,
 * invalid UTF-8 in binary frames). The same seed gives the same frames, so a failure can be replayed.
 */

/** mulberry32: small, fast and good enough to drive mutations reproducibly. */
export class Rng {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  int(max: number): number {
    return Math.floor(this.next() * max)
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(16).toString(16)).join("")
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

/** What goes on the wire: text, or bytes sent as a binary frame. */
export type Wire = { text: string } | { bytes: Uint8Array }

const STRINGS = [
  "",
  " ",
  "\u0000",
  "\ud800",
  "\udfff",
  "\ud83d\ude00",
  "\u202eevil",
  "e\u0301\u0301\u0301",
  "\u200b\u200c\u200d\ufeff",
  "𝕏𝕐ℤ",
  "%s%n%x",
  "${jndi:ldap://x}",
  "<script>alert(1)</script>",
  "../../../../etc/passwd",
  "__proto__",
  "constructor",
  "toString",
  "null",
  "true",
  "0",
  "-1",
  "1e999",
  "agent:main:main",
  "operator.admin",
  '\r\n\t\b\f\\"',
  "ａｄｍｉｎ",
  "🏳️‍🌈".repeat(3),
]
const NUMBERS = [0, -0, 1, -1, 0.5, 2 ** 31, 2 ** 32, 2 ** 53 + 2, -(2 ** 53), Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1e21, 0.1 + 0.2]
const KEYS = [
  "type",
  "id",
  "method",
  "params",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "",
  "auth",
  "token",
  "scopes",
  "x".repeat(300),
]
const METHOD_NAMES = [
  "",
  "connect",
  "health",
  "status",
  "no.such.method",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "HEALTH",
  "health ",
  "ｈｅａｌｔｈ",
  "a".repeat(5000),
]
const TYPES = ["req", "res", "event", "cancel", "REQ", "", "hello"]

function randomValue(r: Rng, depth: number, maxString: number): Json {
  switch (r.int(depth > 3 ? 5 : 7)) {
    case 0:
      return null
    case 1:
      return r.chance(0.5)
    case 2:
      return r.pick(NUMBERS)
    case 3:
      return r.pick(STRINGS)
    case 4:
      return bigString(r, maxString)
    case 5:
      return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1, maxString))
    default: {
      const o: Record<string, Json> = {}
      for (let i = r.int(4); i > 0; i--) o[r.pick(KEYS)] = randomValue(r, depth + 1, maxString)
      return o
    }
  }
}

function bigString(r: Rng, max: number): string {
  const unit = r.pick(["a", "é", "😀", "\u0000", "\\", '"', "\ud800", "ab\u202e"])
  return unit.repeat(Math.max(1, r.int(Math.max(1, Math.floor(max / (unit.length * 4))))))
}

/** Every (container, key) inside `v`, so a mutation can pick any node. */
function slots(v: Json, out: [Json[] | Record<string, Json>, string | number][] = []): typeof out {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      out.push([v, i])
      slots(v[i]!, out)
    }
  } else if (v && typeof v === "object") {
    for (const k of Object.keys(v)) {
      out.push([v, k])
      slots(v[k]!, out)
    }
  }
  return out
}

function set(container: Json[] | Record<string, Json>, key: string | number, value: Json): void {
  ;(container as Record<string | number, Json>)[key] = value
}

function nest(r: Rng, inner: Json): Json {
  let v = inner
  const depth = r.pick([2, 50, 500, 3000])
  const asArray = r.chance(0.5)
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v }
  return v
}

/** One structural mutation of `frame` (mutated in place); returns a label for the report. */
function mutateValue(frame: Record<string, Json>, r: Rng, maxString: number): string {
  const all = slots(frame)
  const [container, key] = all.length ? r.pick(all) : [frame, "params"]
  switch (r.int(10)) {
    case 0:
      set(container, key, randomValue(r, 0, maxString))
      return "replace-node"
    case 1:
      if (Array.isArray(container)) container.splice(Number(key), 1)
      else delete container[key as string]
      return "delete-key"
    case 2:
      if (Array.isArray(container)) container.push(randomValue(r, 0, maxString))
      else container[r.chance(0.5) ? r.pick(KEYS) : (key as string)] = randomValue(r, 0, maxString)
      return "add-key"
    case 3:
      set(container, key, nest(r, (container as Record<string | number, Json>)[key] ?? null))
      return "nest"
    case 4:
      set(container, key, r.pick(NUMBERS))
      return "number"
    case 5:
      set(container, key, r.pick(STRINGS) + bigString(r, Math.min(maxString, 4096)))
      return "unicode"
    case 6:
      set(
        container,
        key,
        Array.from({ length: r.pick([100, 10_000]) }, () => r.pick(NUMBERS)),
      )
      return "big-array"
    case 7:
      frame.id = r.pick<Json>([null, 7, "", {}, [], "x".repeat(10_000), "\ud800", r.uuid(), true])
      return "id"
    case 8:
      frame.method = r.chance(0.8) ? r.pick(METHOD_NAMES) : randomValue(r, 2, 64)
      return "method"
    default:
      frame.type = r.chance(0.8) ? r.pick(TYPES) : randomValue(r, 2, 64)
      return "type"
  }
}

/** A text-level mutation of valid JSON. */
function mutateText(text: string, r: Rng): { wire: Wire; label: string } {
  switch (r.int(7)) {
    case 0:
      return { wire: { text: text.slice(0, r.int(text.length)) }, label: "truncate" }
    case 1: {
      const at = r.int(text.length)
      return {
        wire: { text: text.slice(0, at) + r.pick(["}", "]", ",", '"', "\\", "\u0000", "{", "\ud800", ":", "\n"]) + text.slice(at) },
        label: "insert-char",
      }
    }
    case 2:
      // JSON.parse keeps the last of duplicate keys; the id echoed must be the one the server actually used.
      return { wire: { text: text.replace(/^\{"type":"req"/, '{"type":"event","type":"req","id":"dup"') }, label: "duplicate-keys" }
    case 3:
      return {
        wire: { text: text.replace(/-?\d+(\.\d+)?/, r.pick(["1e999", "-1e999", "-0", "1E+400", "0.0000000000000000000000000001", "99999999999999999999999"])) },
        label: "number-literal",
      }
    case 4:
      return { wire: { text: `\ufeff${text}${" ".repeat(r.int(100))}` }, label: "bom-whitespace" }
    case 5: {
      // Invalid UTF-8 inside otherwise valid JSON, sent as a binary frame.
      const bytes = new TextEncoder().encode(text)
      const bad = r.pick([[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xf0, 0x28, 0x8c, 0x28], [0xc0, 0xaf]])
      const at = r.int(bytes.length)
      const out = new Uint8Array(bytes.length + bad.length)
      out.set(bytes.subarray(0, at))
      out.set(bad, at)
      out.set(bytes.subarray(at), at + bad.length)
      return { wire: { bytes: out }, label: "invalid-utf8" }
    }
    default:
      return { wire: { bytes: new TextEncoder().encode(text) }, label: "binary-frame" }
  }
}

/** A text as the server receives it: sending encodes it as UTF-8, which turns raw lone surrogates into U+FFFD. */
const asSent = (text: string) => new TextDecoder("utf-8", { ignoreBOM: true }).decode(new TextEncoder().encode(text))

export interface Mutated {
  wire: Wire
  /** The frame as the server will parse it, when the text is valid JSON (for the reply expectation). */
  value?: unknown
  labels: string[]
}

/**
 * One fuzz frame from a recorded frame: 1-3 structural mutations, sometimes none (the valid frame is part of the
 * mix), then sometimes a text mutation. `maxString` bounds how big strings grow (the pre-auth limit is 64 KiB).
 */
export function mutate(recorded: Record<string, unknown>, r: Rng, maxString: number): Mutated {
  const frame = structuredClone(recorded) as Record<string, Json>
  const labels: string[] = []
  const rounds = r.chance(0.15) ? 0 : 1 + r.int(3)
  for (let i = 0; i < rounds; i++) labels.push(mutateValue(frame, r, maxString))
  const text = JSON.stringify(frame)
  if (r.chance(0.25)) {
    const m = mutateText(text, r)
    labels.push(m.label)
    let value: unknown
    // What the server will parse: the text, or the bytes of a binary frame decoded as UTF-8 (invalid bytes aside).
    const seen = "text" in m.wire ? m.wire.text : m.label === "binary-frame" ? text : undefined
    if (seen !== undefined) {
      try {
        value = JSON.parse(asSent(seen))
      } catch {}
    }
    return { wire: m.wire, value, labels }
  }
  return { wire: { text }, value: JSON.parse(asSent(text)), labels: labels.length ? labels : ["none"] }
}
