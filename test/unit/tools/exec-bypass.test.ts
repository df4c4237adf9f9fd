/**
 * Exec policy bypasses through allowlisted programs (issue 8): each switch that makes a listed program run another
 * command, read a script from elsewhere or touch files it was not given is refused in allowlist mode (the reason names
 * the program and the switch) and asked in ask mode; paths outside tools.fs.roots are refused or asked the same way.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { createExecTool, type ApproveFn } from "../../../src/agent/tools/exec.ts"
import { ToolPolicy } from "../../../src/agent/tools/policy.ts"
import { ProcessRegistry } from "../../../src/agent/tools/process.ts"
import type { ConfigInput } from "../../../src/config/schema.ts"
import { call, tempDir, toolsConfig } from "./helpers.ts"

type Tools = NonNullable<ConfigInput["tools"]>

/** Every program the bypass table uses: an allowlist that trusts them all. */
const LISTED = [
  "echo",
  "ls",
  "cat",
  "find",
  "sed",
  "git",
  "awk",
  "gawk",
  "xargs",
  "env",
  "nice",
  "timeout",
  "nohup",
  "sudo",
  "doas",
  "command",
  "exec",
  "sh",
  "bash",
  "zsh",
  "python",
  "python3",
  "node",
  "bun",
  "perl",
  "ruby",
  "php",
  "lua",
  "deno",
  "tar",
  "rsync",
  "ssh",
  "less",
  "more",
  "man",
  "vim",
  "vi",
  "zip",
  "make",
]

/** A workspace inside its own temp parent (so "../x" is a real place outside the roots), with its own exec HOME. */
function sandboxed(tools: Tools = {}) {
  const parent = tempDir("gw-exec-")
  const ws = join(parent, "ws")
  mkdirSync(ws)
  writeFileSync(join(ws, "f"), "line one\nline two\n")
  const policy = new ToolPolicy(toolsConfig(tools), ws, { execHome: join(parent, "home") })
  return { parent, ws, policy }
}

function execTool(policy: ToolPolicy, approve: ApproveFn = async () => false) {
  return createExecTool({ policy, processes: new ProcessRegistry({ killGraceMs: 200 }), approve })
}

