/**
 * Pure launchd helpers: the LaunchAgent property list, a small strict plist parser (to read an installed agent back),
 * and a parser for `launchctl print` output. No I/O here.
 *
 * @example
 * renderLaunchdPlist({ label: "ai.gateway", programArguments: ["/usr/local/bin/gateway", "run"], workingDirectory: "/Users/me/.gateway", ... })
 */

import { NamedError } from "../util/named-error.ts"

/** A value a plist cannot carry, or a document the strict parser rejects. */
export const PlistError = NamedError.create("PlistError", (z) => z.object({ message: z.string() }))
export type PlistError = InstanceType<typeof PlistError>

// XML 1.0 forbids most control characters even when escaped.
const XML_INVALID = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/

export function xmlEscape(value: string): string {
  if (XML_INVALID.test(value)) throw new PlistError({ message: `value contains a character XML cannot carry: ${JSON.stringify(value)}` })
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")
}

export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue }

function renderValue(v: PlistValue, indent: string): string[] {
  if (typeof v === "string") return [`${indent}<string>${xmlEscape(v)}</string>`]
  if (typeof v === "boolean") return [`${indent}<${v}/>`]
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new PlistError({ message: `only integers are supported, got ${v}` })
    return [`${indent}<integer>${v}</integer>`]
  }
  if (Array.isArray(v)) return [`${indent}<array>`, ...v.flatMap((x) => renderValue(x, `${indent}  `)), `${indent}</array>`]
  const out = [`${indent}<dict>`]
  for (const [k, x] of Object.entries(v)) out.push(`${indent}  <key>${xmlEscape(k)}</key>`, ...renderValue(x, `${indent}  `))
  out.push(`${indent}</dict>`)
  return out
}

/** Any plist value as a complete document. */
export function renderPlist(root: PlistValue): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    ...renderValue(root, ""),
    "</plist>",
    "",
  ].join("\n")
}

export interface LaunchdPlistOptions {
  label: string
  programArguments: string[]
  workingDirectory: string
  environment: Record<string, string>
  standardOutPath: string
  standardErrorPath: string
  /** Seconds between respawns of a crashing job (launchd's only crash-loop brake). Default 10. */
  throttleInterval?: number
  /** Seconds launchd waits after SIGTERM before SIGKILL. Default 30 (in-flight agent runs drain). */
  exitTimeOut?: number
  comment?: string
}

/**
 * The LaunchAgent: started at login (RunAtLoad), restarted only when it exits unsuccessfully (KeepAlive
 * SuccessfulExit=false, so `gateway stop`'s clean exit stays down), umask 077 (Umask is decimal: 63), and with an
 * explicit PATH and working directory because launchd's defaults are a minimal PATH and `/`.
 */
export function renderLaunchdPlist(o: LaunchdPlistOptions): string {
  if (!o.programArguments[0]?.startsWith("/"))
    throw new PlistError({ message: `ProgramArguments needs an absolute executable path, got '${o.programArguments[0] ?? ""}'` })
  const dict: Record<string, PlistValue> = { Label: o.label }
  if (o.comment) dict.Comment = o.comment
  Object.assign(dict, {
    ProgramArguments: o.programArguments,
    RunAtLoad: true,
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: o.throttleInterval ?? 10,
    ExitTimeOut: o.exitTimeOut ?? 30,
    ProcessType: "Interactive",
    Umask: 63,
    WorkingDirectory: o.workingDirectory,
    EnvironmentVariables: o.environment,
    StandardOutPath: o.standardOutPath,
    StandardErrorPath: o.standardErrorPath,
  })
  return renderPlist(dict)
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }

function decodeText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(parseInt(e.slice(2), 16))
    if (e.startsWith("#")) return String.fromCodePoint(parseInt(e.slice(1), 10))
    const v = ENTITIES[e]
    if (v === undefined) throw new PlistError({ message: `unknown entity ${m}` })
    return v
  })
}

/**
 * Parses an XML property list (dict, array, string, integer, real, true, false, date, data) strictly: mismatched
 * tags, stray text and unknown elements are errors. Enough to verify our output and read installed agents back.
 */
