/**
 * tools.exec.sandbox "bwrap": commands run in bubblewrap with the roots writable, the system read-only, a private
 * /tmp, the gateway's HOME, the state home hidden and no network unless tools.exec.sandboxNetwork. Skipped (with the
 * reason in the name) where bwrap is not installed; CI installs Debian's bubblewrap.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { createExecTool } from "../../../src/agent/tools/exec.ts"
import { ToolPolicy } from "../../../src/agent/tools/policy.ts"
import { ProcessRegistry } from "../../../src/agent/tools/process.ts"
import { bwrapArgv } from "../../../src/agent/tools/sandbox.ts"
import type { ConfigInput } from "../../../src/config/schema.ts"
import { call, tempDir, toolsConfig } from "./helpers.ts"

type Exec = NonNullable<NonNullable<ConfigInput["tools"]>["exec"]>

const HAVE_BWRAP = !!Bun.which("bwrap")

/** A daemon-like layout: <state>/workspace, <state>/exec-home, and a secret beside them in the state home. */
function setup(exec: Exec) {
  const state = tempDir("gw-sbx-")
  const ws = join(state, "workspace")
  mkdirSync(ws)
  writeFileSync(join(state, "gateway.token"), "state-home-secret")
  const outside = tempDir("gw-sbx-outside-")
  const policy = new ToolPolicy(toolsConfig({ exec: { mode: "full", sandbox: "bwrap", ...exec } }), ws)
  const tool = createExecTool({ policy, processes: new ProcessRegistry({ killGraceMs: 200 }), approve: async () => true })
  return { state, ws, outside, policy, exec: tool }
}

test("a missing bwrap is a clear error naming tools.exec.sandbox", () => {
  expect(() => bwrapArgv({ roots: ["/x"], home: "/h", cwd: "/x", network: false, hide: [] }, () => null)).toThrow(
    /tools\.exec\.sandbox.*bwrap|bwrap.*tools\.exec\.sandbox/,
  )
})

describe.skipIf(!HAVE_BWRAP)(`bwrap sandbox${HAVE_BWRAP ? "" : " (skipped: bwrap is not installed; apt-get install bubblewrap)"}`, () => {
  let server: { port: number; stop(closeActive?: boolean): void } | undefined
  beforeAll(() => {
    server = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data() {},
        open(s) {
          s.end()
        },
      },
    })
  })
  afterAll(() => server?.stop(true))

  test("writes inside the roots work; outside them they fail; /tmp is private", async () => {
    const { ws, outside, exec } = setup({})
    const tmpName = `/tmp/gw-sbx-private-${crypto.randomUUID()}`
    const r = await call(exec, { command: `touch inside; touch ${outside}/escaped; touch ${tmpName} && echo tmp-ok; echo done` }, ws)
    expect(r.output).toContain("done")
    expect(r.output).toContain("tmp-ok")
    expect(existsSync(join(ws, "inside"))).toBe(true)
    expect(existsSync(join(outside, "escaped"))).toBe(false)
    expect(existsSync(tmpName)).toBe(false)
  })

  test("the system is read-only and the state home (token, database) is hidden; HOME is writable", async () => {
    const { state, ws, exec } = setup({})
    const r = await call(
      exec,
      { command: `touch /usr/gw-sbx-probe || echo ro-ok; cat ${state}/gateway.token || echo hidden-ok; touch "$HOME/h" && echo home-ok` },
      ws,
    )
    expect(r.output).toContain("ro-ok")
    expect(r.output).toContain("hidden-ok")
    expect(r.output).not.toContain("state-home-secret")
    expect(r.output).toContain("home-ok")
    expect(existsSync(join(state, "exec-home", "h"))).toBe(true)
  })

  test("no network unless tools.exec.sandboxNetwork", async () => {
    const port = server!.port
    const probe = `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}' 2>/dev/null && echo connected || echo no-network`
    const closed = setup({})
    expect((await call(closed.exec, { command: probe }, closed.ws)).output).toContain("no-network")
    const open = setup({ sandboxNetwork: true })
    expect((await call(open.exec, { command: probe }, open.ws)).output).toContain("connected")
  })

  test("allowlisted commands run in the sandbox too: a listed interpreter's script cannot write outside the roots", async () => {
    const { ws, outside, exec } = setup({ mode: "allowlist", allowlist: ["sh"] })
    writeFileSync(join(ws, "escape.sh"), `touch ${outside}/x\ntouch inside\n`)
    expect((await call(exec, { command: "sh escape.sh" }, ws)).output).toContain("[exit code 0")
    expect(existsSync(join(ws, "inside"))).toBe(true)
    expect(existsSync(join(outside, "x"))).toBe(false)
  })

  test("a timeout still kills everything inside the sandbox", async () => {
    const { ws, exec } = setup({})
    const started = Date.now()
    const r = await call(exec, { command: "sleep 30", timeoutSeconds: 1 }, ws)
    expect(r.output).toContain("timed out")
    expect(Date.now() - started).toBeLessThan(5000)
  })
})
