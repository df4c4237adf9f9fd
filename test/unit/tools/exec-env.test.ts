/**
 * The environment exec runs commands in: scrubbed of inherited hooks (GIT_*, LD_*, PAGER, NODE_OPTIONS, …), HOME a
 * gateway-owned directory, and git protected from a .gitconfig or .git/config the agent wrote.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { createExecTool, type ApproveFn } from "../../../src/agent/tools/exec.ts"
import { ToolPolicy } from "../../../src/agent/tools/policy.ts"
import { ProcessRegistry } from "../../../src/agent/tools/process.ts"
import type { ConfigInput } from "../../../src/config/schema.ts"
import { call, tempDir, toolsConfig } from "./helpers.ts"

type Tools = NonNullable<ConfigInput["tools"]>

function setup(tools: Tools, approve: ApproveFn = async () => true) {
  const parent = tempDir("gw-exec-env-")
  const ws = join(parent, "ws")
  mkdirSync(ws)
  const home = join(parent, "exec-home")
  const policy = new ToolPolicy(toolsConfig(tools), ws, { execHome: home })
  const exec = createExecTool({ policy, processes: new ProcessRegistry({ killGraceMs: 200 }), approve })
  return { parent, ws, home, policy, exec }
}

/** `env` output as a map. */
function parseEnv(out: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of out.split("\n")) {
    const eq = line.indexOf("=")
    if (eq > 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(line.slice(0, eq))) env[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return env
}

/** Hooks planted in the gateway's own environment for the length of a test. */
const PLANTED: Record<string, string> = {
  GIT_CONFIG_PARAMETERS: "'core.pager'='touch PWNED'",
  GIT_SSH_COMMAND: "touch PWNED",
  GIT_EXTERNAL_DIFF: "touch PWNED",
  LD_GW_PROBE: "1",
  DYLD_GW_PROBE: "1",
  BASH_ENV: "/tmp/gw-evil-bash-env",
  ENV: "/tmp/gw-evil-env",
  PROMPT_COMMAND: "touch PWNED",
  PAGER: "touch PWNED",
  GIT_PAGER: "touch PWNED",
  MANPAGER: "touch PWNED",
  LESSOPEN: "|touch PWNED",
  EDITOR: "touch PWNED",
  VISUAL: "touch PWNED",
  PYTHONSTARTUP: "/tmp/gw-evil.py",
  PYTHONPATH: "/tmp/gw-evil",
  NODE_OPTIONS: "--require=/tmp/gw-evil.js",
  PERL5OPT: "-Mevil",
  RUBYOPT: "-revil",
  XDG_CONFIG_HOME: "/tmp/gw-evil-xdg",
  GW_UNRELATED_SETTING: "inherit-me-not",
}

describe("scrubbed environment", () => {
  const saved: Record<string, string | undefined> = {}
  beforeEach(() => {
    for (const [k, v] of Object.entries(PLANTED)) {
      saved[k] = process.env[k]
      process.env[k] = v
    }
  })
  afterEach(() => {
    for (const k of Object.keys(PLANTED)) {
      if (saved[k] === undefined) delete process.env[k]
      else process.env[k] = saved[k]
    }
  })

  for (const [mode, command, allowlist] of [
    ["full", "env", []],
    ["allowlist", "printenv", ["printenv"]],
    ["ask", "printenv", ["printenv"]],
  ] as const) {
    test(`${mode} mode: no inherited hook variables; PATH kept; HOME is the gateway's`, async () => {
      const { ws, home, exec } = setup({ exec: { mode, allowlist: [...allowlist] } })
      const r = await call(exec, { command }, ws)
      expect(r.output).toContain("[exit code 0")
      const env = parseEnv(r.output)
      for (const name of Object.keys(PLANTED)) expect({ name, value: env[name] }).toEqual({ name, value: undefined })
      expect(env.PATH).toBe(process.env.PATH!)
      expect(env.HOME).toBe(home)
      if (process.env.LANG) expect(env.LANG).toBe(process.env.LANG)
      expect(existsSync(join(ws, "PWNED"))).toBe(false)
    })
  }

  test("allowlist and ask modes run git without system or global config", async () => {
    const { ws, exec } = setup({ exec: { mode: "allowlist", allowlist: ["printenv"] } })
    const env = parseEnv((await call(exec, { command: "printenv" }, ws)).output)
    expect(env.GIT_CONFIG_NOSYSTEM).toBe("1")
    expect(env.GIT_CONFIG_GLOBAL).toBe("/dev/null")
  })

  test("tools.exec.passEnv keeps named variables; a hook variable cannot be passed", async () => {
    const { ws, exec } = setup({ exec: { mode: "full", passEnv: ["GW_UNRELATED_SETTING"] } })
    expect(parseEnv((await call(exec, { command: "env" }, ws)).output).GW_UNRELATED_SETTING).toBe("inherit-me-not")
    expect(() => toolsConfig({ exec: { passEnv: ["LD_PRELOAD"] } })).toThrow(/LD_PRELOAD/)
    expect(toolsConfig({ exec: { passEnv: ["SSH_AUTH_SOCK", "GIT_AUTHOR_NAME"] } }).exec.passEnv).toEqual(["SSH_AUTH_SOCK", "GIT_AUTHOR_NAME"])
  })

  test("tools.exec.fullModeEnv inherit gives full mode the gateway's own environment and HOME, secrets still out", async () => {
    process.env.GATEWAY_TOKEN = "secret-token-for-test"
    try {
      const { ws, exec } = setup({ exec: { mode: "full", fullModeEnv: "inherit" } })
      const env = parseEnv((await call(exec, { command: "env" }, ws)).output)
      expect(env.GW_UNRELATED_SETTING).toBe("inherit-me-not")
      expect(env.HOME).toBe(process.env.HOME!)
      expect(env.GATEWAY_TOKEN).toBeUndefined()
      // Only full mode: an allowlisted command is scrubbed whatever fullModeEnv says.
      const allow = setup({ exec: { mode: "allowlist", allowlist: ["printenv"], fullModeEnv: "inherit" } })
      expect(parseEnv((await call(allow.exec, { command: "printenv" }, allow.ws)).output).GW_UNRELATED_SETTING).toBeUndefined()
    } finally {
      delete process.env.GATEWAY_TOKEN
    }
  })

  test("the env a call passes still reaches the command", async () => {
    const { ws, exec } = setup({ exec: { mode: "full" } })
    const r = await call(exec, { command: 'echo "$GREETING"', env: { GREETING: "hi" } }, ws)
    expect(r.output).toContain("hi\n")
  })
})

describe("HOME", () => {
  test("a gateway-owned directory, created 0700, never the workspace", async () => {
    const { ws, home, exec } = setup({ exec: { mode: "full" } })
    const r = await call(exec, { command: 'echo "$HOME"; touch "$HOME/ok"' }, ws)
    expect(r.output).toContain(`${home}\n`)
    expect(statSync(home).mode & 0o777).toBe(0o700)
    expect(existsSync(join(home, "ok"))).toBe(true)
    expect(home.startsWith(`${ws}/`)).toBe(false)
  })

  test("the default sits beside the daemon's workspace: <state home>/exec-home", () => {
    const state = tempDir("gw-state-")
    const ws = join(state, "workspace")
    mkdirSync(ws)
    expect(new ToolPolicy(toolsConfig({}), ws).execHome()).toBe(join(state, "exec-home"))
  })

  test("a HOME that others can write is refused rather than used", async () => {
    const { ws, home, exec } = setup({ exec: { mode: "full" } })
    mkdirSync(home, { mode: 0o777 })
    chmodSync(home, 0o777)
    const r = await call(exec, { command: "true" }, ws)
    expect(r.isError).toBe(true)
    expect(r.output).toContain(home)
  })
})

/** git with the machine's own config out of the way (the tests plant their own). */
function git(cwd: string, ...args: string[]) {
  const r = Bun.spawnSync(["git", ...args], {
    cwd,
    env: { PATH: process.env.PATH!, HOME: cwd, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" },
    stdout: "pipe",
    stderr: "pipe",
  })
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`)
}

function repo(ws: string) {
  git(ws, "init", "-q")
  git(ws, "config", "user.email", "t@example.com")
  git(ws, "config", "user.name", "t")
  writeFileSync(join(ws, "a.txt"), "a\n")
}

describe.skipIf(!Bun.which("git"))("git cannot be steered by config the agent wrote", () => {
  test("a .gitconfig in a HOME pointed at the workspace: refused in allowlist mode, ignored once approved", async () => {
    const marker = (ws: string) => join(ws, "PWNED")
    const plant = (ws: string) => {
      repo(ws)
      writeFileSync(join(ws, ".gitconfig"), `[core]\n\tfsmonitor = touch ${marker(ws)}\n[alias]\n\tst = !touch ${marker(ws)}\n`)
    }
    const allow = setup({ exec: { mode: "allowlist", allowlist: ["git"] } })
    plant(allow.ws)
    const refused = await call(allow.exec, { command: "git status", env: { HOME: allow.ws } }, allow.ws)
    expect(refused.isError).toBe(true)
    expect(refused.output).toContain("HOME")
    expect(existsSync(marker(allow.ws))).toBe(false)

    const asked: string[] = []
    const approved = setup({ exec: { mode: "ask", allowlist: ["git"] } }, async (cmd) => {
      asked.push(cmd)
      return true
    })
    plant(approved.ws)
    const r = await call(approved.exec, { command: "git status", env: { HOME: approved.ws } }, approved.ws)
    expect(r.output).toContain("[exit code 0")
    // The operator is shown what the call sets, not only the command.
    expect(asked).toEqual([`HOME=${approved.ws} git status`])
    expect(existsSync(marker(approved.ws))).toBe(false)
  })

  test(".git/config core.fsmonitor is neutralised: git status runs, the hook does not", async () => {
    const { ws, exec } = setup({ exec: { mode: "allowlist", allowlist: ["git"] } })
    repo(ws)
    git(ws, "config", "core.fsmonitor", `touch ${join(ws, "PWNED")}`)
    const r = await call(exec, { command: "git status --porcelain" }, ws)
    expect(r.output).toContain("[exit code 0")
    expect(r.output).toContain("?? a.txt")
    expect(existsSync(join(ws, "PWNED"))).toBe(false)
  })

  test(".git/config core.hooksPath and core.editor are neutralised", async () => {
    const { ws, exec } = setup({ exec: { mode: "allowlist", allowlist: ["git"] } })
    repo(ws)
    mkdirSync(join(ws, "hooks"))
    writeFileSync(join(ws, "hooks", "pre-commit"), `#!/bin/sh\ntouch ${join(ws, "PWNED-hook")}\n`, { mode: 0o755 })
    git(ws, "config", "core.hooksPath", "hooks")
    git(ws, "config", "core.editor", `touch ${join(ws, "PWNED-editor")}`)
    const commit = await call(exec, { command: "git commit -q --allow-empty -m message" }, ws)
    expect(commit.output).toContain("[exit code 0")
    expect(existsSync(join(ws, "PWNED-hook"))).toBe(false)
    await call(exec, { command: "git commit --allow-empty" }, ws)
    expect(existsSync(join(ws, "PWNED-editor"))).toBe(false)
  })

  test("a filter driver in .git/config refuses git (in allowlist mode) and names the key", async () => {
    const { ws, exec } = setup({ exec: { mode: "allowlist", allowlist: ["git"] } })
    repo(ws)
    git(ws, "config", "filter.x.clean", `touch ${join(ws, "PWNED")}`)
    writeFileSync(join(ws, ".gitattributes"), "* filter=x\n")
    const r = await call(exec, { command: "git add a.txt" }, ws)
    expect(r.isError).toBe(true)
    expect(r.output).toContain("filter.x.clean")
    expect(existsSync(join(ws, "PWNED"))).toBe(false)
  })

  test("a diff driver, an alias or an upload-pack in .git/config refuses git; ask mode asks", async () => {
    for (const [key, value] of [
      ["diff.x.textconv", "touch PWNED"],
      ["alias.st", "!touch PWNED"],
      ["remote.origin.uploadpack", "touch PWNED"],
      ["core.gitProxy", "touch PWNED"],
    ]) {
      const { ws, policy } = setup({ exec: { mode: "allowlist", allowlist: ["git"] } })
      repo(ws)
      git(ws, "config", key!, value!)
      const d = policy.checkExec("git log")
      expect({ key, decision: d.decision }).toEqual({ key, decision: "deny" })
      expect(d.reason.toLowerCase()).toContain(key!.toLowerCase())
      const ask = new ToolPolicy(toolsConfig({ exec: { mode: "ask", allowlist: ["git"] } }), ws, { execHome: tempDir() })
      expect(ask.checkExec("git log").decision).toBe("ask")
    }
  })

  test("a .git/config written with the write tool does not run anything through git", async () => {
    const { ws, exec } = setup({ exec: { mode: "allowlist", allowlist: ["git"] } })
    repo(ws)
    const config = `[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tfsmonitor = touch ${join(ws, "PWNED")}\n\tpager = touch ${join(ws, "PWNED")}\n\tsshCommand = touch ${join(ws, "PWNED")}\n`
    writeFileSync(join(ws, ".git", "config"), config)
    const r = await call(exec, { command: "git status" }, ws)
    expect(r.output).toContain("[exit code 0")
    expect(existsSync(join(ws, "PWNED"))).toBe(false)
  })
})
