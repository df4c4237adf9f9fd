/**
 * What an allowlist entry does not allow: per program, the switches that make it run another command, run code it is
 * handed inline, read its program from somewhere the policy cannot see, or touch files its arguments do not name
 * (sed's `e`, git's -c and aliases, find -exec, awk's system(), sh -c, tar --to-command, ssh -o ProxyCommand, …), and
 * the programs refused whatever their arguments (xargs, env, sudo, make, pagers, editors). The table is data; the
 * readers for sed scripts, awk programs and git's arguments live in their own modules.
 *
 * Refusals only ever widen: an unknown switch passes unless the program's positional meaning depends on it (sed, awk,
 * git), where an option the table does not know is refused because the policy could not tell which word is the code.
 */
import { awkProgramFinding } from "./awk-program.ts"
import { checkGitArgs } from "./git-args.ts"
import { sedScriptFinding } from "./sed-script.ts"

export interface Refusal {
  /** The program as written. */
  program: string
  /** The switch as the refusal names it: "-c", "--upload-pack", "-exec", "the `e` command". */
  switch: string
  why: string
}

export interface ArgsVerdict {
  refusal?: Refusal
  /** Indexes into the arguments of words that are code or patterns (a sed script), not file names. */
  notPaths: Set<number>
  /** For git: the global options that choose the repository. */
  gitRepoArgs?: string[]
}

type Finding = { switch: string; why: string }
type Inspection = { finding?: Finding; notPaths?: number[]; gitRepoArgs?: string[] }

interface Rule {
  /** Refused whatever the arguments, with why. */
  refuse?: string
  /** Getopt-style switches: "-x" (also inside a cluster such as -vx) and "--long" (also --long=v and abbreviations). */
  switches?: Record<string, string>
  /** Whole words refused anywhere (find's -exec, deno's eval). */
  words?: Record<string, string>
  /** The first argument, when it has no dash, is a cluster of short options (tar xvf). */
  bundledFirst?: boolean
  /** A closer look at the arguments. */
  inspect?(args: string[]): Inspection | undefined
}

// ---- option parsing for the programs whose positional words matter ----

interface OptSpec {
  /** Short options taking a value, attached (-ep) or as the next word (-e p). */
  values?: string
  /** Short options whose value, if any, is attached (-i.bak). */
  optional?: string
  /** Short flags. */
  flags?: string
  /** Long options taking a value (--x=v or --x v); long options whose value can only follow "="; long flags. */
  longValues?: string[]
  longOptional?: string[]
  longFlags?: string[]
  /** Refuse letters and long names the spec does not know (the program's operands would be misread). */
  strict?: boolean
  /** Options end at the first operand (an interpreter: the rest belongs to the script). */
  stopAtOperand?: boolean
}

interface Opt {
  name: string
  value?: string
  /** Index of the word the option is in. */
  index: number
  /** Index of the value when it was the next word. */
  valueIndex?: number
}

/** The words an option's value occupies (its own word when attached, the next one otherwise). */
function valueWords(o: Opt): number[] {
  return o.valueIndex === undefined ? (o.value !== undefined ? [o.index] : []) : [o.valueIndex]
}

interface Parsed {
  opts: Opt[]
  operands: { text: string; index: number }[]
  unknown?: string
}

function resolveLong(name: string, spec: OptSpec): string | undefined {
  const all = [...(spec.longValues ?? []), ...(spec.longOptional ?? []), ...(spec.longFlags ?? [])]
  if (all.includes(name)) return name
  const matches = all.filter((l) => l.startsWith(name))
  return matches.length === 1 ? matches[0] : undefined
}

