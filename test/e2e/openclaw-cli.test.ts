/**
 * OpenClaw's own CLI (openclaw@2026.9.6 on Node 24) against our compiled gateway. The CLI is ~650 MB, so it is not
 * installed by CI: these tests run where ../shared/tools/openclaw has installed it (its cache) or OPENCLAW_CLI points
 * at an openclaw executable, and are skipped, visibly, elsewhere.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { E2E_TOKEN, startBinary, type GatewayProcess } from "./harness.ts"

const cache = join(userInfo().homedir, ".cache", "gateway-dev")
const openclaw = process.env.OPENCLAW_CLI ?? join(cache, "openclaw", "node_modules", ".bin", "openclaw")
const nodeBin = join(cache, "node24", "node_modules", ".bin")
const available = existsSync(openclaw) && (!!process.env.OPENCLAW_CLI || existsSync(join(nodeBin, "node")))
if (!available) console.warn(`openclaw-cli.test.ts: OpenClaw CLI not installed (${openclaw}); run ../shared/tools/openclaw --version once to enable`)

let gw: GatewayProcess
const state = mkdtempSync(join(tmpdir(), "openclaw-state-"))

function oc(args: string[]) {
  const r = Bun.spawnSync([openclaw, ...args], {
    env: { PATH: `${nodeBin}:${process.env.PATH}`, HOME: state, OPENCLAW_STATE_DIR: state },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 60_000,
  })
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() }
}

describe.skipIf(!available)("OpenClaw 2026.9.6 CLI against our gateway", () => {
  beforeAll(async () => {
    gw = await startBinary({ args: ["--token", E2E_TOKEN], config: { models: { default: "fake/fake-model" } } })
  })
  afterAll(async () => {
    await gw?.stop()
  })

  test("openclaw gateway health --json prints ok:true", () => {
    const r = oc(["gateway", "health", "--url", gw.url, "--token", E2E_TOKEN, "--json"])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out).ok).toBe(true)
  }, 60_000)

  for (const method of ["status", "system-presence", "config.get", "logs.tail", "models.list"]) {
    test(`openclaw gateway call ${method} exits 0 with our payload`, () => {
      const r = oc(["gateway", "call", method, "--url", gw.url, "--token", E2E_TOKEN, "--json"])
      expect(r.code).toBe(0)
      const payload = JSON.parse(r.out)
      if (method === "status") expect(payload.gateway.port).toBe(gw.port)
      if (method === "system-presence") expect(payload[0].mode).toBe("gateway")
      if (method === "config.get") expect(payload.path).toBe(join(gw.home, "gateway.json"))
      if (method === "logs.tail") expect(payload.lines.length).toBeGreaterThan(0)
      if (method === "models.list") expect(payload.models[0].id).toBe("fake-model")
    }, 60_000)
  }

  test("a wrong token fails the way OpenClaw's gateway fails it", () => {
    const r = oc(["gateway", "call", "status", "--url", gw.url, "--token", "wrong", "--json"])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.out).error.details.code).toBe("AUTH_TOKEN_MISMATCH")
  }, 60_000)
})