/** [command, program named in the refusal, switch named in the refusal] */
const BYPASSES: [string, string, string][] = [
  // sed: commands and flags that run or write
  ["sed -n '1e touch X' f", "sed", "`e`"],
  ["sed -n '1 e touch X' f", "sed", "`e`"],
  ["sed -n '1{e touch X\n}' f", "sed", "`e`"],
  ["sed -n 's/one/x/e' f", "sed", "`e`"],
  ["sed -n '1w out' f", "sed", "`w`"],
  ["sed -n 's/one/x/w out' f", "sed", "`w`"],
  ["sed -n '1r /etc/passwd' f", "sed", "`r`"],
  ["sed --expression='1e touch X' f", "sed", "`e`"],
  ["sed --expr '1e touch X' f", "sed", "`e`"],
  ["sed -e p -e '1e touch X' f", "sed", "`e`"],
  ["sed -ne '1e touch X' f", "sed", "`e`"],
  ["sed -n -- '1e touch X' f", "sed", "`e`"],
  ["sed -f script.sed f", "sed", "-f"],
  ["sed --file=script.sed f", "sed", "--file"],
  // git: config on the command line, transport programs, aliases and commands that run commands
  ["git -c alias.x='!touch X' x", "git", "-c"],
  ["git -c core.pager='touch X' log", "git", "-c"],
  ["git --config-env=core.pager=EVIL log", "git", "--config-env"],
  ["git --exec-path=. status", "git", "--exec-path"],
  ["git fetch --upload-pack='touch X' .", "git", "--upload-pack"],
  ["git ls-remote --upload-pack='touch X' .", "git", "--upload-pack"],
  ["git push --receive-pack='touch X' origin", "git", "--receive-pack"],
  ["git clone -u 'touch X' a b", "git", "-u"],
  ["git x", "git", "x"],
  ["git rebase --exec 'touch X' HEAD", "git", "--exec"],
  ["git rebase -x 'touch X' HEAD", "git", "-x"],
  ["git submodule foreach 'touch X'", "git", "foreach"],
  ["git bisect run touch X", "git", "run"],
  ["git difftool HEAD", "git", "difftool"],
  ["git filter-branch --tree-filter 'touch X'", "git", "filter-branch"],
  ["git -p log", "git", "-p"],
  // find: primaries that run, delete or write
  ["find . -exec touch X {} +", "find", "-exec"],
  ["find . -execdir touch X {} \\;", "find", "-execdir"],
  ["find . -ok touch X {} \\;", "find", "-ok"],
  ["find . -okdir touch X {} \\;", "find", "-okdir"],
  ["find . -delete", "find", "-delete"],
  ["find . -fprint out", "find", "-fprint"],
  ["find . -fprintf out %p", "find", "-fprintf"],
  ["find . -fprint0 out", "find", "-fprint0"],
  // awk: system(), pipes, getline from commands and files, redirection, program files, extensions
  ["awk 'BEGIN { system(\"touch X\") }'", "awk", "system"],
  ['awk \'BEGIN { print "x" | "sh" }\'', "awk", "|"],
  ["awk 'BEGIN { \"id\" | getline x }'", "awk", "|"],
  ['gawk \'BEGIN { print "touch X" |& "sh" }\'', "gawk", "|"],
  ["awk 'BEGIN { getline l < \"/etc/passwd\"; print l }'", "awk", "getline"],
  ["awk 'BEGIN { print 1 > \"out\" }'", "awk", ">"],
  ["awk -f prog.awk f", "awk", "-f"],
  ["gawk '@load \"filefuncs\"; BEGIN { }'", "gawk", "@"],
  // programs whose job is to run other programs
  ["xargs touch", "xargs", "xargs"],
  ["env touch X", "env", "env"],
  ["nice touch X", "nice", "nice"],
  ["timeout 5 touch X", "timeout", "timeout"],
  ["nohup touch X", "nohup", "nohup"],
  ["sudo touch X", "sudo", "sudo"],
  ["doas touch X", "doas", "doas"],
  ["command touch X", "command", "command"],
  ["exec touch X", "exec", "exec"],
  // interpreters with inline code (or a program from stdin)
  ["sh -c 'touch X'", "sh", "-c"],
  ["bash -c 'touch X'", "bash", "-c"],
  ["bash -xc 'touch X'", "bash", "-c"],
  ["zsh -c 'touch X'", "zsh", "-c"],
  ['python -c \'open("X", "w")\'', "python", "-c"],
  ['python3 -c \'open("X", "w")\'', "python3", "-c"],
  ['node -e \'require("fs").writeFileSync("X", "")\'', "node", "-e"],
  ["node -p 1", "node", "-p"],
  ["node --eval=1", "node", "--eval"],
  ['bun -e \'await Bun.write("X", "")\'', "bun", "-e"],
  ["perl -e 'system(\"touch X\")'", "perl", "-e"],
  ["perl -E 'system(\"touch X\")'", "perl", "-E"],
  ["perl -ne 'print' f", "perl", "-e"],
  ["ruby -e 'system(\"touch X\")'", "ruby", "-e"],
  ["php -r 'system(\"touch X\");'", "php", "-r"],
  ["lua -e 'os.execute(\"touch X\")'", "lua", "-e"],
  ['deno eval \'Deno.writeTextFileSync("X", "")\'', "deno", "eval"],
  ["sh", "sh", "stdin"],
  ["python3", "python3", "stdin"],
  // tar, rsync, ssh: programs they run for you
  ["tar --to-command='sh -c x' -xf a.tar", "tar", "--to-command"],
  ["tar --use-compress-program=x -xf a.tar", "tar", "--use-compress-program"],
  ["tar -I x -xf a.tar", "tar", "-I"],
  ["tar xIf x a.tar", "tar", "-I"],
  ["tar -cf a.tar --checkpoint=1 --checkpoint-action=exec='touch X' f", "tar", "--checkpoint-action"],
  ["rsync -e 'sh -c x' f host:f", "rsync", "-e"],
  ["rsync --rsh='sh -c x' f host:f", "rsync", "--rsh"],
  ["ssh -o ProxyCommand='touch X' host", "ssh", "ProxyCommand"],
  ["ssh -oLocalCommand='touch X' -oPermitLocalCommand=yes host", "ssh", "LocalCommand"],
  ["ssh -o 'ProxyCommand touch X' host", "ssh", "ProxyCommand"],
  ["ssh -F cfg host", "ssh", "-F"],
  // pagers and editors with shell escapes, zip's test command, make's recipes
  ["less f", "less", "less"],
  ["more f", "more", "more"],
  ["man ls", "man", "man"],
  ["vim -c ':!touch X' f", "vim", "vim"],
  ["vi -c ':!touch X' f", "vi", "vi"],
  ["zip -T a.zip f", "zip", "-T"],
  ["zip a.zip f -TT 'touch X'", "zip", "-T"],
  ["make", "make", "make"],
  ["make all", "make", "make"],
]

