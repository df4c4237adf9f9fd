/** SHA256SUMS files (the `sha256sum` format: "<64 hex>  <name>" or "<64 hex> *<name>") and streaming file hashes. */
import { UpdateError } from "./errors.ts"

/** Name → lowercase hex digest. Blank, comment and malformed lines are ignored; the first entry for a name wins. */
export function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.trim())
    if (m && !sums.has(m[2]!)) sums.set(m[2]!, m[1]!.toLowerCase())
  }
  return sums
}

/** The expected digest for `name`, or an UpdateError: a file without an entry is never trusted. */
export function expectedSum(text: string, name: string): string {
  const sum = parseSums(text).get(name)
  if (!sum) throw new UpdateError({ code: "NO_SUMS_ENTRY", message: `SHA256SUMS has no entry for ${name}: refusing to install an unverified binary` })
  return sum
}

/** The file's SHA-256 as lowercase hex, read as a stream (release binaries are over 100 MB). */
export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256")
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk)
  return hasher.digest("hex")
}

/** Throws CHECKSUM_MISMATCH unless `actual` equals `expected`. */
export function assertSum(name: string, expected: string, actual: string): void {
  if (expected.toLowerCase() !== actual.toLowerCase()) {
    throw new UpdateError({
      code: "CHECKSUM_MISMATCH",
      message: `checksum mismatch for ${name} (expected ${expected}, got ${actual}): the download is corrupt, truncated or tampered with`,
    })
  }
}
