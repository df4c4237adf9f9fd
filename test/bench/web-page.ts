/**
 * The web page's own size as the compiled gateway serves it: `/` and every /assets/* file it references, fetched
 * gzipped (as a browser asks) and plain, and the time to fetch `/` (median of runs). Target: under 150 KB gzipped.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { median, round } from "./wire.ts"

export const WEB_PAGE_TARGET_KB = 150

export interface WebPageBenchOptions {
  quick: boolean
  /** Starts the binary on a home; url is its ws:// address. */
  start(binary: string, home: string): Promise<{ url: string; stop(): Promise<void> }>
}

export async function benchWebPage(gatewayBin: string, opts: WebPageBenchOptions) {
  const home = mkdtempSync(join(tmpdir(), "bench-web-"))
  const gw = await opts.start(gatewayBin, home)
  try {
    const base = gw.url.replace(/^ws/, "http").replace(/\/$/, "")
    const index = await fetch(`${base}/`)
    const html = await index.text()
    if (!index.headers.get("content-type")?.startsWith("text/html")) return { skipped: true, reason: "the binary serves no web page at / (built without it)" }
    const paths = ["/", ...new Set([...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!))]
    const files: { path: string; bytes: number; gzipBytes: number }[] = []
    for (const path of paths) {
      const plain = new Uint8Array(await (await fetch(`${base}${path}`, { headers: { "accept-encoding": "identity" } })).arrayBuffer())
      // fetch() would undo the encoding: read the wire bytes through a raw request instead.
      const gz = await rawGzipLength(base, path)
      files.push({ path, bytes: plain.byteLength, gzipBytes: gz })
    }
    const times: number[] = []
    for (let i = 0; i < (opts.quick ? 10 : 50); i++) {
      const t0 = performance.now()
      await (await fetch(`${base}/`, { headers: { "accept-encoding": "gzip" } })).arrayBuffer()
      times.push(performance.now() - t0)
    }
    const totalGzip = files.reduce((a, f) => a + f.gzipBytes, 0)
    return {
      files,
      totalKB: round(files.reduce((a, f) => a + f.bytes, 0) / 1024),
      totalGzipKB: round(totalGzip / 1024),
      indexFetchMs: { p50: round(median(times), 3), min: round(Math.min(...times), 3) },
      target: `page (index.html + assets, gzipped) < ${WEB_PAGE_TARGET_KB} KB`,
      pass: totalGzip / 1024 < WEB_PAGE_TARGET_KB,
    }
  } finally {
    await gw.stop()
    rmSync(home, { recursive: true, force: true })
  }
}

/** Content length of `path` as sent with Content-Encoding: gzip (Bun's fetch decompresses, so count on the socket). */
async function rawGzipLength(base: string, path: string): Promise<number> {
  const u = new URL(base)
  const head = `GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n`
  const chunks: Uint8Array[] = []
  await new Promise<void>((resolve, reject) => {
    Bun.connect({
      hostname: u.hostname,
      port: Number(u.port),
      socket: {
        open: (s) => void s.write(head),
        data: (_s, d) => void chunks.push(new Uint8Array(d)),
        close: () => resolve(),
        error: (_s, e) => reject(e),
      },
    }).catch(reject)
  })
  const all = Buffer.concat(chunks)
  const split = all.indexOf("\r\n\r\n")
  const headers = all.subarray(0, split).toString()
  if (!/content-encoding: gzip/i.test(headers)) throw new Error(`${path} was not served gzipped`)
  const len = /content-length: (\d+)/i.exec(headers)
  return len ? Number(len[1]) : all.byteLength - split - 4
}

if (import.meta.main) {
  const { startBinary } = await import("../e2e/harness.ts")
  const bin = process.argv[2] ?? join(import.meta.dir, "../../dist/gateway")
  const res = await benchWebPage(bin, {
    quick: true,
    start: async (binary, home) => {
      const g = await startBinary({ binary, home, args: ["--token", "bench-web-token"] })
      return { url: g.url, stop: async () => void (await g.stop()) }
    },
  })
  console.log(JSON.stringify(res, null, 2))
}
