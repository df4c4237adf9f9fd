/**
 * install/install.sh end to end, under dash: a local release server on 127.0.0.1 serves the compiled binary as this
 * machine's release artefact, and each run gets a temporary HOME and TMPDIR so a test can see exactly what it left.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { copyFileSync, existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { DEFAULT_BASE_URL } from "../../src/update/platform.ts"
import {
  BINARY,
  HOST_ASSET,
  INSTALL_SH,
  bytes,
  fakeBin,
  listTree,
  mkdirp,
  removeTempDirs,
  run,
  startReleaseServer,
  sumsLine,
  tempDir,
  type ReleaseServer,
} from "./helpers.ts"

let binary: Uint8Array
let server: ReleaseServer
let version: string

beforeAll(async () => {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run 'bun run build' first`)
  binary = new Uint8Array(await Bun.file(BINARY).arrayBuffer())
  version = Bun.spawnSync([BINARY, "--version"]).stdout.toString().trim()
  const good = sumsLine(HOST_ASSET, binary)
  const wrong = sumsLine(HOST_ASSET, "something else")
  const other = sumsLine("gateway-linux-riscv64", binary)
  server = await startReleaseServer(
    {
      [`/ok/${HOST_ASSET}`]: () => new Response(Bun.file(BINARY)),
      "/ok/SHA256SUMS": bytes(good),
      [`/badsum/${HOST_ASSET}`]: () => new Response(Bun.file(BINARY)),
      "/badsum/SHA256SUMS": bytes(wrong),
      [`/noentry/${HOST_ASSET}`]: () => new Response(Bun.file(BINARY)),
      "/noentry/SHA256SUMS": bytes(other),
      [`/short/${HOST_ASSET}`]: bytes(binary.subarray(0, binary.length >> 1)),
      "/short/SHA256SUMS": bytes(good),
      "/rosetta/gateway-darwin-arm64": () => new Response(Bun.file(BINARY)),
      "/rosetta/SHA256SUMS": bytes(sumsLine("gateway-darwin-arm64", binary)),
    },
    { name: HOST_ASSET, data: binary },
  )
})
afterAll(() => {
  server?.stop()
  removeTempDirs()
})

interface Sandbox {
  home: string
  tmp: string
  bin: string
  env: Record<string, string>
}

function sandbox(extra: Record<string, string> = {}, pathPrefix?: string): Sandbox {
  const home = tempDir("home")
  const tmp = tempDir("tmp")
  const path = `${pathPrefix ? `${pathPrefix}:` : ""}${process.env.PATH ?? "/usr/bin:/bin"}`
  return { home, tmp, bin: join(home, ".local/bin"), env: { PATH: path, HOME: home, TMPDIR: tmp, ...extra } }
}

const install = (sb: Sandbox, args: string[] = []) => run(["dash", INSTALL_SH, ...args], sb.env)

/** A failed run: clear message, nothing installed, no temp files, no empty directories left in HOME. */
function expectNothingLeft(sb: Sandbox) {
  expect(listTree(sb.home)).toEqual([])
  expect(listTree(sb.tmp)).toEqual([])
}

