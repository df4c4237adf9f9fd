/**
 * Archive readers for skill installs, each returning plain files only: a small tar reader (ustar, GNU long names,
 * pax path records) behind a size-capped gunzip (fflate), and zip (fflate) with its central directory read here for
 * the Unix mode, because fflate does not report symbolic links. Every entry name is checked (no absolute paths, no
 * `..`, no NUL); links, devices and FIFOs are refused, never written; the file count and the unpacked bytes are capped
 * while unpacking, so a zip or gzip bomb stops at the limit.
 */
import { Gunzip, Unzip, UnzipInflate } from "fflate"
import { UnsafeArchiveError } from "./errors.ts"

export interface ArchiveLimits {
  maxBytes: number
  maxFiles: number
}

export { UnsafeArchiveError }

/** A relative path inside the skill folder, or an UnsafeArchiveError. Directories end with '/'. */
export function safeEntryPath(raw: string): string {
  if (raw.includes("\0")) throw new UnsafeArchiveError(`entry name contains NUL: ${JSON.stringify(raw)}`)
  if (raw.includes("\\")) throw new UnsafeArchiveError(`entry name contains a backslash: ${raw}`)
  if (raw.startsWith("/") || /^[A-Za-z]:/.test(raw)) throw new UnsafeArchiveError(`absolute path in archive: ${raw}`)
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".")
  if (parts.some((p) => p === "..")) throw new UnsafeArchiveError(`path traversal in archive: ${raw}`)
  return parts.join("/")
}

class Budget {
  files = 0
  bytes = 0
  constructor(private limits: ArchiveLimits) {}
  file(path: string, size: number) {
    if (++this.files > this.limits.maxFiles) throw new UnsafeArchiveError(`more than ${this.limits.maxFiles} files (skills.install.maxFiles)`)
    this.add(size, path)
  }
  add(size: number, what: string) {
    this.bytes += size
    if (this.bytes > this.limits.maxBytes) throw new UnsafeArchiveError(`unpacked size over ${this.limits.maxBytes} bytes at ${what} (skills.install.maxBytes)`)
  }
}

/** gunzip that stops as soon as the output passes maxBytes. */
export function gunzipCapped(data: Uint8Array, maxBytes: number): Uint8Array {
  const chunks: Uint8Array[] = []
  let total = 0
  const g = new Gunzip((chunk) => {
    total += chunk.length
    if (total > maxBytes) throw new UnsafeArchiveError(`decompressed size over ${maxBytes} bytes (skills.install.maxBytes)`)
    chunks.push(chunk)
  })
  // Small input steps: deflate expands at most ~1,032:1, so one step's output stays near 1 MB before the cap can stop it.
  const STEP = 1024
  for (let i = 0; i < data.length; i += STEP) g.push(data.subarray(i, i + STEP), i + STEP >= data.length)
  const out = new Uint8Array(total)
  let off = 0
  for (const c of chunks) {
    out.set(c, off)
    off += c.length
  }
  return out
}

const dec = new TextDecoder()
function cstr(b: Uint8Array, start: number, len: number): string {
  const s = b.subarray(start, start + len)
  const end = s.indexOf(0)
  return dec.decode(end < 0 ? s : s.subarray(0, end))
}
function octal(b: Uint8Array, start: number, len: number): number {
  // GNU base-256 for large values: high bit of the first byte set.
  if (b[start]! & 0x80) {
    let n = 0
    for (let i = start + 1; i < start + len; i++) n = n * 256 + b[i]!
    return n
  }
  const s = cstr(b, start, len).trim()
  return s ? Number.parseInt(s, 8) : 0
}

/** pax extended header records: "<len> key=value\n". */
function paxPath(data: Uint8Array): string | undefined {
  const text = dec.decode(data)
  let i = 0
  let path: string | undefined
  while (i < text.length) {
    const sp = text.indexOf(" ", i)
    if (sp < 0) break
    const len = Number.parseInt(text.slice(i, sp), 10)
    if (!Number.isFinite(len) || len <= 0) break
    const rec = text.slice(sp + 1, i + len - 1)
    const eq = rec.indexOf("=")
    if (rec.slice(0, eq) === "path") path = rec.slice(eq + 1)
    if (rec.slice(0, eq) === "linkpath") throw new UnsafeArchiveError("link entry (pax linkpath) in archive: links are not allowed in skills")
    i += len
  }
  return path
}

export interface ArchiveFile {
  path: string
  data: Uint8Array
  mode: number
}

