/**
 * The release build, for real (slow: cross-compiles every target; gated by RUN_RELEASE_TESTS=1): the artefacts and
 * SHA256SUMS agree, each file is an executable for its platform, install.sh installs the host's artefact straight from
 * dist/release, and the linux-arm64 binary runs `--version` and `doctor --json` under qemu-user
 * (apt-get install -y qemu-user-static libc6-arm64-cross).
 */
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { userInfo } from "node:os"
import { join } from "node:path"
import { parseSums } from "../../src/update/sums.ts"
import { HOST_ASSET, INSTALL_SH, ROOT, listTree, removeTempDirs, run, sha256, startReleaseServer, tempDir } from "./helpers.ts"

const RUN = process.env.RUN_RELEASE_TESTS === "1"
const RELEASE = join(ROOT, "dist/release")
const ARM64_SYSROOT = process.env.QEMU_LD_PREFIX || "/usr/aarch64-linux-gnu"

afterAll(() => removeTempDirs())

describe.skipIf(!RUN)("release build (RUN_RELEASE_TESTS=1)", () => {
  test("bun install/build.ts --release builds four verified artefacts plus install.sh", async () => {
    // The real HOME (test/preload.ts swaps in a temporary one): Bun caches target runtimes in ~/.bun/install/cache.
    const started = performance.now()
    const r = await run(["bun", join(ROOT, "install/build.ts"), "--release"], { PATH: process.env.PATH ?? "", HOME: userInfo().homedir }, ROOT)
    if (r.code !== 0) throw new Error(`release build failed:\n${r.out}\n${r.err}`)
    console.log(`release build: ${((performance.now() - started) / 1000).toFixed(1)} s\n${r.out.trim()}`)
    const sums = parseSums(readFileSync(join(RELEASE, "SHA256SUMS"), "utf8"))
    expect([...sums.keys()].sort()).toEqual(["gateway-darwin-arm64", "gateway-darwin-x64", "gateway-linux-arm64", "gateway-linux-x64", "install.sh"])
    for (const [name, sum] of sums) expect(sha256(readFileSync(join(RELEASE, name)))).toBe(sum)
    // ELF for Linux (machine 0x3e x86-64, 0xb7 aarch64), Mach-O 64 for macOS (cputype x86_64 / arm64).
    const head = (name: string) => readFileSync(join(RELEASE, name)).subarray(0, 20)
    expect(head("gateway-linux-x64").readUInt16LE(18)).toBe(0x3e)
    expect(head("gateway-linux-arm64").readUInt16LE(18)).toBe(0xb7)
    expect(head("gateway-darwin-x64").readUInt32LE(0)).toBe(0xfeedfacf)
    expect(head("gateway-darwin-x64").readUInt32LE(4)).toBe(0x01000007)
    expect(head("gateway-darwin-arm64").readUInt32LE(4)).toBe(0x0100000c)
  }, 600_000)

  test("install.sh installs the host artefact from dist/release, checksum-verified", async () => {
    const routes = Object.fromEntries(listTree(RELEASE).map((f) => [`/r/${f}`, () => new Response(Bun.file(join(RELEASE, f)))]))
    const server = await startReleaseServer(routes, { name: HOST_ASSET, data: new Uint8Array(16) })
    try {
      const home = tempDir("home")
      const r = await run(["dash", INSTALL_SH], {
        PATH: process.env.PATH ?? "",
        HOME: home,
        TMPDIR: tempDir("tmp"),
        GATEWAY_INSTALL_BASE_URL: `${server.url}/r`,
      })
      expect(r.err).toContain(`checksum ok (${HOST_ASSET})`)
      expect(r.code).toBe(0)
      expect(
        Bun.spawnSync([join(home, ".local/bin/gateway"), "--version"])
          .stdout.toString()
          .trim(),
      ).toMatch(/^\d+\.\d+\.\d+/)
    } finally {
      server.stop()
    }
  }, 60_000)

  test("the linux-arm64 binary runs --version and doctor --json under qemu-user", async () => {
    const qemu = Bun.which("qemu-aarch64-static") ?? Bun.which("qemu-aarch64")
    if (!qemu) throw new Error("qemu-user is not installed: apt-get install -y qemu-user-static libc6-arm64-cross")
    if (!existsSync(join(ARM64_SYSROOT, "lib/ld-linux-aarch64.so.1"))) {
      throw new Error(`no aarch64 glibc in ${ARM64_SYSROOT}: apt-get install -y libc6-arm64-cross (or set QEMU_LD_PREFIX)`)
    }
    const exe = join(RELEASE, "gateway-linux-arm64")
    const home = tempDir("arm64")
    const env = { PATH: process.env.PATH ?? "", HOME: home, GATEWAY_HOME: join(home, ".gateway"), XDG_CACHE_HOME: join(home, ".cache") }
    const v = await run([qemu, "-L", ARM64_SYSROOT, exe, "--version"], env)
    expect(v.err).toBe("")
    expect(v.code).toBe(0)
    expect(v.out.trim()).toMatch(/^\d+\.\d+\.\d+$/)
    const d = await run([qemu, "-L", ARM64_SYSROOT, exe, "doctor", "--json"], env)
    const report = JSON.parse(d.out)
    expect(report.platform).toBe("linux-arm64")
    expect(report.buildId).toEndWith("-linux-arm64")
    expect(report.vecVersion).toMatch(/^v\d/) // the embedded arm64 sqlite-vec loads
    expect(report.checks.find((c: { name: string }) => c.name === "sqlite-vec")?.status).toBe("ok")
    expect(report.ok).toBe(true)
    expect(d.code).toBe(0)
  }, 120_000)
})