function parseOptions(args: string[], spec: OptSpec): Parsed {
  const res: Parsed = { opts: [], operands: [] }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === "--") {
      for (let j = i + 1; j < args.length; j++) res.operands.push({ text: args[j]!, index: j })
      break
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=")
      const given = eq === -1 ? a : a.slice(0, eq)
      const name = resolveLong(given, spec)
      if (!name) {
        if (spec.strict) return { ...res, unknown: given }
        res.opts.push({ name: given, value: eq === -1 ? undefined : a.slice(eq + 1), index: i })
        continue
      }
      if (eq !== -1) res.opts.push({ name, value: a.slice(eq + 1), index: i })
      else if (spec.longValues?.includes(name)) {
        res.opts.push({ name, value: args[i + 1], index: i, valueIndex: i + 1 })
        i++
      } else res.opts.push({ name, index: i })
      continue
    }
    if (a.startsWith("-") && a.length > 1) {
      for (let k = 1; k < a.length; k++) {
        const ch = a[k]!
        const rest = a.slice(k + 1)
        if (spec.values?.includes(ch)) {
          if (rest) res.opts.push({ name: `-${ch}`, value: rest, index: i })
          else {
            res.opts.push({ name: `-${ch}`, value: args[i + 1], index: i, valueIndex: i + 1 })
            i++
          }
          break
        }
        if (spec.optional?.includes(ch)) {
          res.opts.push({ name: `-${ch}`, value: rest || undefined, index: i })
          break
        }
        if (spec.strict && !spec.flags?.includes(ch)) return { ...res, unknown: `-${ch}` }
        res.opts.push({ name: `-${ch}`, index: i })
      }
      continue
    }
    res.operands.push({ text: a, index: i })
    if (spec.stopAtOperand) {
      for (let j = i + 1; j < args.length; j++) res.operands.push({ text: args[j]!, index: j })
      break
    }
  }
  return res
}

const unknownOption = (program: string, opt: string): Finding => ({
  switch: opt,
  why: `is an option the exec policy does not know for ${program}, so it cannot tell which argument is the ${program === "sed" ? "script" : "program"}`,
})

// ---- sed, awk, grep: which word is code ----

const SED: OptSpec = {
  values: "efl",
  optional: "i",
  flags: "nrEsuzb",
  longValues: ["--expression", "--file", "--line-length"],
  longOptional: ["--in-place"],
  longFlags: [
    "--quiet",
    "--silent",
    "--debug",
    "--sandbox",
    "--posix",
    "--follow-symlinks",
    "--null-data",
    "--zero-terminated",
    "--separate",
    "--unbuffered",
    "--regexp-extended",
    "--binary",
    "--help",
    "--version",
  ],
  strict: true,
}

function inspectSed(args: string[]): Inspection {
  const p = parseOptions(args, SED)
  if (p.unknown) return { finding: unknownOption("sed", p.unknown) }
  const file = p.opts.find((o) => o.name === "-f" || o.name === "--file")
  if (file) return { finding: { switch: file.name, why: "reads the script from a file the exec policy cannot check" } }
  const scripts = p.opts.filter((o) => o.name === "-e" || o.name === "--expression")
  const notPaths = scripts.flatMap(valueWords)
  // sed joins -e fragments with newlines: check the script sed will compile, not the pieces.
  let script: string
  if (scripts.length) script = scripts.map((o) => o.value ?? "").join("\n")
  else {
    const first = p.operands[0]
    if (!first) return { notPaths }
    script = first.text
    notPaths.push(first.index)
  }
  return { finding: sedScriptFinding(script), notPaths }
}

const AWK: OptSpec = {
  values: "fvFeEilW",
  optional: "opdDL",
  flags: "bcCghMNnOPrsStVy",
  longValues: ["--file", "--assign", "--field-separator", "--source", "--exec", "--include", "--load"],
  longOptional: ["--lint", "--pretty-print", "--profile", "--dump-variables", "--debug"],
  longFlags: [
    "--characters-as-bytes",
    "--traditional",
    "--copyright",
    "--gen-pot",
    "--help",
    "--bignum",
    "--use-lc-numeric",
    "--non-decimal-data",
    "--optimize",
    "--posix",
    "--re-interval",
    "--no-optimize",
    "--sandbox",
    "--lint-old",
    "--version",
    "--csv",
  ],
  strict: true,
}