describe("install.sh", () => {
  test("is POSIX sh: parses under sh -n and dash -n, main runs on the last line, one default base URL", () => {
    expect(Bun.spawnSync(["sh", "-n", INSTALL_SH]).exitCode).toBe(0)
    expect(Bun.spawnSync(["dash", "-n", INSTALL_SH]).exitCode).toBe(0)
    const text = readFileSync(INSTALL_SH, "utf8")
    expect(text.trimEnd().split("\n").at(-1)).toBe('main "$@"')
    expect(text).toContain(`DEFAULT_BASE_URL="${DEFAULT_BASE_URL}"`)
  })

  test("downloads, verifies and installs into ~/.local/bin; a re-run is a no-op; the binary runs", async () => {
    const sb = sandbox({ GATEWAY_INSTALL_BASE_URL: `${server.url}/ok/` })
    const r = await install(sb)
    expect(r.err).toContain(`checksum ok (${HOST_ASSET})`)
    expect(r.err).toContain(`installed gateway ${version} to ${sb.bin}/gateway`)
    expect(r.err).toContain(`${sb.bin} is not on your PATH`)
    expect(r.code).toBe(0)
    expect(listTree(sb.bin)).toEqual(["gateway"])
    expect(statSync(join(sb.bin, "gateway")).mode & 0o777).toBe(0o755)
    expect(
      Bun.spawnSync([join(sb.bin, "gateway"), "--version"])
        .stdout.toString()
        .trim(),
    ).toBe(version)
    expect(listTree(sb.tmp)).toEqual([])

    const ino = statSync(join(sb.bin, "gateway")).ino
    const again = await install(sb)
    expect(again.code).toBe(0)
    expect(again.err).toContain(`gateway ${version} is already installed at ${sb.bin}/gateway`)
    expect(statSync(join(sb.bin, "gateway")).ino).toBe(ino)
    expect(listTree(sb.bin)).toEqual(["gateway"])
    expect(listTree(sb.tmp)).toEqual([])
  })

  test("upgrades in place while the old binary runs: atomic rename, the running process is untouched", async () => {
    const sb = sandbox({ GATEWAY_INSTALL_BASE_URL: `${server.url}/ok` })
    expect((await install(sb)).code).toBe(0)
    const target = join(sb.bin, "gateway")
    const gwHome = mkdirp(join(sb.home, ".gateway"))
    const running = Bun.spawn([target, "run", "--port", "0"], {
      env: { PATH: sb.env.PATH!, HOME: sb.home, GATEWAY_HOME: gwHome, XDG_CACHE_HOME: join(sb.home, ".cache") },
      stdout: "ignore",
      stderr: "ignore",
    })
    try {
      await Bun.sleep(300)
      const next = join(tempDir("next"), "gateway-next")
      writeFileSync(next, "#!/bin/sh\necho 9.9.9\n")
      const r = await install(sb, ["--binary", next])
      expect(r.err).toContain("note: no --sums given")
      expect(r.err).toContain(`installed gateway 9.9.9 to ${target}`)
      expect(r.code).toBe(0)
      expect(running.exitCode).toBeNull() // still running its (now unlinked) old file
      expect(Bun.spawnSync([target, "--version"]).stdout.toString().trim()).toBe("9.9.9")
      expect(listTree(sb.bin)).toEqual(["gateway"])
    } finally {
      running.kill()
      await running.exited
    }
  })

  test("a checksum mismatch installs nothing and says why", async () => {
    const sb = sandbox({ GATEWAY_INSTALL_BASE_URL: `${server.url}/badsum` })
    const r = await install(sb)
    expect(r.code).not.toBe(0)
    expect(r.err).toContain(`gateway-install: error: checksum mismatch for ${HOST_ASSET}`)
    expect(r.err).toContain("nothing was installed")
    expectNothingLeft(sb)
  })

  test("a release without an entry for this platform installs nothing", async () => {
    const sb = sandbox({ GATEWAY_INSTALL_BASE_URL: `${server.url}/noentry` })
    const r = await install(sb)
    expect(r.code).not.toBe(0)
    expect(r.err).toContain(`SHA256SUMS has no entry for ${HOST_ASSET}`)
    expectNothingLeft(sb)
  })

  test("truncated downloads install nothing: short body, dropped connection, Content-Length not met", async () => {
    const short = sandbox({ GATEWAY_INSTALL_BASE_URL: `${server.url}/short` })
    const a = await install(short)
    expect(a.code).not.toBe(0)
    expect(a.err).toContain("checksum mismatch")
    expectNothingLeft(short)

    const drop = sandbox({ GATEWAY_INSTALL_BASE_URL: server.droppedUrl })
    const b = await install(drop)
    expect(b.code).not.toBe(0)
    expect(b.err).toContain(`could not download ${server.droppedUrl}/${HOST_ASSET}`)
    expectNothingLeft(drop)

    const lying = sandbox({ GATEWAY_INSTALL_BASE_URL: server.lyingUrl })
    const c = await install(lying)
    expect(c.code).not.toBe(0)
    expect(c.err).toMatch(/transfer closed with \d+ bytes remaining/) // curl's own words
    expect(c.err).toContain(`could not download ${server.lyingUrl}/${HOST_ASSET}`)
    expectNothingLeft(lying)
  })

  test("an unknown architecture, a non-Linux/macOS system and musl are refused before any download", async () => {
    const sparc = sandbox({ GATEWAY_INSTALL_BASE_URL: `${server.url}/ok` }, fakeBin({ uname: 'case "$1" in -s) echo Linux ;; -m) echo sparc64 ;; esac' }))
    const a = await install(sparc)
    expect(a.code).not.toBe(0)
    expect(a.err).toContain("unsupported architecture 'sparc64'")
    expect(a.err).not.toContain("downloading")
    expectNothingLeft(sparc)

    const bsd = sandbox({ GATEWAY_INSTALL_BASE_URL: `${server.url}/ok` }, fakeBin({ uname: 'case "$1" in -s) echo FreeBSD ;; -m) echo amd64 ;; esac' }))
    const b = await install(bsd)
    expect(b.code).not.toBe(0)
    expect(b.err).toContain("unsupported operating system 'FreeBSD'")
    expectNothingLeft(bsd)

    const musl = sandbox(
      { GATEWAY_INSTALL_BASE_URL: `${server.url}/ok` },
      fakeBin({ uname: 'case "$1" in -s) echo Linux ;; -m) echo x86_64 ;; esac', ldd: 'echo "musl libc (x86_64)"; echo "Version 1.2.4"' }),
    )
    const c = await install(musl)
    expect(c.code).not.toBe(0)
    expect(c.err).toContain("musl libc")
    expect(c.err).toContain("no musl build yet")
    expectNothingLeft(musl)
  })

  test("an x64 shell under Rosetta 2 gets the native darwin-arm64 build", async () => {
    const bin = fakeBin({ uname: 'case "$1" in -s) echo Darwin ;; -m) echo x86_64 ;; esac', sysctl: '[ "$2" = sysctl.proc_translated ] && echo 1' })
    const sb = sandbox({ GATEWAY_INSTALL_BASE_URL: `${server.url}/rosetta` }, bin)
    const r = await install(sb)
    expect(r.err).toContain("Rosetta 2 detected")
    expect(r.err).toContain(`downloading ${server.url}/rosetta/gateway-darwin-arm64`)
    expect(r.code).toBe(0)
    expect(listTree(sb.bin)).toEqual(["gateway"])
  })

  test("works with wget when there is no curl; GATEWAY_INSTALL_DIR on PATH gets no hint", async () => {
    // A PATH holding only the tools the script needs, with wget instead of curl.
    const tools = [
      "sh",
      "uname",
      "mktemp",
      "wget",
      "sha256sum",
      "awk",
      "grep",
      "chmod",
      "mv",
      "cp",
      "rm",
      "rmdir",
      "mkdir",
      "cmp",
      "cat",
      "dirname",
      "basename",
    ]
    const bin = tempDir("wgetbin")
    for (const t of tools) {
      const p = Bun.which(t)
      if (!p) throw new Error(`missing tool for this test: ${t}`)
      symlinkSync(p, join(bin, t))
    }
    const home = tempDir("home")
    const dir = join(home, "opt/bin")
    const sb: Sandbox = {
      home,
      tmp: tempDir("tmp"),
      bin: dir,
      env: { PATH: `${dir}:${bin}`, HOME: home, GATEWAY_INSTALL_DIR: dir, GATEWAY_INSTALL_BASE_URL: `${server.url}/ok` },
    }
    sb.env.TMPDIR = sb.tmp
    const r = await run([Bun.which("dash")!, INSTALL_SH], sb.env)
    expect(r.err).toContain(`installed gateway ${version} to ${dir}/gateway`)
    expect(r.err).not.toContain("not on your PATH")
    expect(r.code).toBe(0)
    expect(listTree(dir)).toEqual(["gateway"])
    expect(listTree(sb.tmp)).toEqual([])

    const bad = { ...sb, home: tempDir("home"), tmp: tempDir("tmp") }
    bad.env = { ...sb.env, HOME: bad.home, TMPDIR: bad.tmp, GATEWAY_INSTALL_DIR: join(bad.home, "bin"), GATEWAY_INSTALL_BASE_URL: server.lyingUrl }
    const t = await run([Bun.which("dash")!, INSTALL_SH], bad.env)
    expect(t.code).not.toBe(0)
    expect(t.err).toContain("could not download")
    expectNothingLeft(bad)
  })

  test("--binary installs a local file offline; --sums verifies it and fails closed", async () => {
    const dl = tempDir("dl")
    const local = join(dl, HOST_ASSET)
    copyFileSync(BINARY, local)
    writeFileSync(join(dl, "SHA256SUMS"), sumsLine(HOST_ASSET, binary))
    writeFileSync(join(dl, "BAD_SUMS"), sumsLine(HOST_ASSET, "not it"))

    const offline = sandbox({ GATEWAY_INSTALL_BASE_URL: "http://127.0.0.1:1/unreachable" })
    const a = await install(offline, ["--binary", local, "--sums", join(dl, "SHA256SUMS")])
    expect(a.err).toContain(`checksum ok (${HOST_ASSET})`)
    expect(a.code).toBe(0)
    expect(
      Bun.spawnSync([join(offline.bin, "gateway"), "--version"])
        .stdout.toString()
        .trim(),
    ).toBe(version)
    expect(listTree(offline.tmp)).toEqual([])

    const bad = sandbox()
    const b = await install(bad, ["--binary", local, "--sums", join(dl, "BAD_SUMS")])
    expect(b.code).not.toBe(0)
    expect(b.err).toContain(`checksum mismatch for ${HOST_ASSET}`)
    expectNothingLeft(bad)

    const broken = join(dl, "broken")
    writeFileSync(broken, "#!/bin/sh\nexit 3\n")
    const c = await install(sandbox(), ["--binary", broken])
    expect(c.code).not.toBe(0)
    expect(c.err).toContain("the new binary does not run on this system")

    const missing = await install(sandbox(), ["--binary", join(dl, "nope")])
    expect(missing.err).toContain("--binary: no such file")
    expect((await install(sandbox(), ["--frobnicate"])).err).toContain("unknown option '--frobnicate'")
  })

  test("--service runs '<bin> install' after installing; --dir picks the directory", async () => {
    const sb = sandbox()
    const fake = join(tempDir("fake"), "gateway")
    writeFileSync(fake, '#!/bin/sh\ncase "$1" in --version) echo 9.9.9 ;; install) echo "$0 $*" > "$HOME/service-installed" ;; esac\n')
    const dir = join(sb.home, "apps")
    const r = await install(sb, ["--binary", fake, "--dir", dir, "--service"])
    expect(r.code).toBe(0)
    expect(readFileSync(join(sb.home, "service-installed"), "utf8").trim()).toBe(`${dir}/gateway install`)
  })
})