describe("allowlisted programs with code-execution switches", () => {
  const { policy } = sandboxed({ exec: { mode: "allowlist", allowlist: LISTED } })
  const ask = sandboxed({ exec: { mode: "ask", allowlist: LISTED } }).policy

  for (const [command, program, sw] of BYPASSES) {
    test(`allowlist refuses ${JSON.stringify(command)} naming ${program} and ${sw}; ask mode asks`, () => {
      const d = policy.checkExec(command)
      expect(d.decision).toBe("deny")
      expect(d.reason).toContain(program)
      expect(d.reason).toContain(sw)
      expect(ask.checkExec(command).decision).toBe("ask")
    })
  }

  test("plain uses of the same programs still run without asking", () => {
    for (const command of [
      "sed -n p f",
      "sed -n '/one/p' f",
      "sed -n -e 's/one/1/p' -e '$=' f",
      "sed -i.bak 's/one/1/' f",
      "sed -n '/x/{p;q}' f",
      "sed 'a appended text; e is data here' f",
      "git status",
      "git log -c --oneline",
      "git -C . status",
      "find . -name '*.txt' -type f",
      "awk '$1 > 2 { print \"big\" }' f",
      "awk -F: '$1 ~ /one|two/ { n++ } END { print n }' f",
      "awk '{ print ($1 > 2) }' f",
      "tar -cf a.tar f",
      "ls -la",
    ]) {
      const d = policy.checkExec(command)
      expect({ command, ...d }).toMatchObject({ command, decision: "allow" })
    }
  })

  test("a program from the allowlist still cannot set the variables that steer it", () => {
    for (const name of [
      "GIT_DIR",
      "GIT_CONFIG_GLOBAL",
      "GIT_SSH_COMMAND",
      "HOME",
      "XDG_CONFIG_HOME",
      "LESSOPEN",
      "PAGER",
      "TAR_OPTIONS",
      "GCONV_PATH",
      "PYENV_ROOT",
      "BASH_FUNC_git%%",
    ]) {
      const d = policy.checkExec("git status", { [name]: "x" })
      expect({ name, decision: d.decision }).toEqual({ name, decision: "deny" })
      expect(d.reason).toContain(name)
      expect(ask.checkExec("git status", { [name]: "x" }).decision).toBe("ask")
    }
  })
})