const AWK_REFUSED: Record<string, string> = {
  "-f": "reads the program from a file the exec policy cannot check",
  "--file": "reads the program from a file the exec policy cannot check",
  "-E": "reads the program from a file the exec policy cannot check",
  "--exec": "reads the program from a file the exec policy cannot check",
  "-i": "includes awk source from a file the exec policy cannot check",
  "--include": "includes awk source from a file the exec policy cannot check",
  "-l": "loads a shared library (native code)",
  "--load": "loads a shared library (native code)",
  "-D": "starts the debugger, which reads commands from stdin",
  "--debug": "starts the debugger, which reads commands from stdin",
  "-W": "passes implementation options (mawk's -W exec reads the program from a file)",
}

function inspectAwk(args: string[]): Inspection {
  const p = parseOptions(args, AWK)
  if (p.unknown) return { finding: unknownOption("awk", p.unknown) }
  const refused = p.opts.find((o) => AWK_REFUSED[o.name])
  if (refused) return { finding: { switch: refused.name, why: AWK_REFUSED[refused.name]! } }
  // Values of -v, -F and --source are data or code, never file names.
  const notPaths = p.opts.filter((o) => ["-v", "-F", "-e", "--assign", "--field-separator", "--source"].includes(o.name)).flatMap(valueWords)
  const sources = p.opts.filter((o) => o.name === "-e" || o.name === "--source").map((o) => o.value ?? "")
  if (!sources.length) {
    const first = p.operands[0]
    if (first) {
      sources.push(first.text)
      notPaths.push(first.index)
    }
  }
  for (const src of sources) {
    const finding = awkProgramFinding(src)
    if (finding) return { finding, notPaths }
  }
  return { notPaths }
}

/** grep-like programs: the pattern (first operand without -e/-f, or -e values) is not a file name. */
function patternOperand(spec: OptSpec) {
  return (args: string[]): Inspection => {
    const p = parseOptions(args, spec)
    const notPaths = p.opts.filter((o) => o.name === "-e" || o.name === "--regexp").flatMap(valueWords)
    const explicit = p.opts.some((o) => ["-e", "-f", "--regexp", "--file"].includes(o.name))
    if (!explicit && p.operands[0]) notPaths.push(p.operands[0].index)
    return { notPaths }
  }
}

const GREP: OptSpec = {
  values: "efmABCdD",
  longValues: [
    "--regexp",
    "--file",
    "--max-count",
    "--after-context",
    "--before-context",
    "--context",
    "--directories",
    "--devices",
    "--label",
    "--include",
    "--exclude",
    "--exclude-dir",
    "--exclude-from",
    "--group-separator",
  ],
}
const RG: OptSpec = {
  values: "efgtTmABCjMErd",
  longValues: [
    "--regexp",
    "--file",
    "--glob",
    "--iglob",
    "--type",
    "--type-not",
    "--max-count",
    "--after-context",
    "--before-context",
    "--context",
    "--threads",
    "--max-columns",
    "--encoding",
    "--replace",
    "--max-depth",
    "--type-add",
    "--sort",
    "--sortr",
  ],
}

// ---- interpreters: inline code and programs from stdin ----

interface Interpreter {
  spec: OptSpec
  /** Options that name the program (python -m) instead of a script operand. */
  programOptions?: string[]
  /** Options that only print something (no program is read). */
  info: string[]
}

/** An interpreter with no script operand reads its program from stdin, which `process write` can feed: inline code too. */
function inspectInterpreter(it: Interpreter) {
  return (args: string[]): Inspection | undefined => {
    const p = parseOptions(args, { ...it.spec, stopAtOperand: true })
    if (p.opts.some((o) => it.info.includes(o.name) || it.programOptions?.includes(o.name))) return undefined
    const first = p.operands[0]
    if (!first || first.text === "-")
      return { finding: { switch: "a program from stdin", why: "reads its program from stdin, where the process tool can write any code" } }
    return undefined
  }
}

const SHELL: Rule = {
  switches: {
    "-c": "runs the command string it is given",
    "-s": "reads commands from stdin",
    "-i": "runs interactively, reading commands from stdin",
    "--rcfile": "runs a startup file",
    "--init-file": "runs a startup file",
  },
  inspect: inspectInterpreter({ spec: { values: "oO", longValues: ["--rcfile", "--init-file"] }, info: ["--version", "--help"] }),
}

