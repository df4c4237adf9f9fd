/** src/update in process: platform mapping, SHA256SUMS parsing, service detection, and runUpdate's failure paths. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { chmodSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { downloadTo } from "../../src/update/download.ts"
import {
  DEFAULT_BASE_URL,
  UpdateError,
  assetName,
  detectServices,
  expectedSum,
  parseSums,
  resolveBaseUrl,
  runUpdate,
  type ServiceProbe,
} from "../../src/update/index.ts"
import { HOST_ASSET, bytes, listTree, removeTempDirs, sha256, startReleaseServer, sumsLine, tempDir, type ReleaseServer } from "./helpers.ts"

const script = (body: string) => `#!/bin/sh\n${body}\n`
const OLD = script('echo 1.0.0; [ "$1" = --version ] || exit 2')
const NEW = script('[ "$1" = --version ] && echo 2.0.0')
const BROKEN = script("echo 'Illegal instruction' >&2; exit 132")

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    if (err instanceof UpdateError) return err.data.code
    throw err
  }
  return "resolved"
}

describe("platform", () => {
  test("maps Node's platform/arch (and uname spellings) to release artefacts; Rosetta gets arm64", () => {
    expect(assetName("linux", "x64")).toBe("gateway-linux-x64")
    expect(assetName("linux", "arm64")).toBe("gateway-linux-arm64")
    expect(assetName("linux", "aarch64")).toBe("gateway-linux-arm64")
    expect(assetName("darwin", "x86_64")).toBe("gateway-darwin-x64")
    expect(assetName("darwin", "x64", { rosetta: true })).toBe("gateway-darwin-arm64")
    expect(assetName("linux", "x64", { rosetta: true })).toBe("gateway-linux-x64")
    expect(() => assetName("linux", "riscv64")).toThrow("no release build for architecture 'riscv64'")
    expect(() => assetName("win32", "x64")).toThrow(UpdateError)
  })

  test("base URL: flag, then GATEWAY_INSTALL_BASE_URL, then the default; the installer spells the same default", () => {
    expect(resolveBaseUrl("http://a/b/", { GATEWAY_INSTALL_BASE_URL: "http://env" })).toBe("http://a/b")
    expect(resolveBaseUrl(undefined, { GATEWAY_INSTALL_BASE_URL: "http://env//" })).toBe("http://env")
    expect(resolveBaseUrl(undefined, {})).toBe(DEFAULT_BASE_URL)
    expect(() => resolveBaseUrl("ftp://x", {})).toThrow("base URL must be http(s)")
    expect(readFileSync(join(import.meta.dir, "../../install/install.sh"), "utf8")).toContain(`DEFAULT_BASE_URL="${DEFAULT_BASE_URL}"`)
  })
})

describe("SHA256SUMS", () => {
  const a = "a".repeat(64)
  const B = "B".repeat(64)
  test("parses text and binary mode lines, CRLF, upper case; ignores junk; missing entries fail closed", () => {
    const sums = parseSums(`${a}  gateway-linux-x64\r\n${B} *gateway-darwin-arm64\n# comment\nnot a line\n${"c".repeat(63)}  short\n\n`)
    expect([...sums]).toEqual([
      ["gateway-linux-x64", a],
      ["gateway-darwin-arm64", "b".repeat(64)],
    ])
    expect(expectedSum(`${a}  gateway-linux-x64\n`, "gateway-linux-x64")).toBe(a)
    expect(() => expectedSum(`${a}  gateway-linux-x64\n`, "gateway-linux-arm64")).toThrow("SHA256SUMS has no entry for gateway-linux-arm64")
  })
})

describe("service detection", () => {
  const probe = (files: Record<string, string>, over: Partial<ServiceProbe> = {}): ServiceProbe => ({
    platform: "linux",
    home: "/home/u",
    uid: 501,
    env: {},
    execPath: "/home/u/.local/bin/gateway",
    exists: (p) => p in files || Object.keys(files).some((f) => f.startsWith(`${p}/`)),
    listDir: (d) =>
      Object.keys(files)
        .filter((f) => f.startsWith(`${d}/`))
        .map((f) => f.slice(d.length + 1)),
    readFile: (f) => files[f] ?? "",
    ...over,
  })

  test("systemd: the user unit (XDG_CONFIG_HOME respected) and the system unit", () => {
    expect(detectServices(probe({}))).toEqual([])
    expect(detectServices(probe({ "/home/u/.config/systemd/user/gateway.service": "" }))).toEqual([
      { kind: "systemd-user", file: "/home/u/.config/systemd/user/gateway.service", restart: ["systemctl", "--user", "restart", "gateway"] },
    ])
    const both = probe({ "/x/systemd/user/gateway.service": "", "/etc/systemd/system/gateway.service": "" }, { env: { XDG_CONFIG_HOME: "/x" } })
    expect(detectServices(both).map((s) => s.restart.join(" "))).toEqual(["systemctl --user restart gateway", "systemctl restart gateway"])
    const staged = probe({ "/usr/lib/systemd/system/gateway.service": "" })
    expect(detectServices(staged)).toEqual([
      { kind: "systemd-system", file: "/usr/lib/systemd/system/gateway.service", restart: ["systemctl", "restart", "gateway"] },
    ])
  })

  test("launchd: the plist with the default label, or any plist that runs this binary", () => {
    const dir = "/Users/u/Library/LaunchAgents"
    const plist = (label: string, program: string) =>
      `<plist><dict><key>Label</key><string>${label}</string><key>ProgramArguments</key><array><string>${program}</string><string>run</string></array></dict></plist>`
    const mac = { platform: "darwin", home: "/Users/u", execPath: "/Users/u/.local/bin/gateway" }
    const files = {
      [`${dir}/ai.gateway.plist`]: plist("ai.gateway", "/elsewhere/gateway"),
      [`${dir}/com.example.mine.plist`]: plist("com.example.mine", "/Users/u/.local/bin/gateway"),
      [`${dir}/com.other.plist`]: plist("com.other", "/usr/bin/other"),
    }
    expect(detectServices(probe(files, mac)).map((s) => s.restart.join(" "))).toEqual([
      "launchctl kickstart -k gui/501/ai.gateway",
      "launchctl kickstart -k gui/501/com.example.mine",
    ])
    expect(detectServices(probe(files, { ...mac, env: { GATEWAY_LAUNCHD_LABEL: "com.other" }, execPath: "/nowhere" })).map((s) => s.file)).toEqual([
      `${dir}/com.other.plist`,
    ])
  })
})

describe("runUpdate (in process, fake binaries)", () => {
  let server: ReleaseServer
  const fixed = { platform: "linux", arch: "x64" }
  const name = "gateway-linux-x64"
  beforeAll(async () => {
    server = await startReleaseServer(
      {
        [`/new/${name}`]: bytes(NEW),
        "/new/SHA256SUMS": bytes(sumsLine(name, NEW)),
        [`/same/${name}`]: bytes(OLD),
        "/same/SHA256SUMS": bytes(sumsLine(name, OLD)),
        [`/bad/${name}`]: bytes(NEW),
        "/bad/SHA256SUMS": bytes(sumsLine(name, "tampered")),
        [`/broken/${name}`]: bytes(BROKEN),
        "/broken/SHA256SUMS": bytes(sumsLine(name, BROKEN)),
        "/gone/SHA256SUMS": bytes(sumsLine(name, NEW)),
      },
      { name, data: new TextEncoder().encode(NEW.repeat(1000)) },
    )
  })
  afterAll(() => {
    server?.stop()
    removeTempDirs()
  })

  function oldBinary(): { dir: string; path: string } {
    const dir = tempDir("upd")
    const path = join(dir, "gateway")
    writeFileSync(path, OLD)
    chmodSync(path, 0o755)
    return { dir, path }
  }

  test("replaces the binary, restarts each detected service, leaves no staged file", async () => {
    const { dir, path } = oldBinary()
    const restarted: string[] = []
    const r = await runUpdate({
      ...fixed,
      execPath: path,
      baseUrl: `${server.url}/new`,
      services: [{ kind: "systemd-user", file: "/u", restart: ["systemctl", "--user", "restart", "gateway"] }],
      restart: (s) => (restarted.push(s.restart.join(" ")), { ok: true, code: 0, output: "" }),
    })
    expect(r).toMatchObject({ ok: true, action: "updated", verified: true, next: { version: "2.0.0", sha256: sha256(NEW) } })
    expect(r.services[0]?.restarted).toBe(true)
    expect(restarted).toEqual(["systemctl --user restart gateway"])
    expect(readFileSync(path, "utf8")).toBe(NEW)
    expect(listTree(dir)).toEqual(["gateway"])
  })

  test("a failed restart is reported (ok false) after the binary was replaced", async () => {
    const { path } = oldBinary()
    const r = await runUpdate({
      ...fixed,
      execPath: path,
      baseUrl: `${server.url}/new`,
      services: [{ kind: "systemd-system", file: "/etc/x", restart: ["systemctl", "restart", "gateway"] }],
      restart: () => ({ ok: false, code: 1, output: "Access denied" }),
    })
    expect(r.ok).toBe(false)
    expect(r.services[0]).toMatchObject({ restarted: false, error: "Access denied" })
    expect(readFileSync(path, "utf8")).toBe(NEW)
  })

  test("--check and --dry-run change nothing; the same checksum is up to date without a download", async () => {
    const { dir, path } = oldBinary()
    const services = [{ kind: "launchd" as const, file: "/p", restart: ["launchctl", "kickstart", "-k", "gui/1/ai.gateway"] }]
    const restart = () => {
      throw new Error("must not restart")
    }
    const check = await runUpdate({ ...fixed, execPath: path, baseUrl: `${server.url}/new`, check: true, services, restart })
    expect(check).toMatchObject({ action: "update-available", next: { sha256: sha256(NEW) } })
    const dry = await runUpdate({ ...fixed, execPath: path, baseUrl: `${server.url}/new`, dryRun: true, services, restart })
    expect(dry).toMatchObject({ action: "would-update", next: { version: "2.0.0" } })
    expect(dry.services[0]?.restarted).toBeNull()
    // /gone has SHA256SUMS but no binary: an up-to-date check must not even try to download it.
    writeFileSync(path, NEW)
    const same = await runUpdate({ ...fixed, execPath: path, baseUrl: `${server.url}/gone`, services, restart })
    expect(same.action).toBe("up-to-date")
    writeFileSync(path, OLD)
    expect(readFileSync(path, "utf8")).toBe(OLD)
    expect(listTree(dir)).toEqual(["gateway"])
  })

  test("mismatch, missing entry, truncation, 404 and a binary that cannot run all leave the old binary intact", async () => {
    const { dir, path } = oldBinary()
    const at = (base: string) => runUpdate({ ...fixed, execPath: path, baseUrl: base, services: [] })
    expect(await code(at(`${server.url}/bad`))).toBe("CHECKSUM_MISMATCH")
    expect(await code(runUpdate({ ...fixed, arch: "arm64", execPath: path, baseUrl: `${server.url}/new`, services: [] }))).toBe("NO_SUMS_ENTRY")
    expect(await code(at(server.lyingUrl))).toBe("DOWNLOAD_FAILED")
    expect(await code(at(server.droppedUrl))).toBe("DOWNLOAD_FAILED")
    expect(await code(at(`${server.url}/gone`))).toBe("DOWNLOAD_FAILED")
    expect(await code(at(`${server.url}/nothing-here`))).toBe("DOWNLOAD_FAILED")
    expect(await code(at(`${server.url}/broken`))).toBe("SMOKE_TEST_FAILED")
    expect(await code(runUpdate({ ...fixed, execPath: path, sums: "/x" }))).toBe("BAD_ARGS")
    expect(readFileSync(path, "utf8")).toBe(OLD)
    expect(listTree(dir)).toEqual(["gateway"])
  })

  test("downloadTo names the truncation", async () => {
    const dest = join(tempDir("dl"), "f")
    await expect(downloadTo(`${server.lyingUrl}/${name}`, dest)).rejects.toThrow(/truncated: got \d+ of \d+ bytes|interrupted/)
  })

  test("--binary with --sums verifies by file name; without --sums it says it did not", async () => {
    const { path } = oldBinary()
    const src = tempDir("src")
    const local = join(src, HOST_ASSET)
    writeFileSync(local, NEW)
    writeFileSync(join(src, "SHA256SUMS"), sumsLine(HOST_ASSET, NEW))
    writeFileSync(join(src, "WRONG"), sumsLine(HOST_ASSET, "tampered"))
    expect(await code(runUpdate({ execPath: path, binary: local, sums: join(src, "WRONG"), services: [] }))).toBe("CHECKSUM_MISMATCH")
    expect(readFileSync(path, "utf8")).toBe(OLD)
    const notes: string[] = []
    const unverified = await runUpdate({ execPath: path, binary: local, dryRun: true, services: [], log: (l) => notes.push(l) })
    expect(unverified.verified).toBe(false)
    expect(notes.join("\n")).toContain("not verified")
    const ok = await runUpdate({ execPath: path, binary: local, sums: join(src, "SHA256SUMS"), services: [] })
    expect(ok).toMatchObject({ action: "updated", verified: true, source: local })
    expect(readFileSync(path, "utf8")).toBe(NEW)
  })

  test("refuses to run from source (process.execPath would be bun itself)", async () => {
    expect(await code(runUpdate({ baseUrl: `${server.url}/new` }))).toBe("NOT_COMPILED")
  })
})