/** Plain files of a tar archive (uncompressed). */
export function readTar(tar: Uint8Array, limits: ArchiveLimits): ArchiveFile[] {
  const budget = new Budget(limits)
  const files: ArchiveFile[] = []
  let off = 0
  let longName: string | undefined
  let paxName: string | undefined
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512)
    if (h.every((x) => x === 0)) break
    let sum = 0
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!
    if (sum !== octal(h, 148, 8)) throw new UnsafeArchiveError(`not a tar archive (bad header checksum at byte ${off})`)
    const size = octal(h, 124, 12)
    const type = String.fromCharCode(h[156]!)
    const magic = cstr(h, 257, 6)
    const prefix = magic.startsWith("ustar") ? cstr(h, 345, 155) : ""
    const headerName = prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100)
    const dataStart = off + 512
    if (dataStart + size > tar.length) throw new UnsafeArchiveError("truncated tar archive")
    const data = tar.subarray(dataStart, dataStart + size)
    off = dataStart + Math.ceil(size / 512) * 512
    if (type === "L") {
      longName = cstr(data, 0, data.length)
      continue
    }
    if (type === "x") {
      paxName = paxPath(data)
      continue
    }
    if (type === "g") continue
    const name = paxName ?? longName ?? headerName
    paxName = longName = undefined
    if (type === "1" || type === "2") throw new UnsafeArchiveError(`link entry in archive: ${name} -> ${cstr(h, 157, 100)} (links are not allowed in skills)`)
    if (type === "5") {
      safeEntryPath(name)
      continue
    }
    if (type !== "0" && type !== "\0" && type !== "7") throw new UnsafeArchiveError(`special file in archive (type '${type}'): ${name}`)
    const path = safeEntryPath(name)
    if (!path) throw new UnsafeArchiveError(`empty file name in archive`)
    budget.file(path, size)
    files.push({ path, data: data.slice(), mode: octal(h, 100, 8) & 0o777 })
  }
  return files
}

/** Unix modes of zip entries from the central directory (fflate does not expose them). */
function zipModes(zip: Uint8Array): Map<string, number> {
  const modes = new Map<string, number>()
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength)
  let eocd = -1
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i
      break
    }
  }
  if (eocd < 0) throw new UnsafeArchiveError("not a zip archive (no end of central directory)")
  const count = dv.getUint16(eocd + 10, true)
  let p = dv.getUint32(eocd + 16, true)
  for (let n = 0; n < count; n++) {
    if (p + 46 > zip.length || dv.getUint32(p, true) !== 0x02014b50) throw new UnsafeArchiveError("corrupt zip central directory")
    const madeBy = dv.getUint16(p + 4, true) >> 8
    const nameLen = dv.getUint16(p + 28, true)
    const extraLen = dv.getUint16(p + 30, true)
    const commentLen = dv.getUint16(p + 32, true)
    const ext = dv.getUint32(p + 38, true)
    const name = dec.decode(zip.subarray(p + 46, p + 46 + nameLen))
    // 3 = Unix: the high 16 bits are st_mode.
    modes.set(name, madeBy === 3 ? ext >>> 16 : 0)
    p += 46 + nameLen + extraLen + commentLen
  }
  return modes
}

/**
 * Plain files of a zip archive. Entries are inflated as a stream fed 1 KB at a time, so the unpacked bytes are counted
 * as they come and a bomb (or an entry that lies about its size) stops at the cap instead of being inflated to the end.
 */
export function readZip(zip: Uint8Array, limits: ArchiveLimits): ArchiveFile[] {
  const modes = zipModes(zip)
  for (const [name, mode] of modes) {
    const kind = mode & 0o170000
    if (kind === 0o120000) throw new UnsafeArchiveError(`link entry in archive: ${name} (links are not allowed in skills)`)
    if (kind !== 0 && kind !== 0o100000 && kind !== 0o040000) throw new UnsafeArchiveError(`special file in archive: ${name}`)
    safeEntryPath(name)
  }
  const budget = new Budget(limits)
  const parts = new Map<string, Uint8Array[]>()
  const uz = new Unzip((file) => {
    if (file.name.endsWith("/")) return
    const path = safeEntryPath(file.name)
    if (!modes.has(file.name)) throw new UnsafeArchiveError(`zip entry ${file.name} is not in the central directory`)
    budget.file(path, 0)
    const chunks: Uint8Array[] = []
    parts.set(file.name, chunks)
    file.ondata = (err, chunk) => {
      if (err) throw new UnsafeArchiveError(`cannot unpack ${file.name}: ${err.message}`)
      budget.add(chunk.length, file.name)
      chunks.push(chunk)
    }
    file.start()
  })
  uz.register(UnzipInflate)
  const STEP = 1024
  for (let i = 0; i < zip.length; i += STEP) uz.push(zip.subarray(i, i + STEP), i + STEP >= zip.length)
  return [...parts].map(([name, chunks]) => ({ path: safeEntryPath(name), data: Buffer.concat(chunks), mode: (modes.get(name) ?? 0) & 0o777 }))
}
