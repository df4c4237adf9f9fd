/** HTTP downloads for `gateway update`: streamed to disk, hashed on the way, truncation detected. */
import { open } from "node:fs/promises"
import { UpdateError } from "./errors.ts"

export interface DownloadOptions {
  /** Whole-transfer limit (default 10 minutes: a release binary is over 100 MB). */
  timeoutMs?: number
  fetch?: typeof fetch
}

/** Bun's fetch errors end with advice for developers ("For more information, pass `verbose: true`…"): not for users. */
const reason = (err: unknown) => ((err as Error)?.message ?? String(err)).replace(/\.? For more information.*$/s, "")

async function get(url: string, opts: DownloadOptions): Promise<Response> {
  let res: Response
  try {
    res = await (opts.fetch ?? fetch)(url, { redirect: "follow", signal: AbortSignal.timeout(opts.timeoutMs ?? 600_000) })
  } catch (err) {
    throw new UpdateError({ code: "DOWNLOAD_FAILED", message: `could not download ${url}: ${reason(err)}` })
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {})
    throw new UpdateError({ code: "DOWNLOAD_FAILED", message: `could not download ${url}: HTTP ${res.status}` })
  }
  return res
}

/** A small text file (SHA256SUMS). */
export async function fetchText(url: string, opts: DownloadOptions = {}): Promise<string> {
  const res = await get(url, { timeoutMs: 60_000, ...opts })
  try {
    return await res.text()
  } catch (err) {
    throw new UpdateError({ code: "DOWNLOAD_FAILED", message: `could not download ${url}: ${reason(err)}` })
  }
}

/**
 * Streams `url` into a NEW file `dest` (created exclusively, mode 0600, so nothing planted there is followed) and
 * returns its size and SHA-256. A body shorter than Content-Length, or a connection dropped mid-body, is an error.
 * On any error `dest` may be partly written: the caller removes it.
 */
export async function downloadTo(url: string, dest: string, opts: DownloadOptions = {}): Promise<{ bytes: number; sha256: string }> {
  const res = await get(url, opts)
  const declared = res.headers.get("content-encoding") ? null : res.headers.get("content-length")
  const hasher = new Bun.CryptoHasher("sha256")
  const fh = await open(dest, "wx", 0o600)
  let bytes = 0
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        hasher.update(chunk)
        await fh.write(chunk)
        bytes += chunk.byteLength
      }
    }
  } catch (err) {
    throw new UpdateError({ code: "DOWNLOAD_FAILED", message: `download of ${url} was interrupted after ${bytes} bytes: ${reason(err)}` })
  } finally {
    await fh.close()
  }
  if (declared !== null && Number(declared) !== bytes) {
    throw new UpdateError({ code: "DOWNLOAD_FAILED", message: `download of ${url} was truncated: got ${bytes} of ${declared} bytes` })
  }
  return { bytes, sha256: hasher.digest("hex") }
}
