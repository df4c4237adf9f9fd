import { describe, expect, test } from "bun:test"
import { mkdirSync, readFileSync, existsSync } from "node:fs"
import { join } from "node:path"
import { createExecTool, runCommand, type ApproveFn } from "../../../src/agent/tools/exec.ts"
import { createProcessTool, OutputBuffer, ProcessRegistry } from "../../../src/agent/tools/process.ts"
import type { ConfigInput } from "../../../src/config/schema.ts"
import { call, policyFor, tempDir } from "./helpers.ts"

type ExecCfg = NonNullable<NonNullable<ConfigInput["tools"]>["exec"]>

function setup(exec: ExecCfg = {}, approve: ApproveFn = async () => true) {
  const ws = tempDir()
  const policy = policyFor(ws, { exec: { mode: "full", backgroundAfterMs: 5000, ...exec } })
  const processes = new ProcessRegistry({ killGraceMs: 200 })
  return { ws, processes, exec: createExecTool({ policy, processes, approve }), proc: createProcessTool(processes) }
}

/** Running (an unreaped zombie counts as dead: this container's PID 1 may not reap orphans). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2))
  } catch {
    return process.platform !== "linux"
  }
}
const waitFor = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await Bun.sleep(20)
  return cond()
}

describe("OutputBuffer", () => {
  test("keeps a rolling tail with absolute offsets", () => {
    const b = new OutputBuffer(10)
    b.append("0123456789")
    b.append("abcde")
    expect(b.retained).toBe("56789abcde")
    expect(b.dropped).toBe(5)
    expect(b.total).toBe(15)
    expect(b.since(12)).toEqual({ text: "cde", lost: 0 })
    expect(b.since(2)).toEqual({ text: "56789abcde", lost: 3 })
  })
})

describe("runCommand", () => {
  test("separates stdout and stderr, reports the exit code, feeds stdin", async () => {
    const ws = tempDir()
    const r = await runCommand({ command: "echo out; echo err >&2; cat; exit 4", workdir: ws, stdin: "piped" })
    expect(r.stdout).toBe("out\npiped")
    expect(r.stderr).toBe("err\n")
    expect(r.exitCode).toBe(4)
    expect(r.timedOut).toBe(false)
  })
  test("a timeout kills the whole process group, children included", async () => {
    const ws = tempDir()
    const started = Date.now()
    const r = await runCommand({ command: "sleep 30 & echo $! > child.pid; wait", workdir: ws, timeoutMs: 300 })
    expect(r.timedOut).toBe(true)
    expect(Date.now() - started).toBeLessThan(3000)
    const child = Number(readFileSync(join(ws, "child.pid"), "utf8"))
    expect(child).toBeGreaterThan(0)
    expect(await waitFor(() => !alive(child))).toBe(true)
  })
  test("an abort signal kills it", async () => {
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 100)
    const r = await runCommand({ command: "sleep 30", workdir: tempDir(), signal: ac.signal })
    expect(r.aborted).toBe(true)
    expect(r.exitCode === null || r.exitCode !== 0).toBe(true)
  })
  test("env is passed, gateway secrets are not", async () => {
    process.env.GATEWAY_TOKEN = "secret-token-for-test"
    try {
      const r = await runCommand({ command: 'echo "$FOO:${GATEWAY_TOKEN:-none}"', workdir: tempDir(), env: { FOO: "bar" } })
      expect(r.stdout).toBe("bar:none\n")
    } finally {
      delete process.env.GATEWAY_TOKEN
    }
  })
})

describe("exec tool", () => {
  test("returns combined output and the exit code", async () => {
    const { ws, exec } = setup()
    const r = await call(exec, { command: "echo out; echo err >&2; exit 3" }, ws)
    expect(r.isError).toBeFalsy()
    expect(r.output).toContain("out\n")
    expect(r.output).toContain("err\n")
    expect(r.output).toMatch(/\[exit code 3 · \d+ms\]/)
    expect(r.meta?.exitCode).toBe(3)
  })
  test("workdir and env; outside the roots a workdir is refused except in full mode (where a command could cd anywhere)", async () => {
    const { ws, exec } = setup()
    mkdirSync(join(ws, "sub"))
    const r = await call(exec, { command: 'pwd; echo "$GREETING"', workdir: "sub", env: { GREETING: "hi" } }, ws)
    expect(r.output).toContain(`${join(ws, "sub")}\nhi\n`)
    expect((await call(exec, { command: "pwd", workdir: "/" }, ws)).output).toContain("/\n")
    const asking = setup({ mode: "allowlist", allowlist: ["pwd"] })
    const bad = await call(asking.exec, { command: "pwd", workdir: "/" }, asking.ws)
    expect(bad.isError).toBe(true)
    expect(bad.output).toContain("outside the allowed directories")
  })
  test("deny mode explains that exec is disabled", async () => {
    const { ws, exec } = setup({ mode: "deny" })
    const r = await call(exec, { command: "echo hi" }, ws)
    expect(r.isError).toBe(true)
    expect(r.output).toContain('tools.exec.mode is "deny"')
  })
  test("allowlist mode refuses other programs and operators", async () => {
    const { ws, exec } = setup({ mode: "allowlist", allowlist: ["echo"] })
    expect((await call(exec, { command: "echo ok" }, ws)).output).toContain("ok\n")
    expect((await call(exec, { command: "touch x" }, ws)).output).toContain('"touch" is not on tools.exec.allowlist')
    const ops = await call(exec, { command: "echo ok > f" }, ws)
    expect(ops.output).toContain("Shell operators (>)")
    expect(existsSync(join(ws, "f"))).toBe(false)
  })
  test("ask mode awaits the approval hook; a denial is an LLM-readable error", async () => {
    const seen: [string, string][] = []
    let answer = false
    const { ws, exec } = setup({ mode: "ask", allowlist: ["true"] }, async (cmd, cwd) => {
      seen.push([cmd, cwd])
      return answer
    })
    const denied = await call(exec, { command: "echo hi > f" }, ws)
    expect(denied.isError).toBe(true)
    expect(denied.output).toContain("denied by the operator")
    expect(existsSync(join(ws, "f"))).toBe(false)
    expect(seen).toEqual([["echo hi > f", ws]])
    answer = true
    expect((await call(exec, { command: "echo hi > f" }, ws)).isError).toBeFalsy()
    expect(readFileSync(join(ws, "f"), "utf8")).toBe("hi\n")
    await call(exec, { command: "true" }, ws)
    expect(seen.length).toBe(2)
  })
  test("timeout kills the command and says how to avoid it", async () => {
    const { ws, exec } = setup()
    const started = Date.now()
    const r = await call(exec, { command: "echo begin; sleep 20", timeoutSeconds: 1 }, ws)
    expect(Date.now() - started).toBeLessThan(4000)
    expect(r.isError).toBe(true)
    expect(r.output).toContain("begin")
    expect(r.output).toContain("timed out")
  })
  test("abort kills a foreground command", async () => {
    const { ws, exec } = setup()
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 150)
    const r = await call(exec, { command: "echo $$ > shell.pid; sleep 30" }, ws, ac.signal)
    expect(r.isError).toBe(true)
    expect(r.output).toContain("aborted")
    const pid = Number(readFileSync(join(ws, "shell.pid"), "utf8"))
    expect(await waitFor(() => !alive(pid))).toBe(true)
  })
  test("huge output is capped to a tail and kept for process log", async () => {
    const { ws, exec, proc } = setup()
    const r = await call(exec, { command: "seq 1 60000" }, ws)
    expect(r.output).toContain("earlier characters omitted")
    expect(r.output).toContain("60000\n")
    expect(r.output.length).toBeLessThan(32_000)
    const id = r.meta?.sessionId as string
    expect(id).toBeTruthy()
    const log = await call(proc, { action: "log", sessionId: id, limit: 3 }, ws)
    expect(log.output).toContain("59998\n59999\n60000")
  })
})

describe("background processes", () => {
  test("a slow command moves to the background and is polled to completion", async () => {
    const { ws, exec, proc } = setup({ backgroundAfterMs: 150 })
    const r = await call(exec, { command: "echo start; sleep 0.4; echo end" }, ws)
    expect(r.output).toContain("status: running")
    expect(r.output).toContain("start")
    const id = r.meta?.sessionId as string
    expect(r.output).toContain(`sessionId: ${id}`)
    const list = await call(proc, { action: "list" }, ws)
    expect(list.output).toContain(id)
    expect(list.output).toContain("running")
    let out = ""
    for (let i = 0; i < 10 && !out.includes("exited"); i++) out += `${(await call(proc, { action: "poll", sessionId: id, waitMs: 1000 }, ws)).output}\n`
    expect(out).toContain("end")
    expect(out).not.toContain("start")
    expect(out).toContain("exited with code 0")
  })
  test("background: true returns at once; write sends stdin; eof closes it", async () => {
    const { ws, exec, proc } = setup()
    const r = await call(exec, { command: "read line; echo got:$line; cat; echo done", background: true }, ws)
    expect(r.meta?.status).toBe("running")
    const id = r.meta?.sessionId as string
    expect((await call(proc, { action: "write", sessionId: id, data: "hello\n" }, ws)).output).toContain("Wrote 6 characters")
    const first = await call(proc, { action: "poll", sessionId: id, waitMs: 2000 }, ws)
    expect(first.output).toContain("got:hello")
    await call(proc, { action: "write", sessionId: id, data: "tail\n", eof: true }, ws)
    let out = ""
    for (let i = 0; i < 10 && !out.includes("exited"); i++) out += `${(await call(proc, { action: "poll", sessionId: id, waitMs: 1000 }, ws)).output}\n`
    expect(out).toMatch(/^tail$/m)
    expect(out).toMatch(/^done$/m)
    expect(out.indexOf("tail")).toBeLessThan(out.indexOf("done"))
    expect(out).toContain("exited with code 0")
    const late = await call(proc, { action: "write", sessionId: id, data: "x" }, ws)
    expect(late.isError).toBe(true)
    expect(late.output).toContain("is not running")
  })
  test("kill stops a process that ignores SIGTERM (SIGKILL after the grace period)", async () => {
    const { ws, exec, proc, processes } = setup()
    const r = await call(exec, { command: "trap '' TERM; echo ready; sleep 30", background: true }, ws)
    const id = r.meta?.sessionId as string
    await call(proc, { action: "poll", sessionId: id, waitMs: 1000 }, ws)
    const k = await call(proc, { action: "kill", sessionId: id }, ws)
    expect(k.output).toContain("killed")
    expect(processes.get(id)?.running).toBe(false)
    const pid = processes.get(id)!.pid
    expect(alive(pid)).toBe(false)
    const again = await call(proc, { action: "kill", sessionId: id }, ws)
    expect(again.output).toContain("already finished")
    expect((await call(proc, { action: "remove", sessionId: id }, ws)).output).toContain("Removed")
    expect((await call(proc, { action: "list" }, ws)).output).toBe("No background processes.")
  })
  test("process errors are readable", async () => {
    const { ws, proc } = setup()
    const missing = await call(proc, { action: "poll" }, ws)
    expect(missing.isError).toBe(true)
    expect(missing.output).toContain("needs a sessionId")
    const unknown = await call(proc, { action: "log", sessionId: "nope" }, ws)
    expect(unknown.output).toContain('No process session "nope" (known: none)')
    const bad = await call(proc, { action: "explode" }, ws)
    expect(bad.output).toContain("Invalid arguments for process")
  })
  test("killAll stops running sessions", async () => {
    const { ws, exec, processes } = setup()
    const r = await call(exec, { command: "sleep 30", background: true }, ws)
    await processes.killAll()
    expect(processes.get(r.meta?.sessionId as string)?.running).toBe(false)
  })
})

describe("children that outlive the shell", () => {
  test("a command that leaves a background child holding the pipes still returns promptly", async () => {
    const { ws, exec } = setup()
    const started = Date.now()
    const r = await call(exec, { command: "sleep 3 & echo $! > bg.pid; echo hi" }, ws)
    expect(Date.now() - started).toBeLessThan(1500)
    expect(r.output).toContain("hi\n[exit code 0")
    process.kill(Number(readFileSync(join(ws, "bg.pid"), "utf8")), "SIGKILL")
  })
})