export function parsePlist(xml: string): PlistValue {
  let i = 0
  const skipMisc = () => {
    for (;;) {
      while (i < xml.length && /\s/.test(xml[i]!)) i++
      if (xml.startsWith("<?", i)) i = xml.indexOf("?>", i) + 2
      else if (xml.startsWith("<!--", i)) i = xml.indexOf("-->", i) + 3
      else if (xml.startsWith("<!DOCTYPE", i)) i = xml.indexOf(">", i) + 1
      else return
      if (i <= 1) throw new PlistError({ message: "unterminated XML declaration or comment" })
    }
  }
  const tag = (): { name: string; close: boolean; selfClose: boolean } => {
    skipMisc()
    if (xml[i] !== "<") throw new PlistError({ message: `expected a tag at offset ${i}, found ${JSON.stringify(xml.slice(i, i + 20))}` })
    const end = xml.indexOf(">", i)
    if (end < 0) throw new PlistError({ message: "unterminated tag" })
    const body = xml.slice(i + 1, end)
    i = end + 1
    const close = body.startsWith("/")
    const selfClose = body.endsWith("/")
    const name = body.replace(/^\//, "").replace(/\/$/, "").trim().split(/\s+/)[0]!
    return { name, close, selfClose }
  }
  const text = (name: string): string => {
    const end = xml.indexOf(`</${name}>`, i)
    if (end < 0) throw new PlistError({ message: `missing </${name}>` })
    const raw = xml.slice(i, end)
    if (raw.includes("<")) throw new PlistError({ message: `unexpected markup inside <${name}>` })
    i = end + name.length + 3
    return decodeText(raw)
  }
  const value = (t = tag()): PlistValue => {
    if (t.close) throw new PlistError({ message: `unexpected </${t.name}>` })
    switch (t.name) {
      case "true":
      case "false":
        if (!t.selfClose) {
          const rest = tag()
          if (!rest.close || rest.name !== t.name) throw new PlistError({ message: `expected </${t.name}>` })
        }
        return t.name === "true"
      case "string":
      case "date":
      case "data":
        return t.selfClose ? "" : text(t.name)
      case "integer": {
        const s = text("integer").trim()
        if (!/^[+-]?\d+$/.test(s)) throw new PlistError({ message: `bad integer ${JSON.stringify(s)}` })
        return Number(s)
      }
      case "real": {
        const n = Number(text("real").trim())
        if (Number.isNaN(n)) throw new PlistError({ message: "bad real" })
        return n
      }
      case "array": {
        const out: PlistValue[] = []
        if (t.selfClose) return out
        for (;;) {
          const n = tag()
          if (n.close) {
            if (n.name !== "array") throw new PlistError({ message: `expected </array>, got </${n.name}>` })
            return out
          }
          out.push(value(n))
        }
      }
      case "dict": {
        const out: Record<string, PlistValue> = {}
        if (t.selfClose) return out
        for (;;) {
          const k = tag()
          if (k.close) {
            if (k.name !== "dict") throw new PlistError({ message: `expected </dict>, got </${k.name}>` })
            return out
          }
          if (k.name !== "key") throw new PlistError({ message: `expected <key> in <dict>, got <${k.name}>` })
          const key = k.selfClose ? "" : text("key")
          if (key in out) throw new PlistError({ message: `duplicate key ${JSON.stringify(key)}` })
          out[key] = value()
        }
      }
      default:
        throw new PlistError({ message: `unknown element <${t.name}>` })
    }
  }
  const root = tag()
  if (root.name !== "plist" || root.close) throw new PlistError({ message: "document element is not <plist>" })
  const v = value()
  const end = tag()
  if (!end.close || end.name !== "plist") throw new PlistError({ message: "expected </plist> after the root value" })
  skipMisc()
  if (i < xml.length) throw new PlistError({ message: "trailing content after </plist>" })
  return v
}

export interface LaunchctlPrint {
  state?: string
  pid?: number
  lastExitCode?: number
  /** e.g. "(never exited)" or the text after the code. */
  lastExitText?: string
  runs?: number
  path?: string
}

/**
 * Reads the top-level fields of `launchctl print gui/<uid>/<label>` (nested blocks such as `endpoints` also have
 * `state =` lines, so only lines indented exactly one tab count).
 */
export function parseLaunchctlPrint(text: string): LaunchctlPrint {
  const out: LaunchctlPrint = {}
  for (const line of text.split("\n")) {
    const m = /^\t([a-z][a-z ]*?) = (.*)$/.exec(line)
    if (!m) continue
    const [, key, value] = m as unknown as [string, string, string]
    if (key === "state") out.state = value.trim()
    else if (key === "pid") out.pid = Number(value) || undefined
    else if (key === "runs") out.runs = Number(value)
    else if (key === "path") out.path = value.trim()
    else if (key === "last exit code" || key === "last exit status") {
      const n = /^(-?\d+)/.exec(value.trim())
      if (n) out.lastExitCode = Number(n[1])
      out.lastExitText = value.trim()
    }
  }
  return out
}
