/**
 * git's arguments under the allowlist: global options that set configuration or the programs git runs are refused,
 * the subcommand must be a built-in from a known list (so `git <alias>` and git-<name> programs on PATH never run,
 * and neither do the commands whose job is running commands: difftool, filter-branch, …), and per subcommand the
 * switches that name a program (fetch --upload-pack, rebase --exec, submodule foreach, …) are refused.
 */

export interface GitVerdict {
  refusal?: { switch: string; why: string }
  /** Global options that choose the repository, for git-repo.ts to look at the same one. */
  repoArgs: string[]
}

/** Global options taking a value (as the next word, or after "=" for the long ones). */
const GLOBAL_WITH_VALUE = new Set(["-C", "-c", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--config-env", "--attr-source"])
const GLOBAL_FLAGS = new Set([
  "-P",
  "--no-pager",
  "--bare",
  "--no-replace-objects",
  "--literal-pathspecs",
  "--glob-pathspecs",
  "--noglob-pathspecs",
  "--icase-pathspecs",
  "--no-optional-locks",
  "--no-advice",
  "--html-path",
  "--man-path",
  "--info-path",
  "--version",
  "-v",
  "--help",
  "-h",
])
const REFUSED_GLOBAL: Record<string, string> = {
  "-c": "sets any configuration on the command line, including aliases and hooks that run commands",
  "--config-env": "sets configuration from an environment variable, including settings that run commands",
  "--exec-path": "changes where git looks for the programs it runs",
  "-p": "pipes output through a pager (a program configuration chooses)",
  "--paginate": "pipes output through a pager (a program configuration chooses)",
  "--list-cmds": "lists commands, aliases included (not needed by an agent)",
}
const REPO_OPTIONS = new Set(["-C", "--git-dir", "--work-tree", "--bare"])

/** Built-in subcommands that run no program of the caller's choosing once their refused switches are out. */
const SUBCOMMANDS = new Set(
  `add am annotate apply archive bisect blame branch bundle cat-file check-attr check-ignore check-mailmap checkout
  checkout-index cherry cherry-pick clean clone commit commit-graph commit-tree config count-objects describe diff
  diff-files diff-index diff-tree fetch for-each-ref format-patch fsck gc grep hash-object init log ls-files ls-remote
  ls-tree merge merge-base merge-file merge-tree mktag mktree mv name-rev notes pull push range-diff read-tree rebase
  reflog remote repack replace rerere reset restore rev-list rev-parse revert rm shortlog show show-branch show-ref
  sparse-checkout stash status stripspace submodule switch symbolic-ref tag update-index update-ref var verify-commit
  verify-pack verify-tag version whatchanged worktree write-tree`.split(/\s+/),
)

/** Built-ins that exist to run other programs, with why (named so the refusal says more than "unknown"). */
const REFUSED_SUBCOMMANDS: Record<string, string> = {
  difftool: "runs a diff tool program",
  mergetool: "runs a merge tool program",
  "filter-branch": "runs shell commands on every commit",
  "filter-repo": "runs Python callbacks",
  instaweb: "starts a web server program",
  "web--browse": "starts a browser program",
  help: "may start a browser or pager program",
  "send-email": "runs an SMTP program",
  "imap-send": "runs an IMAP tunnel command",
  daemon: "serves repositories to the network",
  "upload-pack": "is a server program",
  "receive-pack": "is a server program (runs hooks)",
  shell: "is a restricted login shell",
  "credential-store": "handles credentials",
  "credential-cache": "handles credentials",
  credential: "runs credential helpers",
  "fsmonitor--daemon": "runs a file system monitor",
  maintenance: "schedules background jobs with cron or systemd",
  "remote-ext": "runs a command as a transport",
  "remote-fd": "is a transport helper",
  p4: "runs Perforce programs",
  svn: "runs Subversion programs",
  cvsimport: "runs CVS programs",
  cvsserver: "is a server program",
  cvsexportcommit: "runs CVS programs",
  archimport: "runs GNU Arch programs",
  quiltimport: "runs patch programs",
  "request-pull": "runs other git programs by name",
  gui: "starts a graphical program",
  citool: "starts a graphical program",
}

/** Per subcommand: switches that name a program to run or a script, or hand configuration to a new repository. */
const SUBCOMMAND_SWITCHES: Record<string, Record<string, string>> = {
  clone: {
    "--upload-pack": "names the program run to serve the clone",
    "-u": "names the program run to serve the clone (--upload-pack)",
    "--config": "sets configuration (hooks, aliases, drivers) in the new repository",
    "-c": "sets configuration (hooks, aliases, drivers) in the new repository (--config)",
    "--template": "copies hooks and config from a template directory",
  },
  fetch: { "--upload-pack": "names the program run to serve the fetch" },
  pull: { "--upload-pack": "names the program run to serve the fetch", "--exec": "names the program run to serve the fetch" },
  "ls-remote": { "--upload-pack": "names the program run to answer", "-u": "names the program run to answer", "--exec": "names the program run to answer" },
  push: { "--receive-pack": "names the program run to receive the push", "--exec": "names the program run to receive the push" },
  archive: { "--exec": "names the program run to make the archive", "--remote": "asks a remote (whose program --exec names) for the archive" },
  rebase: { "--exec": "runs a shell command after each commit", "-x": "runs a shell command after each commit (--exec)" },
  grep: {
    "--open-files-in-pager": "opens the matches in a pager program",
    "-O": "opens the matches in a pager program (--open-files-in-pager)",
    "--ext-grep": "runs an external grep",
  },
  init: { "--template": "copies hooks and config from a template directory" },
  submodule: { foreach: "runs a shell command in each submodule" },
  bisect: { run: "runs a command to judge each commit" },
  worktree: {},
  "cat-file": {},
}

function matchSwitch(arg: string, table: Record<string, string>): { switch: string; why: string } | undefined {
  if (arg.startsWith("--")) {
    const name = arg.slice(2).split("=")[0]!
    if (!name) return undefined
    // getopt-style parsers accept unique abbreviations (--upload = --upload-pack).
    for (const [sw, why] of Object.entries(table)) if (sw.startsWith("--") && sw.slice(2).startsWith(name)) return { switch: sw, why }
    return undefined
  }
  if (arg.startsWith("-") && arg.length > 1) {
    for (const [sw, why] of Object.entries(table)) if (/^-[A-Za-z]$/.test(sw) && arg.slice(1).includes(sw[1]!)) return { switch: sw, why }
    return undefined
  }
  const why = table[arg]
  return why ? { switch: arg, why } : undefined
}

/** Checks git's arguments (everything after the program). */
export function checkGitArgs(args: string[]): GitVerdict {
  const repoArgs: string[] = []
  let i = 0
  for (; i < args.length; i++) {
    const a = args[i]!
    if (!a.startsWith("-")) break
    const name = a.startsWith("--") ? a.split("=")[0]! : a.length > 2 && a[1] !== "-" ? a.slice(0, 2) : a
    const refusedGlobal = Object.keys(REFUSED_GLOBAL).find((k) => k === name || (k.startsWith("--") && name.length > 2 && k.startsWith(name)))
    if (refusedGlobal) return { refusal: { switch: refusedGlobal, why: REFUSED_GLOBAL[refusedGlobal]! }, repoArgs }
    const takesNext = GLOBAL_WITH_VALUE.has(name) && !a.includes("=") && !(name.length === 2 && a.length > 2)
    if (REPO_OPTIONS.has(name)) repoArgs.push(...(takesNext ? [a, args[i + 1] ?? ""] : [a]))
    if (!GLOBAL_WITH_VALUE.has(name) && !GLOBAL_FLAGS.has(name))
      return { refusal: { switch: a, why: "is not a git option the exec policy knows (it cannot tell what follows it)" }, repoArgs }
    if (takesNext) i++
  }
  const sub = args[i]
  if (sub === undefined) return { repoArgs }
  if (REFUSED_SUBCOMMANDS[sub]) return { refusal: { switch: sub, why: REFUSED_SUBCOMMANDS[sub]! }, repoArgs }
  if (!SUBCOMMANDS.has(sub))
    return {
      refusal: { switch: sub, why: "is not a built-in git command the exec policy allows (an alias or a git-<name> program could run anything)" },
      repoArgs,
    }
  const table = { ...SUBCOMMAND_SWITCHES[sub] }
  for (const a of args.slice(i + 1)) {
    if (a === "--") break
    const hit = matchSwitch(a, table)
    if (hit) return { refusal: hit, repoArgs }
  }
  return { repoArgs }
}
