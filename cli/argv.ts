/**
 * Command-line checking citty does not do: it ignores unknown flags (`gateway health --tokne x` would run with the
 * local token and exit 0), extra arguments and flags missing their value. This walks the same lazy command tree
 * citty runs, finds the command meant, and refuses what it would not understand with one line and a suggestion
 * (exit 2, a usage error). It also renders help with the full command name, plain when not on a terminal.
 */
import { type ArgDef, type ArgsDef, type CommandDef, renderUsage } from "citty"

// biome-ignore lint/suspicious/noExplicitAny: commands have their own argument types; the tree erases them
type AnyCommand = CommandDef<any>
type Resolvable<T> = T | (() => T) | (() => Promise<T>) | Promise<T>

/** A usage error: its message is the line printed after "gateway: ". */
export class UsageError extends Error {}

export interface Resolved {
  /** Root first, the command to run last; names as typed. */
  chain: { name: string; cmd: AnyCommand }[]
  /** --help or -h was given (before any `--`). */
  help: boolean
}

async function value<T>(v: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof v === "function" ? await (v as () => T | Promise<T>)() : await v
}

const HELP = new Set(["--help", "-h"])

/**
 * Finds the command `rawArgs` names and checks every flag and argument against it (flags written before a
 * subcommand belong to its parent, as in citty). Throws UsageError.
 */
export async function resolveCommand(root: AnyCommand, rawArgs: string[]): Promise<Resolved> {
  const end = rawArgs.indexOf("--")
  const help = (end < 0 ? rawArgs : rawArgs.slice(0, end)).some((a) => HELP.has(a))
  const rootName = (await value(root.meta))?.name ?? "gateway"
  const chain: Resolved["chain"] = [{ name: rootName, cmd: root }]
  const levels: { tokens: string[]; cmd: AnyCommand; path: string }[] = []
  let rest = rawArgs
  for (;;) {
    const cmd = chain.at(-1)!.cmd
    const path = chain.map((c) => c.name).join(" ")
    const subs = await value(cmd.subCommands as Resolvable<Record<string, Resolvable<AnyCommand>>> | undefined)
    if (!subs || Object.keys(subs).length === 0) {
      levels.push({ tokens: rest, cmd, path })
      break
    }
    const args = (await value(cmd.args as Resolvable<ArgsDef> | undefined)) ?? {}
    const at = subcommandIndex(rest, args)
    if (at < 0) {
      if (help) return { chain, help }
      levels.push({ tokens: rest, cmd, path })
      throw new UsageError(`'${path}' needs a command: ${Object.keys(subs).join(", ")} (see '${path} --help')`)
    }
    const name = rest[at]!
    const sub = Object.hasOwn(subs, name) ? await value(subs[name]) : undefined
    if (!sub) {
      const near = closest(name, Object.keys(subs))
      const where = path === rootName ? "" : ` for '${path}'`
      throw new UsageError(`unknown command '${name}'${where} (${near ? `did you mean '${near}'?` : `see '${path} --help'`})`)
    }
    levels.push({ tokens: rest.slice(0, at), cmd, path })
    chain.push({ name, cmd: sub })
    rest = rest.slice(at + 1)
  }
  if (help) return { chain, help }
  const leaf = levels.at(-1)!
  const leafArgs = (await value(leaf.cmd.args as Resolvable<ArgsDef> | undefined)) ?? {}
  for (const level of levels.slice(0, -1)) {
    const args = (await value(level.cmd.args as Resolvable<ArgsDef> | undefined)) ?? {}
    checkTokens(level.tokens, args, level.path, { positionals: false, leaf: { args: leafArgs, path: leaf.path } })
  }
  checkTokens(leaf.tokens, leafArgs, leaf.path, { positionals: true })
  return { chain, help }
}

/** Index of the first positional (a subcommand name), skipping flags and the values of value flags. */
function subcommandIndex(tokens: string[], args: ArgsDef): number {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    if (t === "--") return -1
    if (t.startsWith("-") && t !== "-") {
      const f = lookup(t.replace(/^--?/, "").split("=")[0]!, args)
      if (!t.includes("=") && f && takesValue(f.def)) i++
      continue
    }
    return i
  }
  return -1
}

function takesValue(def: ArgDef): boolean {
  return def.type === "string" || def.type === "enum"
}