const PYTHON: Rule = {
  switches: { "-c": "runs the code it is given", "-i": "drops into a prompt that reads code from stdin" },
  inspect: inspectInterpreter({
    spec: { values: "cmWXQ", longValues: ["--check-hash-based-pycs"] },
    programOptions: ["-m"],
    info: ["-V", "--version", "-h", "--help"],
  }),
}

const NODE: Rule = {
  switches: {
    "-e": "runs the code it is given",
    "--eval": "runs the code it is given",
    "-p": "runs the code it is given and prints the result",
    "--print": "runs the code it is given and prints the result",
    "-i": "runs a prompt that reads code from stdin",
    "--interactive": "runs a prompt that reads code from stdin",
    "--import": "loads a module before the script (a data: URL is inline code)",
    "--loader": "loads a module loader (a data: URL is inline code)",
    "--experimental-loader": "loads a module loader (a data: URL is inline code)",
    "--env-file": "reads variables from a file, NODE_OPTIONS included",
  },
  inspect: inspectInterpreter({
    spec: {
      values: "erpC",
      longValues: ["--require", "--import", "--loader", "--experimental-loader", "--conditions", "--input-type", "--title", "--env-file", "--eval", "--print"],
    },
    info: ["-v", "--version", "-h", "--help"],
  }),
}

const PERL: Rule = {
  switches: {
    "-e": "runs the code it is given",
    "-E": "runs the code it is given",
    "-M": "its import list is code perl runs",
    "-m": "its import list is code perl runs",
    "-d": "loads a debugger module",
  },
  inspect: inspectInterpreter({ spec: { values: "eEIMm" }, info: ["-v", "-V", "--version", "-h", "--help"] }),
}

const RUBY: Rule = {
  switches: { "-e": "runs the code it is given" },
  inspect: inspectInterpreter({ spec: { values: "eIrCE" }, info: ["-v", "--version", "-h", "--help"] }),
}

const PHP: Rule = {
  switches: {
    "-r": "runs the code it is given",
    "-B": "runs the code it is given before the input",
    "-R": "runs the code it is given for every input line",
    "-E": "runs the code it is given after the input",
    "-F": "runs a file for every input line",
    "-a": "runs a prompt that reads code from stdin",
    "-d": "sets ini values such as auto_prepend_file",
    "-z": "loads a Zend extension (native code)",
    "-S": "starts a web server",
  },
  inspect: inspectInterpreter({ spec: { values: "rBREFdczSt" }, info: ["-v", "--version", "-h", "--help", "-i", "-m"] }),
}

const LUA: Rule = {
  switches: { "-e": "runs the code it is given", "-l": "loads a library", "-i": "runs a prompt that reads code from stdin" },
  inspect: inspectInterpreter({ spec: { values: "el" }, info: ["-v"] }),
}

// ---- ssh and friends: options that run local programs ----

const SSH_OPTIONS: Record<string, string> = {
  proxycommand: "ProxyCommand",
  localcommand: "LocalCommand",
  permitlocalcommand: "PermitLocalCommand",
  knownhostscommand: "KnownHostsCommand",
  include: "Include",
  pkcs11provider: "PKCS11Provider",
  securitykeyprovider: "SecurityKeyProvider",
  xauthlocation: "XAuthLocation",
  proxyusefdpass: "ProxyUseFdpass",
  match: "Match",
}

/** ssh's -o: refused for the options that run a local program or load code. */
function inspectSshOptions(args: string[]): Inspection | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === "--") break
    if (!a.startsWith("-") || a.startsWith("--")) continue
    const o = a.indexOf("o", 1)
    if (o === -1) continue
    const value = o === a.length - 1 ? (args[i + 1] ?? "") : a.slice(o + 1)
    const key = value.trim().split(/[=\s]/)[0]!.toLowerCase()
    const name = SSH_OPTIONS[key]
    if (name) return { finding: { switch: `-o ${name}`, why: "runs a local command or loads code" } }
  }
  return undefined
}

