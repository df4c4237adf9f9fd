/**
 * SKILL.md → a normalised skill description. The frontmatter is YAML (the `yaml` package); `metadata` may nest the
 * requirements under `openclaw` (or the older `clawdbot` / `moltbot` / `clawdis` keys), be a JSON5 string as OpenClaw
 * writes it, or be flat (Claude Code / Codex style: `requires`, `os`, `install` beside `name`). Anything malformed is a
 * SkillParseError naming the field, so the loader can report that one skill and keep the others.
 */
import JSON5 from "json5"
import type * as Yaml from "yaml"

/** OpenClaw refuses SKILL.md files over 256 KB; so do we. */
export const MAX_SKILL_MD_BYTES = 256 * 1024

export const INSTALL_KINDS = ["brew", "apt", "node", "npm", "go", "uv", "download"] as const
export type InstallKind = (typeof INSTALL_KINDS)[number]

export interface InstallSpec {
  id: string
  kind: InstallKind
  label: string
  bins: string[]
  formula?: string
  cask?: string
  package?: string
  module?: string
  url?: string
  os?: string[]
}

export interface Requirements {
  bins: string[]
  anyBins: string[]
  env: string[]
  config: string[]
  os: string[]
}

export interface SkillMeta {
  name: string
  description: string
  homepage?: string
  /** Becomes a slash command (default true). */
  userInvocable: boolean
  /** Kept out of the model's prompt (default false). */
  disableModelInvocation: boolean
  /** `command-dispatch: tool`: invoking the skill runs `commandTool` directly. */
  commandDispatch?: "tool"
  commandTool?: string
  commandArgMode?: string
  /** Defaults merged under the caller's args when the skill dispatches to its tool (`command-args`). */
  commandArgs?: Record<string, unknown>
  always: boolean
  skillKey?: string
  primaryEnv?: string
  emoji?: string
  requires: Requirements
  install: InstallSpec[]
}

export class SkillParseError extends Error {
  override name = "SkillParseError"
}

export interface ParsedSkillFile {
  meta: SkillMeta
  /** The Markdown after the frontmatter. */
  body: string
}

/** Namespaces OpenClaw and its predecessors nest requirements under inside `metadata`. */
const NAMESPACES = ["openclaw", "clawdbot", "moltbot", "clawdis", "gateway"]

const OS_ALIASES: Record<string, string> = { macos: "darwin", mac: "darwin", osx: "darwin", windows: "win32", win: "win32" }

/** The YAML parser loads with the first SKILL.md (not at daemon start): a synchronous require, as zod's in util/named-error.ts. */
let yamlParser: typeof Yaml.parse | undefined
function yamlParse(): typeof Yaml.parse {
  yamlParser ??= (require("yaml") as typeof Yaml).parse
  return yamlParser
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v)

function splitFrontmatter(text: string): { yaml: string; body: string } {
  const src = text.replace(/^\uFEFF/, "")
  const m = /^---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(src)
  if (!m) {
    if (/^---[ \t]*\r?\n/.test(src)) throw new SkillParseError("the frontmatter is not closed: add a line '---' after it")
    throw new SkillParseError("no YAML frontmatter: SKILL.md must start with '---', name and description, then '---'")
  }
  return { yaml: m[1]!, body: src.slice(m[0].length) }
}

function str(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === "string") return v.trim() || undefined
  if (typeof v === "number") return String(v)
  throw new SkillParseError(`'${field}' must be a string`)
}

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt
  if (typeof v === "boolean") return v
  if (v === "true" || v === "false") return v === "true"
  throw new SkillParseError(`'${field}' must be true or false`)
}

/** A list of strings; a single string counts as a one-element list (authors write `bins: gh`). */
function strList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return []
  if (typeof v === "string") return v.trim() ? [v.trim()] : []
  if (!Array.isArray(v)) throw new SkillParseError(`'${field}' must be a list of strings`)
  return v.map((x, i) => {
    if (typeof x !== "string" || !x.trim()) throw new SkillParseError(`'${field}[${i}]' must be a non-empty string`)
    return x.trim()
  })
}

function osList(v: unknown, field: string): string[] {
  return strList(v, field).map((o) => OS_ALIASES[o.toLowerCase()] ?? o.toLowerCase())
}

/** `metadata` as an object: YAML mapping, or a JSON / JSON5 string (OpenClaw's single-line form). */
function metadataObject(v: unknown): Obj {
  if (v === undefined || v === null) return {}
  if (isObj(v)) return v
  if (typeof v === "string") {
    try {
      const parsed = JSON5.parse(v)
      if (isObj(parsed)) return parsed
    } catch (err) {
      throw new SkillParseError(`'metadata' is a string but not a JSON5 object: ${(err as Error).message}`)
    }
  }
  throw new SkillParseError("'metadata' must be an object")
}