const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase()
const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** The arg a flag name (without dashes) means: its name, kebab or camel spelling, or an alias. */
function lookup(flag: string, args: ArgsDef): { name: string; def: ArgDef } | undefined {
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") continue
    const alias = (def as { alias?: string | string[] }).alias
    const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias]
    if (flag === name || flag === kebab(name) || flag === camel(name) || aliases.includes(flag)) return { name, def }
  }
  return undefined
}

function checkTokens(tokens: string[], args: ArgsDef, path: string, o: { positionals: boolean; leaf?: { args: ArgsDef; path: string } }): void {
  const positionals: string[] = []
  const seen = new Set<string>()
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    if (t === "--") {
      positionals.push(...tokens.slice(i + 1))
      break
    }
    if (!t.startsWith("-") || t === "-" || /^-\d/.test(t)) {
      positionals.push(t)
      continue
    }
    const [flag, inline] = splitFlag(t)
    let hit = lookup(flag, args)
    if (!hit && flag.startsWith("no-")) {
      const positive = lookup(flag.slice(3), args)
      if (positive?.def.type === "boolean") hit = positive
    }
    if (!hit) {
      if (o.leaf && (lookup(flag, o.leaf.args) || (flag.startsWith("no-") && lookup(flag.slice(3), o.leaf.args))))
        throw new UsageError(`unknown option '${t.split("=")[0]}' for '${path}' (options go after the command: '${o.leaf.path} ${t}')`)
      const names = Object.entries(args)
        .filter(([, d]) => d.type !== "positional")
        .map(([n]) => `--${kebab(n)}`)
      const near = closest(`--${flag}`, names)
      throw new UsageError(`unknown option '${t.split("=")[0]}' for '${path}' (${near ? `did you mean '${near}'?` : `see '${path} --help'`})`)
    }
    seen.add(hit.name)
    if (takesValue(hit.def) && inline === undefined) {
      const next = tokens[i + 1]
      if (next === undefined || (next.startsWith("--") && next.length > 2)) throw new UsageError(`option '--${kebab(hit.name)}' needs a value`)
      i++
    }
  }
  if (!o.positionals) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}' for '${path}'`)
    return
  }
  const defs = Object.entries(args).filter(([, d]) => d.type === "positional")
  if (positionals.length > defs.length) throw new UsageError(`unexpected argument '${positionals[defs.length]}' for '${path}'`)
  for (const [i, [name, def]] of defs.entries()) {
    if (positionals[i] === undefined && def.required !== false && def.default === undefined)
      throw new UsageError(`missing argument ${name.toUpperCase()} for '${path}'`)
  }
  for (const [name, def] of Object.entries(args)) {
    if (def.type !== "positional" && def.required === true && def.default === undefined && !seen.has(name))
      throw new UsageError(`missing option --${kebab(name)} for '${path}'`)
  }
}

function splitFlag(token: string): [string, string | undefined] {
  const body = token.replace(/^--?/, "")
  const eq = body.indexOf("=")
  return eq < 0 ? [body, undefined] : [body.slice(0, eq), body.slice(eq + 1)]
}

/** The candidate nearest to `word` by edit distance, if it is near enough to be a typo. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const c of candidates) {
    const d = distance(word, c)
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  const bare = word.replace(/^-+/, "")
  return bestDistance <= Math.max(2, Math.floor(bare.length / 3)) ? best : undefined
}

/** Damerau-Levenshtein (optimal string alignment): a swapped pair of letters ("tokne") costs one. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}

/**
 * Help for the last command of `chain`, named in full ("gateway config get", where citty says "config get"). Colour
 * only on a terminal and without NO_COLOR: piped help is read by scripts and pagers.
 */
export async function renderHelp(chain: Resolved["chain"], color: boolean): Promise<string> {
  const leaf = chain.at(-1)!.cmd
  const rootMeta = await value(chain[0]!.cmd.meta)
  const parent =
    chain.length > 1
      ? ({
          meta: {
            name: chain
              .slice(0, -1)
              .map((c) => c.name)
              .join(" "),
            version: rootMeta?.version,
          },
        } as AnyCommand)
      : undefined
  const text = await renderUsage(leaf, parent)
  return color ? text : text.replace(/\x1b\[[0-9;]*m/g, "")
}