const SSH_CONFIG_FILE = "reads a config file, which can name a ProxyCommand or LocalCommand"

// ---- the table ----

const RUNS_PROGRAMS = "runs other programs, so allowing it would allow everything"
const PAGER = "is an interactive pager: its shell escapes (!) and LESSOPEN-style hooks run commands"
const EDITOR = "is an interactive editor: its shell escapes (:!cmd) and startup commands run commands"

const RULES: Record<string, Rule> = {
  sed: { inspect: inspectSed },
  awk: { inspect: inspectAwk },
  git: {
    inspect: (args) => {
      const v = checkGitArgs(args)
      return { finding: v.refusal, gitRepoArgs: v.repoArgs }
    },
  },
  find: {
    words: {
      "-exec": "runs a command for each file",
      "-execdir": "runs a command for each file",
      "-ok": "runs a command for each file",
      "-okdir": "runs a command for each file",
      "-delete": "deletes whatever matches, wherever it is",
      "-fprint": "writes a file the arguments do not name as a path",
      "-fprint0": "writes a file the arguments do not name as a path",
      "-fprintf": "writes a file the arguments do not name as a path",
      "-fls": "writes a file the arguments do not name as a path",
      "-files0-from": "reads the starting points from a file",
      "-L": "follows symbolic links out of the allowed directories",
      "-follow": "follows symbolic links out of the allowed directories",
    },
  },
  fd: {
    switches: {
      "-x": "runs a command for each match",
      "--exec": "runs a command for each match",
      "-X": "runs a command with the matches",
      "--exec-batch": "runs a command with the matches",
    },
  },
  grep: { inspect: patternOperand(GREP) },
  rg: { switches: { "--pre": "runs a preprocessor program on every file" }, inspect: patternOperand(RG) },
  sort: { switches: { "--compress-program": "runs a compression program" } },
  split: { switches: { "--filter": "runs a shell command for every piece" } },
  tar: {
    bundledFirst: true,
    switches: {
      "--to-command": "pipes each extracted file into a command",
      "--use-compress-program": "runs a program to (de)compress",
      "-I": "runs a program to (de)compress (--use-compress-program)",
      "--checkpoint-action": "runs a command at checkpoints",
      "--info-script": "runs a script at the end of each volume",
      "--new-volume-script": "runs a script at the end of each volume",
      "-F": "runs a script at the end of each volume (--info-script)",
      "--rsh-command": "names the remote shell program",
      "--rmt-command": "names the remote tape program",
      "--files-from": "reads the names to archive from a file (they may be outside the allowed directories)",
      "-T": "reads the names to archive from a file (--files-from)",
      "--absolute-names": "archives and extracts absolute paths, outside the allowed directories",
      "-P": "archives and extracts absolute paths (--absolute-names)",
    },
  },
  rsync: {
    switches: {
      "-e": "names the remote shell program (--rsh)",
      "--rsh": "names the remote shell program",
      "--rsync-path": "names the program run on the other side",
      "-M": "passes options to the other side",
      "--remote-option": "passes options to the other side",
      "--daemon": "runs the rsync daemon",
      "--config": "reads a daemon config file",
      "--files-from": "reads the names to copy from a file (they may be outside the allowed directories)",
      "-L": "copies what symbolic links point to, wherever that is",
      "--copy-links": "copies what symbolic links point to, wherever that is",
      "--copy-unsafe-links": "copies what symbolic links point to outside the tree",
      "-k": "copies what symbolic links to directories point to (--copy-dirlinks)",
      "--copy-dirlinks": "copies what symbolic links to directories point to",
    },
  },
  ssh: { switches: { "-F": SSH_CONFIG_FILE, "-I": "loads a PKCS#11 library (native code)" }, inspect: inspectSshOptions },
  scp: { switches: { "-F": SSH_CONFIG_FILE, "-S": "names the program used instead of ssh" }, inspect: inspectSshOptions },
  sftp: {
    switches: { "-F": SSH_CONFIG_FILE, "-S": "names the program used instead of ssh", "-D": "runs a local sftp server program" },
    inspect: inspectSshOptions,
  },
  zip: {
    switches: {
      "-T": "tests the archive by running unzip, or the command -TT names",
      "--test": "tests the archive by running unzip, or the command -TT names",
      "--unzip-command": "names the command run to test the archive",
      "-@": "reads the names to archive from stdin (they may be outside the allowed directories)",
      "--names-stdin": "reads the names to archive from stdin",
    },
  },
  curl: {
    switches: { "-K": "reads options (output files included) from a config file", "--config": "reads options (output files included) from a config file" },
  },
  wget: {
    switches: {
      "-e": "runs wgetrc commands (which can write anywhere)",
      "--execute": "runs wgetrc commands (which can write anywhere)",
      "--config": "reads a wgetrc file",
      "--use-askpass": "runs a password program",
    },
  },
  sh: SHELL,
  python: PYTHON,
  node: NODE,
  perl: PERL,
  ruby: RUBY,
  php: PHP,
  lua: LUA,
  fish: {
    switches: {
      "-c": "runs the command string it is given",
      "--command": "runs the command string it is given",
      "-C": "runs the command string it is given first",
      "--init-command": "runs the command string it is given first",
      "-i": "runs interactively, reading commands from stdin",
      "--interactive": "runs interactively, reading commands from stdin",
    },
    inspect: inspectInterpreter({ spec: { values: "cCdDo", longValues: ["--command", "--init-command"] }, info: ["-v", "--version", "-h", "--help"] }),
  },
  bun: {
    switches: {
      "-e": "runs the code it is given",
      "--eval": "runs the code it is given",
      "-p": "runs the code it is given and prints the result",
      "--print": "runs the code it is given and prints the result",
    },
    words: {
      exec: "runs a shell command",
      x: "downloads and runs a package",
      repl: "runs a prompt that reads code from stdin",
      create: "runs a template's setup code",
    },
  },
  deno: {
    words: {
      eval: "runs the code it is given",
      repl: "runs a prompt that reads code from stdin",
      task: "runs shell commands from deno.json",
      jupyter: "runs a kernel",
    },
    inspect: (args) => (args.length ? undefined : { finding: { switch: "a program from stdin", why: "starts a prompt that reads code from stdin" } }),
  },
  make: { refuse: "runs whatever recipes the Makefile holds, and the agent can write the Makefile" },
  ninja: { refuse: "runs whatever commands build.ninja holds, and the agent can write it" },
  less: { refuse: PAGER },
  more: { refuse: PAGER },
  most: { refuse: PAGER },
  pg: { refuse: PAGER },
  man: { refuse: "runs a pager and preprocessors (MANPAGER, LESSOPEN), with shell escapes" },
  vim: { refuse: EDITOR },
  vi: { refuse: EDITOR },
  nvim: { refuse: EDITOR },
  view: { refuse: EDITOR },
  ex: { refuse: EDITOR },
  vimdiff: { refuse: EDITOR },
  emacs: { refuse: EDITOR },
  nano: { refuse: EDITOR },
  ed: { refuse: "reads commands from stdin, and `!` runs a shell command" },
  sqlite3: { refuse: "its dot-commands (.shell, .system) and load_extension() run programs, also from stdin" },
  busybox: { refuse: "contains a shell and every other applet" },
  docker: { refuse: "controls containers that can mount the host" },
  podman: { refuse: "controls containers that can mount the host" },
  npx: { refuse: "downloads and runs packages" },
  bunx: { refuse: "downloads and runs packages" },
  pnpx: { refuse: "downloads and runs packages" },
  "xdg-open": { refuse: "starts whatever program handles the file" },
  open: { refuse: "starts whatever program handles the file" },
}