describe("the measured bypasses do not run anything", () => {
  const cases = ["sed -n '1e touch X' f", "git -c alias.x='!touch X' x", "find . -exec touch X {} +"]

  for (const command of cases) {
    test(`allowlist: ${command}`, async () => {
      const { ws, policy } = sandboxed({ exec: { mode: "allowlist", allowlist: ["echo", "ls", "find", "sed", "git"] } })
      const r = await call(execTool(policy), { command }, ws)
      expect(r.isError).toBe(true)
      expect(r.output).toContain("refused")
      expect(existsSync(join(ws, "X"))).toBe(false)
    })

    test(`ask mode asks for: ${command} (and a denial runs nothing)`, async () => {
      const { ws, policy } = sandboxed({ exec: { mode: "ask", allowlist: ["echo", "ls", "find", "sed", "git"] } })
      const asked: string[] = []
      const r = await call(
        execTool(policy, async (cmd) => {
          asked.push(cmd)
          return false
        }),
        { command },
        ws,
      )
      expect(asked).toEqual([command])
      expect(r.isError).toBe(true)
      expect(r.output).toContain("denied by the operator")
      expect(existsSync(join(ws, "X"))).toBe(false)
    })
  }

  test("ask mode still runs a plain allowlisted command without asking", async () => {
    const { ws, policy } = sandboxed({ exec: { mode: "ask", allowlist: ["sed"] } })
    const asked: string[] = []
    const r = await call(
      execTool(policy, async (cmd) => {
        asked.push(cmd)
        return false
      }),
      { command: "sed -n 2p f" },
      ws,
    )
    expect(asked).toEqual([])
    expect(r.output).toContain("line two\n")
  })
})

describe("path arguments stay inside tools.fs.roots", () => {
  const allow = { exec: { mode: "allowlist" as const, allowlist: ["sed", "cat", "ls", "echo"] } }

  test("sed -n p ../outside.txt is refused and prints nothing", async () => {
    const { parent, ws, policy } = sandboxed(allow)
    writeFileSync(join(parent, "outside.txt"), "the secret outside\n")
    const r = await call(execTool(policy), { command: "sed -n p ../outside.txt" }, ws)
    expect(r.isError).toBe(true)
    expect(r.output).toContain("../outside.txt")
    expect(r.output).toContain("tools.fs.roots")
    expect(r.output).not.toContain("the secret outside")
  })

  test("absolute paths, ~, option values and symlinks that lead outside are refused; ask mode asks", () => {
    const { parent, ws, policy } = sandboxed(allow)
    const ask = new ToolPolicy(toolsConfig({ exec: { mode: "ask", allowlist: ["sed", "cat", "ls", "echo"] } }), ws, { execHome: join(parent, "home") })
    writeFileSync(join(parent, "outside.txt"), "s")
    symlinkSync(join(parent, "outside.txt"), join(ws, "link"))
    for (const command of [
      `cat ${join(parent, "outside.txt")}`,
      "cat /etc/passwd",
      "ls ~",
      "ls ~/",
      "cat link",
      "ls ..",
      "sed -n p --in-place=../x f",
      "ls -d../",
      "cat ./../outside.txt",
      "cat *",
    ]) {
      expect({ command, decision: policy.checkExec(command).decision }).toEqual({ command, decision: "deny" })
      expect({ command, decision: ask.checkExec(command).decision }).toEqual({ command, decision: "ask" })
    }
  })

  test("paths inside the roots, and words that are not paths, are fine", () => {
    const { ws, policy } = sandboxed(allow)
    mkdirSync(join(ws, "sub"))
    for (const command of ["cat f", "cat ./f", `cat ${join(ws, "f")}`, "ls sub/..", "ls -la sub", "echo hello world", "sed -n '/one/p' f", "cat sub/../f"]) {
      expect({ command, decision: policy.checkExec(command).decision }).toEqual({ command, decision: "allow" })
    }
  })

  test("the working directory decides where relative paths lead", () => {
    const { ws, policy } = sandboxed(allow)
    mkdirSync(join(ws, "sub"))
    expect(policy.checkExec("cat ../f", undefined, join(ws, "sub")).decision).toBe("allow")
    expect(policy.checkExec("cat ../../x", undefined, join(ws, "sub")).decision).toBe("deny")
  })
})
