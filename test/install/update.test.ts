/**
 * `gateway update` from the compiled binary, end to end: a COPY of dist/gateway in a temporary dir updates itself from
 * a local release server (never dist/gateway itself). The "new release" is a small script that prints 9.9.9, so a
 * replaced binary is unmistakable; a fake systemctl first on PATH records the service restart.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import {
  BINARY,
  HOST_ASSET,
  bytes,
  fakeBin,
  listTree,
  mkdirp,
  removeTempDirs,
  run,
  sha256,
  startReleaseServer,
  sumsLine,
  tempDir,
  type ReleaseServer,
} from "./helpers.ts"

const NEXT = '#!/bin/sh\n[ "$1" = --version ] && echo 9.9.9\n'
const BROKEN = "#!/bin/sh\nexit 132\n"

let server: ReleaseServer
let binary: Uint8Array
let original: string

beforeAll(async () => {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run 'bun run build' first`)
  const help = Bun.spawnSync([BINARY, "--help"]).stdout.toString()
  if (!/\bupdate\b/.test(help)) throw new Error(`${BINARY} has no 'update' command: register it in cli/commands/index.ts and rebuild`)
  binary = new Uint8Array(await Bun.file(BINARY).arrayBuffer())
  original = sha256(binary)
  server = await startReleaseServer(
    {
      [`/next/${HOST_ASSET}`]: bytes(NEXT),
      "/next/SHA256SUMS": bytes(sumsLine(HOST_ASSET, NEXT)),
      [`/same/${HOST_ASSET}`]: () => new Response(Bun.file(BINARY)),
      "/same/SHA256SUMS": bytes(sumsLine(HOST_ASSET, binary)),
      [`/tampered/${HOST_ASSET}`]: bytes(NEXT),
      "/tampered/SHA256SUMS": bytes(sumsLine(HOST_ASSET, "the real release")),
      [`/broken/${HOST_ASSET}`]: bytes(BROKEN),
      "/broken/SHA256SUMS": bytes(sumsLine(HOST_ASSET, BROKEN)),
    },
    // The raw server's release differs from the copy (same bytes would be "up to date" without a download).
    { name: HOST_ASSET, data: new Uint8Array(4 << 20).fill(7) },
  )
})
afterAll(() => {
  server?.stop()
  removeTempDirs()
})

interface Copy {
  dir: string
  exe: string
  home: string
  env: Record<string, string>
}

/** A fresh copy of the compiled binary with its own HOME; `pathPrefix` puts fake tools first on PATH. */
function copy(base: string, pathPrefix?: string): Copy {
  const dir = tempDir("bin")
  const exe = join(dir, "gateway")
  copyFileSync(BINARY, exe)
  const home = tempDir("home")
  const path = `${pathPrefix ? `${pathPrefix}:` : ""}${process.env.PATH ?? "/usr/bin:/bin"}`
  const env = { PATH: path, HOME: home, GATEWAY_HOME: join(home, ".gateway"), XDG_CACHE_HOME: join(home, ".cache"), GATEWAY_INSTALL_BASE_URL: base }
  return { dir, exe, home, env }
}

const update = (c: Copy, args: string[] = []) => run([c.exe, "update", ...args], c.env)

