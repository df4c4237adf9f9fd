/**
 * The pieces behind the exec allowlist: shell words (what runs is what was checked), the sed and awk readers (code is
 * found where the program finds it, data is left alone), git's arguments, the rules table's folding of program names,
 * and the bwrap command line.
 */
import { describe, expect, test } from "bun:test"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { awkProgramFinding } from "../../../src/agent/tools/awk-program.ts"
import { checkProgramArgs } from "../../../src/agent/tools/exec-rules.ts"
import { checkGitArgs } from "../../../src/agent/tools/git-args.ts"
import { bwrapArgv } from "../../../src/agent/tools/sandbox.ts"
import { sedScriptFinding } from "../../../src/agent/tools/sed-script.ts"
import { expandWord, parseCommand } from "../../../src/agent/tools/shell-words.ts"
import { tempDir } from "./helpers.ts"

const words = (command: string) => parseCommand(command).words.map((w) => w.text)

describe("shell words", () => {
  test("quotes and backslashes are removed as sh removes them", () => {
    expect(words(`a 'b c' "d e" f\\ g 'h'"i"j ''`)).toEqual(["a", "b c", "d e", "f g", "hij", ""])
    expect(words(`echo "a\\"b" 'a\\b' "\\x"`)).toEqual(["echo", 'a"b', "a\\b", "\\x"])
    expect(words("echo a\\\nb")).toEqual(["echo", "ab"])
    expect(words("echo a # a comment; rm -rf x")).toEqual(["echo", "a"])
    expect(words("echo a#b")).toEqual(["echo", "a#b"])
  })

  test("operators count only outside quotes; inside they are text", () => {
    expect(parseCommand("sed -n 's/a;b/c|d/p' f").operators).toEqual([])
    expect(parseCommand("echo 'a > b' \"c & d\"").operators).toEqual([])
    expect(parseCommand("sed -n '1p\n2p' f").operators).toEqual([])
    expect(parseCommand("echo a;b").operators).toEqual([";"])
    expect(parseCommand('echo "$(id)"').operators).toEqual(["$("])
    expect(parseCommand('echo "`id`"').operators).toEqual(["`"])
    expect(parseCommand("echo a\nrm b").operators).toEqual(["newline"])
  })

  test("expansions are reported, not performed; a lone $ and single-quoted ones are text", () => {
    expect(parseCommand('echo $HOME "${X}" $1 $@').expansions).toEqual(["$HOME", "${X}", "$1", "$@"])
    expect(parseCommand("echo $'\\x41'").expansions).toEqual(["$'"])
    const plain = parseCommand("grep 'a$' f \"cost: $ 5\"")
    expect(plain.expansions).toEqual([])
    expect(plain.words.map((w) => w.text)).toEqual(["grep", "a$", "f", "cost: $ 5"])
    expect(parseCommand("echo 'unterminated").unterminated).toBe(true)
  })

  test("globs expand in the working directory like sh; quoted ones and misses stay literal; ~ is HOME", () => {
    const dir = tempDir()
    for (const f of ["b.txt", "a.txt", ".hidden.txt", "c.md"]) writeFileSync(join(dir, f), "")
    mkdirSync(join(dir, "sub"))
    writeFileSync(join(dir, "sub", "d.txt"), "")
    const ex = (command: string) => parseCommand(command).words.flatMap((w) => expandWord(w, dir, "/home/gw"))
    expect(ex("ls *.txt")).toEqual(["ls", "a.txt", "b.txt"])
    expect(ex("ls .*.txt")).toEqual(["ls", ".hidden.txt"])
    expect(ex("ls '*.txt' \\*.txt")).toEqual(["ls", "*.txt", "*.txt"])
    expect(ex("ls */*.txt ?.md [ab].txt [!a].txt")).toEqual(["ls", "sub/d.txt", "c.md", "a.txt", "b.txt", "b.txt"])
    expect(ex("ls *.none")).toEqual(["ls", "*.none"])
    expect(ex("ls ~ ~/x '~/y'")).toEqual(["ls", "/home/gw", "/home/gw/x", "~/y"])
    expect(() => ex("ls ~root")).toThrow(/another user's home/)
  })
})

describe("sed scripts", () => {
  test("e, w, W, r, R and the s flags e and w are found wherever sed would run them", () => {
    for (const script of [
      "e id",
      "1e id",
      "$!e id",
      "/x/,/y/ e id",
      "1!{ e id\n}",
      "p;e id",
      "s/a/b/e",
      "s|a|b|gw out",
      "y/a/b/;w out",
      "0~2 r /etc/passwd",
      "R f",
      "W f",
      "\\,x, e id",
    ]) {
      expect({ script, found: !!sedScriptFinding(script) }).toEqual({ script, found: true })
    }
  })

  test("data that looks like a command is left alone", () => {
    for (const script of [
      "p",
      "s/e/w/g",
      "s,/usr/e,/w/,",
      "/e/p",
      "\\|w|d",
      "a e id",
      "1i\\\ne id",
      "y/ew/we/",
      ":e\nbe",
      "$=",
      "l 70",
      "q5",
      "# e id",
      "{p;p}",
    ]) {
      expect({ script, finding: sedScriptFinding(script) }).toEqual({ script, finding: undefined })
    }
  })

  test("what the reader cannot follow is refused, not guessed", () => {
    for (const script of ["s/a/b", "1,", "k", "s/a/b/x", "p x"]) expect({ script, found: !!sedScriptFinding(script) }).toEqual({ script, found: true })
  })
})

describe("awk programs", () => {
  test("commands, pipes, files and indirect calls are found", () => {
    for (const prog of [
      'BEGIN { system("id") }',
      '{ print | "sort" }',
      '{ "date" | getline d }',
      '{ print |& "cat" }',
      '{ getline x < "/etc/passwd" }',
      '{ getline < "f" }',
      '{ print > "out" }',
      '{ printf "%s", $0 >> "out" }',
      "{ print $1, $2 > $3 }",
      '@load "fork"',
      'function f(x) { } BEGIN { g = "system"; @g("id") }',
      'BEGIN { ARGV[1] = "/etc/passwd" }',
    ]) {
      expect({ prog, found: !!awkProgramFinding(prog) }).toEqual({ prog, found: true })
    }
  })

  test("comparisons, regexes, strings and comments are not mistaken for them", () => {
    for (const prog of [
      "$1 > 2 { n++ } END { print n }",
      "{ print ($1 > $2) }",
      '/a|b/ { print "x > y | z" }',
      "$0 ~ /system|getline/",
      "{ print a || b }",
      '# system("id") in a comment\n{ print }',
      "{ x = $1 / 2; y = x / 3; print x, y }",
      "{ while ((getline line) > 0) n++ }",
    ]) {
      expect({ prog, finding: awkProgramFinding(prog) }).toEqual({ prog, finding: undefined })
    }
  })
})

describe("git arguments", () => {
  test("repository options are collected for the config check; refused globals are named", () => {
    expect(checkGitArgs(["-C", "sub", "--git-dir=x/.git", "status"])).toEqual({ repoArgs: ["-C", "sub", "--git-dir=x/.git"] })
    expect(checkGitArgs(["--config-env", "core.pager=X", "log"]).refusal?.switch).toBe("--config-env")
    expect(checkGitArgs(["--conf=core.pager=X", "log"]).refusal?.switch).toBe("--config-env")
    expect(checkGitArgs(["-c", "x=y", "log"]).refusal?.switch).toBe("-c")
    expect(checkGitArgs(["--weird", "log"]).refusal?.switch).toBe("--weird")
  })

  test("subcommand switches after the subcommand; -c of log is not git's -c", () => {
    expect(checkGitArgs(["log", "-c", "-p"]).refusal).toBeUndefined()
    expect(checkGitArgs(["commit", "-c", "HEAD"]).refusal).toBeUndefined()
    expect(checkGitArgs(["fetch", "--upload=x"]).refusal?.switch).toBe("--upload-pack")
    expect(checkGitArgs(["rebase", "-ix", "id"]).refusal?.switch).toBe("-x")
    expect(checkGitArgs(["log", "--", "--upload-pack"]).refusal).toBeUndefined()
    expect(checkGitArgs(["mergetool"]).refusal?.why).toContain("merge tool")
    expect(checkGitArgs(["st"]).refusal?.why).toContain("not a built-in")
    expect(checkGitArgs([]).refusal).toBeUndefined()
  })
})

describe("the rules table", () => {
  test("versions and variants share their program's rules; the name as written is the one reported", () => {
    expect(checkProgramArgs(["python3.12"], ["-c", "1"]).refusal).toMatchObject({ program: "python3.12", switch: "-c" })
    expect(checkProgramArgs(["vi", "vim.basic"], ["f"]).refusal?.program).toBe("vi")
    expect(checkProgramArgs(["awk", "mawk"], ["-W", "exec", "f"]).refusal?.switch).toBe("-W")
    expect(checkProgramArgs(["dash"], ["-c", "id"]).refusal?.switch).toBe("-c")
    expect(checkProgramArgs(["cat"], ["-c"]).refusal).toBeUndefined()
  })

  test("the script or pattern is marked as not a path, the files are not", () => {
    expect([...checkProgramArgs(["sed"], ["-n", "/etc/p", "/etc/x"]).notPaths]).toEqual([1])
    expect([...checkProgramArgs(["grep"], ["-r", "/api/", "."]).notPaths]).toEqual([1])
    expect([...checkProgramArgs(["grep"], ["-e", "/a/", "/etc/x"]).notPaths]).toEqual([1])
  })
})

describe("bwrap command line", () => {
  const which = () => "/usr/bin/bwrap"

  test("roots and HOME writable after the system is bound read-only; network unshared unless asked", () => {
    const ws = tempDir()
    const home = tempDir()
    const argv = bwrapArgv({ roots: [ws], home, cwd: ws, network: false, hide: [] }, which)
    const at = (flag: string, a: string) => argv.findIndex((x, i) => x === flag && argv[i + 1] === a)
    expect(argv[0]).toBe("/usr/bin/bwrap")
    expect(argv).toContain("--unshare-net")
    expect(argv).toContain("--die-with-parent")
    expect(at("--ro-bind", "/")).toBeLessThan(at("--bind", ws))
    expect(at("--bind", home)).toBeGreaterThan(at("--ro-bind", "/"))
    expect(argv.slice(-3)).toEqual(["--chdir", ws, "--"])
    expect(bwrapArgv({ roots: [ws], home, cwd: ws, network: true, hide: [] }, which)).not.toContain("--unshare-net")
  })

  test("hidden directories are emptied first, then the roots inside them bound back", () => {
    const state = tempDir()
    const ws = join(state, "workspace")
    mkdirSync(ws)
    const argv = bwrapArgv({ roots: [ws], home: state, cwd: ws, network: false, hide: [state] }, which)
    expect(argv.findIndex((x, i) => x === "--tmpfs" && argv[i + 1] === state)).toBeLessThan(argv.findIndex((x, i) => x === "--bind" && argv[i + 1] === ws))
  })
})
