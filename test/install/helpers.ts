/**
 * Fixtures for the installer and `gateway update` tests: a local "release" server on 127.0.0.1 (one directory per
 * scenario: good, bad checksum, missing entry, short body; a raw socket for a Content-Length lie and a dropped chunked
 * transfer), temporary dirs, fake tools first on PATH, and a way to list what a run left behind.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { assetName } from "../../src/update/platform.ts"

export const ROOT = resolve(import.meta.dir, "../..")
/** The compiled host binary (`bun run build`); GATEWAY_TEST_BINARY points the tests at another build. */
export const BINARY = process.env.GATEWAY_TEST_BINARY || join(ROOT, "dist/gateway")
export const INSTALL_SH = join(ROOT, "install/install.sh")
/** The release artefact name for this machine, e.g. gateway-linux-x64. */
export const HOST_ASSET = assetName(process.platform, process.arch)

export function sha256(data: Uint8Array | string): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex")
}

export function sumsLine(name: string, data: Uint8Array | string): string {
  return `${sha256(data)}  ${name}\n`
}

const created: string[] = []

/** A fresh temporary directory, removed by removeTempDirs() (copies of a 120 MB binary must not pile up in /tmp). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `gw-inst-${prefix}-`))
  created.push(dir)
  return dir
}

export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** Every entry under `dir`, recursively, as relative paths (what a run left behind). */
export function listTree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort()
}

/** Writes executable scripts into a fresh dir, to put first on PATH (fake uname, ldd, sysctl, systemctl…). */
export function fakeBin(scripts: Record<string, string>): string {
  const dir = tempDir("bin")
  for (const [name, body] of Object.entries(scripts)) {
    const file = join(dir, name)
    writeFileSync(file, `#!/bin/sh\n${body}\n`)
    chmodSync(file, 0o755)
  }
  return dir
}

export type Route = () => Response

export interface ReleaseServer {
  url: string
  /** Base URL on a raw-socket server whose binary response declares the full Content-Length but stops halfway. */
  lyingUrl: string
  /** Base URL on the same raw server whose chunked binary response is cut off (connection dropped mid-transfer). */
  droppedUrl: string
  stop(): void
}

/**
 * Serves `routes` (path → response factory) over Bun.serve, plus a raw TCP server for the one thing Bun.serve will not
 * do: send a Content-Length larger than the body and close. `lying` holds that server's SHA256SUMS and binary.
 */
export async function startReleaseServer(routes: Record<string, Route>, lying: { name: string; data: Uint8Array }): Promise<ReleaseServer> {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const route = routes[new URL(req.url).pathname]
      return route ? route() : new Response("not found\n", { status: 404 })
    },
  })
  const sums = new TextEncoder().encode(sumsLine(lying.name, lying.data))
  const half = lying.data.subarray(0, Math.min(lying.data.length >> 1, 1 << 20))
  const raw = Bun.listen<{ pending: Uint8Array[] }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { pending: [] }
      },
      data(s, chunk) {
        const path = /^GET (\S+)/.exec(new TextDecoder().decode(chunk))?.[1] ?? ""
        const enc = (text: string) => new TextEncoder().encode(text)
        const head = (status: string, framing: string) =>
          enc(`HTTP/1.1 ${status}\r\n${framing}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n`)
        if (path.endsWith("/SHA256SUMS")) s.data.pending.push(head("200 OK", `Content-Length: ${sums.length}`), sums)
        else if (path === `/lying/${lying.name}`) s.data.pending.push(head("200 OK", `Content-Length: ${lying.data.length}`), half)
        else if (path === `/chunked/${lying.name}`) {
          // One chunk, then the connection closes without the terminating zero-length chunk.
          s.data.pending.push(head("200 OK", "Transfer-Encoding: chunked"), enc(`${half.length.toString(16)}\r\n`), half, enc("\r\n"))
        } else s.data.pending.push(head("404 Not Found", "Content-Length: 0"))
        flush(s)
      },
      drain(s) {
        flush(s)
      },
    },
  })
  function flush(s: { write(b: Uint8Array): number; end(): void; data: { pending: Uint8Array[] } }) {
    while (s.data.pending.length > 0) {
      const next = s.data.pending[0]!
      const n = s.write(next)
      if (n < next.length) {
        s.data.pending[0] = next.subarray(Math.max(n, 0))
        return
      }
      s.data.pending.shift()
    }
    s.end()
  }
  return {
    url: `http://127.0.0.1:${server.port}`,
    lyingUrl: `http://127.0.0.1:${raw.port}/lying`,
    droppedUrl: `http://127.0.0.1:${raw.port}/chunked`,
    stop() {
      server.stop(true)
      raw.stop(true)
    },
  }
}

export const bytes = (data: Uint8Array | string) => () => new Response(data, { headers: { "content-type": "application/octet-stream" } })

export interface RunResult {
  code: number
  out: string
  err: string
}

/** Runs a command asynchronously (the release server lives in this process, so a blocking spawn would deadlock). */
export async function run(cmd: string[], env: Record<string, string>, cwd?: string): Promise<RunResult> {
  const proc = Bun.spawn(cmd, { env, cwd: cwd ?? tmpdir(), stdout: "pipe", stderr: "pipe" })
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  return { code: await proc.exited, out, err }
}

export function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true })
  return dir
}