describe("gateway update (compiled)", () => {
  test("replaces the running binary with the verified release; no service → says so", async () => {
    const c = copy(`${server.url}/next`)
    const r = await update(c)
    expect(r.out).toContain(`updated ${c.exe}: `)
    expect(r.out).toContain("→ 9.9.9")
    expect(r.out).toContain("no installed service found")
    expect(r.err).toContain(`checksum ok (${HOST_ASSET})`)
    expect(r.code).toBe(0)
    expect(readFileSync(c.exe, "utf8")).toBe(NEXT)
    expect(Bun.spawnSync([c.exe, "--version"]).stdout.toString().trim()).toBe("9.9.9")
    expect(listTree(c.dir)).toEqual(["gateway"])
  })

  test("a mismatched checksum is refused and the old binary stays, byte for byte", async () => {
    const c = copy(`${server.url}/tampered`)
    const r = await update(c, ["--json"])
    expect(r.code).toBe(1)
    const body = JSON.parse(r.out)
    expect(body.ok).toBe(false)
    expect(body.error.code).toBe("CHECKSUM_MISMATCH")
    expect(body.error.message).toContain(`checksum mismatch for ${HOST_ASSET}`)
    expect(body.error.message).toContain("nothing was changed")
    expect(sha256(readFileSync(c.exe))).toBe(original)
    expect(listTree(c.dir)).toEqual(["gateway"])
    const human = await update(c)
    expect(human.code).toBe(1)
    expect(human.err).toContain("gateway: checksum mismatch")
  })

  test("a new binary that cannot run is refused; a truncated download is refused", async () => {
    const c = copy(`${server.url}/broken`)
    const r = await update(c, ["--json"])
    expect(JSON.parse(r.out).error.code).toBe("SMOKE_TEST_FAILED")
    const t = await update(c, ["--json", "--base-url", server.lyingUrl])
    expect(JSON.parse(t.out).error.code).toBe("DOWNLOAD_FAILED")
    expect(sha256(readFileSync(c.exe))).toBe(original)
    expect(listTree(c.dir)).toEqual(["gateway"])
  })

  test("the same release is up to date; --check reports an update without changing anything", async () => {
    const c = copy(`${server.url}/same`)
    const same = await update(c)
    expect(same.code).toBe(0)
    expect(same.out).toContain("is up to date")
    const check = await update(c, ["--check", "--json", "--base-url", `${server.url}/next`])
    expect(check.code).toBe(0)
    expect(JSON.parse(check.out)).toMatchObject({ ok: true, action: "update-available", current: { sha256: original }, next: { sha256: sha256(NEXT) } })
    expect(sha256(readFileSync(c.exe))).toBe(original)
  })

  test("restarts an installed systemd user service; --dry-run only prints the command", async () => {
    const bin = fakeBin({ systemctl: 'echo "$*" >> "$HOME/systemctl.log"' })
    const c = copy(`${server.url}/next`, bin)
    writeFileSync(join(mkdirp(join(c.home, ".config/systemd/user")), "gateway.service"), "[Service]\n")
    const log = join(c.home, "systemctl.log")

    const dry = await update(c, ["--dry-run"])
    expect(dry.code).toBe(0)
    expect(dry.out).toContain("dry run, nothing changed")
    expect(dry.out).toContain("would restart the systemd-user service: systemctl --user restart gateway")
    expect(existsSync(log)).toBe(false)
    expect(sha256(readFileSync(c.exe))).toBe(original)
    expect(listTree(c.dir)).toEqual(["gateway"])

    const r = await update(c, ["--json"])
    expect(r.code).toBe(0)
    const body = JSON.parse(r.out)
    expect(body).toMatchObject({ ok: true, action: "updated", verified: true, path: c.exe, next: { version: "9.9.9" } })
    expect(body.services).toEqual([
      {
        kind: "systemd-user",
        file: join(c.home, ".config/systemd/user/gateway.service"),
        restart: ["systemctl", "--user", "restart", "gateway"],
        restarted: true,
      },
    ])
    expect(readFileSync(log, "utf8")).toBe("--user restart gateway\n")
  })

  test("a failing restart exits 1 with the command to run, after the binary was replaced", async () => {
    const bin = fakeBin({ systemctl: 'echo "Failed to connect to bus" >&2; exit 1' })
    const c = copy(`${server.url}/next`, bin)
    writeFileSync(join(mkdirp(join(c.home, ".config/systemd/user")), "gateway.service"), "[Service]\n")
    const r = await update(c)
    expect(r.code).toBe(1)
    expect(r.err).toContain("restarting the systemd-user service failed: Failed to connect to bus; run: systemctl --user restart gateway")
    expect(readFileSync(c.exe, "utf8")).toBe(NEXT)
  })

  test("--binary with --sums updates offline", async () => {
    const c = copy("http://127.0.0.1:1/unreachable")
    const src = tempDir("src")
    writeFileSync(join(src, HOST_ASSET), NEXT)
    writeFileSync(join(src, "SHA256SUMS"), sumsLine(HOST_ASSET, NEXT))
    const r = await update(c, ["--binary", join(src, HOST_ASSET), "--sums", join(src, "SHA256SUMS"), "--json"])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toMatchObject({ action: "updated", verified: true, source: join(src, HOST_ASSET) })
    expect(readFileSync(c.exe, "utf8")).toBe(NEXT)
  })
})