function installSpecs(v: unknown, field: string): InstallSpec[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new SkillParseError(`'${field}' must be a list of {kind, ...} entries`)
  const seen = new Map<string, number>()
  return v.map((raw, i) => {
    const f = `${field}[${i}]`
    if (!isObj(raw)) throw new SkillParseError(`'${f}' must be an object with a kind`)
    const kind = str(raw.kind, `${f}.kind`)
    if (!kind || !(INSTALL_KINDS as readonly string[]).includes(kind))
      throw new SkillParseError(`'${f}.kind' must be one of ${INSTALL_KINDS.join(", ")} (got ${JSON.stringify(raw.kind)})`)
    const spec: InstallSpec = { id: "", kind: kind as InstallKind, label: "", bins: strList(raw.bins, `${f}.bins`) }
    for (const k of ["formula", "cask", "package", "module", "url"] as const) {
      const val = str(raw[k], `${f}.${k}`)
      if (val) spec[k] = val
    }
    if (raw.os !== undefined) spec.os = osList(raw.os, `${f}.os`)
    const target = spec.formula ?? spec.cask ?? spec.package ?? spec.module ?? spec.url
    if (!target) throw new SkillParseError(`'${f}' (${kind}) names nothing to install: give formula, package, module or url`)
    const n = (seen.get(kind) ?? 0) + 1
    seen.set(kind, n)
    spec.id = str(raw.id, `${f}.id`) ?? (n === 1 ? kind : `${kind}-${n}`)
    spec.label = str(raw.label, `${f}.label`) ?? `Install ${target} (${kind})`
    return spec
  })
}

/** The requirement fields, from the namespaced metadata object or from the flat frontmatter. */
function requirements(src: Obj, prefix: string): Requirements {
  const req = src.requires
  if (req !== undefined && !isObj(req)) throw new SkillParseError(`'${prefix}requires' must be an object {bins, anyBins, env, config}`)
  const r = (req ?? {}) as Obj
  return {
    bins: strList(r.bins, `${prefix}requires.bins`),
    anyBins: strList(r.anyBins, `${prefix}requires.anyBins`),
    env: strList(r.env, `${prefix}requires.env`),
    config: strList(r.config, `${prefix}requires.config`),
    os: osList(src.os ?? r.os, `${prefix}os`),
  }
}

/**
 * Parses one SKILL.md. `dirName` is the folder's name: the name falls back to it, as in OpenClaw.
 * Throws SkillParseError with a message that names the field.
 */
export function parseSkillMd(text: string, dirName: string): ParsedSkillFile {
  if (Buffer.byteLength(text) > MAX_SKILL_MD_BYTES) throw new SkillParseError(`SKILL.md is larger than ${MAX_SKILL_MD_BYTES / 1024} KB`)
  const { yaml, body } = splitFrontmatter(text)
  let fm: unknown
  try {
    fm = yamlParse()(yaml, { prettyErrors: true, maxAliasCount: 100 })
  } catch (err) {
    throw new SkillParseError(`invalid YAML frontmatter: ${(err as Error).message.split("\n")[0]}`)
  }
  if (fm === null || fm === undefined) fm = {}
  if (!isObj(fm)) throw new SkillParseError("the frontmatter must be a YAML mapping (key: value lines)")

  const name = str(fm.name, "name") ?? dirName
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name))
    throw new SkillParseError(`'name' must be 1-64 letters, digits, '.', '_' or '-' (got ${JSON.stringify(name)})`)
  const description = str(fm.description, "description")
  if (!description) throw new SkillParseError("'description' is required: one line saying when to use the skill")

  const metadata = metadataObject(fm.metadata)
  const nsKey = NAMESPACES.find((k) => isObj(metadata[k]))
  // Namespaced (OpenClaw), else flat inside metadata, else flat in the frontmatter itself.
  const flatInMeta = !nsKey && ["requires", "os", "install", "always", "primaryEnv", "skillKey"].some((k) => k in metadata)
  const src: Obj = nsKey ? (metadata[nsKey] as Obj) : flatInMeta ? metadata : fm
  const prefix = nsKey ? `metadata.${nsKey}.` : flatInMeta ? "metadata." : ""

  const dispatch = str(fm["command-dispatch"], "command-dispatch")
  if (dispatch !== undefined && dispatch !== "tool") throw new SkillParseError(`'command-dispatch' must be 'tool' (got ${JSON.stringify(dispatch)})`)
  const commandTool = str(fm["command-tool"], "command-tool")
  if (dispatch === "tool" && !commandTool) throw new SkillParseError("'command-dispatch: tool' needs 'command-tool' naming the tool")
  const commandArgs = fm["command-args"]
  if (commandArgs !== undefined && !isObj(commandArgs)) throw new SkillParseError("'command-args' must be an object of default tool arguments")

  const meta: SkillMeta = {
    name,
    description: description.replace(/\s+/g, " "),
    userInvocable: bool(fm["user-invocable"], "user-invocable", true),
    disableModelInvocation: bool(fm["disable-model-invocation"], "disable-model-invocation", false),
    always: bool(src.always, `${prefix}always`, false),
    requires: requirements(src, prefix),
    install: installSpecs(src.install, `${prefix}install`),
  }
  const homepage = str(fm.homepage ?? src.homepage, "homepage")
  if (homepage) meta.homepage = homepage
  if (dispatch === "tool") {
    meta.commandDispatch = "tool"
    meta.commandTool = commandTool
    const mode = str(fm["command-arg-mode"], "command-arg-mode")
    if (mode) meta.commandArgMode = mode
    if (commandArgs) meta.commandArgs = commandArgs as Obj
  }
  for (const [k, field] of [
    ["skillKey", "skillKey"],
    ["primaryEnv", "primaryEnv"],
    ["emoji", "emoji"],
  ] as const) {
    const v = str(src[k], `${prefix}${field}`)
    if (v) meta[k] = v
  }
  return { meta, body }
}