for (const name of [
  "xargs",
  "env",
  "nice",
  "timeout",
  "nohup",
  "sudo",
  "doas",
  "command",
  "exec",
  "eval",
  "source",
  ".",
  "builtin",
  "stdbuf",
  "ionice",
  "chroot",
  "setsid",
  "flock",
  "chrt",
  "taskset",
  "runuser",
  "su",
  "pkexec",
  "unshare",
  "nsenter",
  "strace",
  "ltrace",
  "gdb",
  "lldb",
  "time",
  "watch",
  "parallel",
  "script",
  "expect",
  "unbuffer",
  "systemd-run",
  "crontab",
  "at",
  "batch",
  "tmux",
  "screen",
  "dtach",
]) {
  RULES[name] = { refuse: RUNS_PROGRAMS }
}

/** The table entry for a program name: versions and variants fold onto one rule (python3.12, gawk, vim.basic). */
function ruleKey(name: string): string {
  if (/^(sh|bash|dash|zsh|ksh|mksh|ash|yash|posh|csh|tcsh|rbash)$/.test(name)) return "sh"
  if (/^(g|m|n|busybox-)?awk$/.test(name)) return "awk"
  if (/^(python|pypy)[0-9.]*$/.test(name)) return "python"
  if (/^nodejs$|^node[0-9.]*$/.test(name)) return "node"
  if (/^(perl|ruby|php|lua|luajit)[0-9.]*$/.test(name)) return name.replace(/[0-9.]+$/, "").replace(/^luajit$/, "lua")
  if (/^(vim|vi|nvim)\.[a-z]+$/.test(name)) return "vim"
  if (/^(egrep|fgrep)$/.test(name)) return "grep"
  if (name === "fdfind") return "fd"
  if (name === "gmake" || name === "bmake") return "make"
  return name
}

