/** The `logs` fallback when the gateway is down: which log it reads (journal, launchd file, JSONL) and its output. */
import { describe, expect, test } from "bun:test"
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { installService } from "../../../src/service/index.ts"
import { followServiceLogs, serviceLogSource } from "../../../src/service/logs.ts"
import { RecordingRunner } from "../../../src/service/runner.ts"

function sandbox() {
  const dir = mkdtempSync(join(tmpdir(), "gw-logs-"))
  const env = { PATH: "/usr/bin:/bin", HOME: dir, GATEWAY_SYSTEM_CONFIG: join(dir, "none.json") }
  return { dir, env, gwHome: join(dir, ".gateway") }
}

describe("service log fallback", () => {
  test("no service: the gateway's own JSONL, rendered", async () => {
    const s = sandbox()
    mkdirSync(join(s.gwHome, "logs"), { recursive: true })
    writeFileSync(join(s.gwHome, "logs/gateway.jsonl"), `${JSON.stringify({ time: "T", level: "info", subsystem: "gateway", message: "listening" })}\nplain\n`)
    const src = await serviceLogSource({ env: s.env, backend: "systemd", limit: 10, follow: false }, new RecordingRunner())
    expect(src).toMatchObject({ kind: "file", file: join(s.gwHome, "logs/gateway.jsonl"), jsonl: true })
    const out: string[] = []
    const code = await followServiceLogs({ env: s.env, backend: "systemd", limit: 10, follow: false, write: (l) => out.push(l), notice: () => {} })
    expect(code).toBe(0)
    expect(out).toEqual(["T INFO  [gateway] listening", "plain"])
  })

  test("installed user unit with a readable journal: journalctl argv (with -f only when following)", async () => {
    const s = sandbox()
    const runner = new RecordingRunner((argv) =>
      argv[0] === "journalctl"
        ? { stdout: "2026-01-01 host gateway[1]: hello\n" }
        : argv[1] === "show"
          ? { stdout: "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=5\n" }
          : undefined,
    )
    expect((await installService({ env: s.env, backend: "systemd", binary: "/opt/gw", waitMs: 0 }, { runner })).ok).toBe(true)
    const follow = await serviceLogSource({ env: s.env, backend: "systemd", limit: 50, follow: true }, runner)
    expect(follow).toMatchObject({ kind: "journal", argv: ["journalctl", "--user", "-u", "gateway.service", "-f", "-n", "50", "-o", "short-iso"] })
    const once = await serviceLogSource({ env: s.env, backend: "systemd", limit: 50, follow: false }, runner)
    expect(once.kind === "journal" && once.argv).not.toContain("-f")
    // An unreadable journal (no output) falls back to the JSONL file.
    const silent = new RecordingRunner(() => ({ stdout: "-- No entries --\n" }))
    expect((await serviceLogSource({ env: s.env, backend: "systemd", limit: 50, follow: true }, silent)).kind).toBe("file")
  })

  test("launchd: the agent's StandardErrorPath, followed as it grows", async () => {
    const s = sandbox()
    const bin = join(s.dir, "bin")
    mkdirSync(bin)
    writeFileSync(join(bin, "launchctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 })
    const env = { ...s.env, PATH: `${bin}:/usr/bin:/bin` }
    expect((await installService({ env, backend: "launchd", binary: "/opt/gw", waitMs: 0, uid: 501 })).ok).toBe(true)
    const err = join(s.gwHome, "logs/service.err.log")
    writeFileSync(err, "boot line\n")
    const src = await serviceLogSource({ env, backend: "launchd", limit: 10, follow: true })
    expect(src).toEqual({ kind: "file", file: err, jsonl: false, description: err })
    const out: string[] = []
    const stop = new AbortController()
    const run = followServiceLogs({
      env,
      backend: "launchd",
      limit: 10,
      follow: true,
      intervalMs: 20,
      signal: stop.signal,
      write: (l) => out.push(l),
      notice: () => {},
    })
    await Bun.sleep(60)
    appendFileSync(err, "later line\n")
    for (let i = 0; i < 50 && out.length < 2; i++) await Bun.sleep(20)
    expect(out).toEqual(["boot line", "later line"])
    stop.abort()
    expect(await run).toBe(0)
  })
})

describe("installedService", () => {
  test("reads the port, home and program back from an installed unit without running anything", async () => {
    const { installedService } = await import("../../../src/service/index.ts")
    const s = sandbox()
    expect(installedService({ env: s.env, backend: "systemd" })).toBeUndefined()
    const runner = new RecordingRunner()
    await installService({ env: s.env, backend: "systemd", binary: "/opt/gw", port: 18999, waitMs: 0 }, { runner })
    const svc = installedService({ env: s.env, backend: "systemd" })
    expect(svc).toMatchObject({ port: 18999, home: s.gwHome, argv: ["/opt/gw", "run", "--home", s.gwHome, "--port", "18999"], generated: true })
    expect(svc?.location.scope).toBe("user")
  })
})