function matchSwitch(arg: string, switches: Record<string, string>): Finding | undefined {
  if (arg.startsWith("--")) {
    const name = arg.slice(2).split("=")[0]!
    if (!name) return undefined
    for (const [sw, why] of Object.entries(switches)) if (sw.startsWith("--") && sw.slice(2).startsWith(name)) return { switch: sw, why }
    return undefined
  }
  if (arg.startsWith("-") && arg.length > 1) {
    // A letter anywhere in a cluster counts, even where it may be an attached value: refusing more is safe.
    for (const [sw, why] of Object.entries(switches)) if (/^-[^-]$/.test(sw) && arg.slice(1).includes(sw[1]!)) return { switch: sw, why }
  }
  return undefined
}

function applyRule(rule: Rule, args: string[]): Inspection | undefined {
  if (rule.refuse) return { finding: { switch: "", why: rule.refuse } }
  if (rule.switches) {
    for (const [i, a] of args.entries()) {
      if (a === "--") break
      const hit = matchSwitch(i === 0 && rule.bundledFirst && !a.startsWith("-") ? `-${a}` : a, rule.switches)
      if (hit) return { finding: hit }
    }
  }
  if (rule.words) {
    for (const a of args) {
      const why = rule.words[a]
      if (why) return { finding: { switch: a, why } }
    }
  }
  return rule.inspect?.(args)
}

/**
 * Checks an allowlisted program's arguments. `names` are the program as written and, when different, the name of
 * the file it resolves to (an allowlisted `vi` that is vim, an `awk` that is gawk): the rules of each apply.
 */
export function checkProgramArgs(names: string[], args: string[]): ArgsVerdict {
  const program = names[0]!
  const verdict: ArgsVerdict = { notPaths: new Set() }
  const keys = [...new Set(names.map((n) => ruleKey(n)))]
  for (const key of keys) {
    const rule = RULES[key]
    if (!rule) continue
    const r = applyRule(rule, args)
    for (const i of r?.notPaths ?? []) verdict.notPaths.add(i)
    if (r?.gitRepoArgs) verdict.gitRepoArgs = r.gitRepoArgs
    if (r?.finding) {
      verdict.refusal = { program, switch: r.finding.switch, why: r.finding.why }
      return verdict
    }
  }
  return verdict
}

/** Whether the rules apply git's repository checks to this program. */
export function isGit(names: string[]): boolean {
  return names.some((n) => ruleKey(n) === "git")
}

/** The refusal as one sentence for the model. */
export function describeRefusal(r: Refusal): string {
  return r.switch ? `${r.program}: ${r.switch} is refused (it ${r.why})` : `${r.program} is refused (it ${r.why})`
}
