/**
 * The listener's TLS material: a certificate and key from files, or a self-signed certificate generated once and kept
 * in the state home (ECDSA P-256, names: localhost, the host name, loopback and this machine's addresses). Nothing
 * here trusts a CA: a client pins the certificate itself, by the SHA-256 fingerprint printed at start-up.
 *
 * Node's crypto signs but cannot write an X.509 certificate, so the few DER structures one needs are encoded here.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { hostname, networkInterfaces } from "node:os"
import { join } from "node:path"
import { isIP } from "node:net"
import { NamedError } from "../util/named-error.ts"

export interface TlsMaterial {
  cert: string
  key: string
  /** SHA-256 of the certificate's DER, as colon-separated upper-case hex (what browsers and `openssl x509 -fingerprint` show). */
  fingerprint: string
  certPath: string
  selfSigned: boolean
}

/** The certificate or key cannot be read or used: `gateway run` prints it and exits 78. */
export const TlsError = NamedError.create("TlsError", (z) => z.object({ message: z.string() }))
export type TlsError = InstanceType<typeof TlsError>

// ---- DER ----------------------------------------------------------------------------------------------------------

function der(tag: number, body: Buffer): Buffer {
  const n = body.length
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff])
  return Buffer.concat([Buffer.from([tag]), len, body])
}
const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts))
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts))
const explicit = (n: number, inner: Buffer) => der(0xa0 + n, inner)
const octets = (b: Buffer) => der(0x04, b)
const utf8 = (s: string) => der(0x0c, Buffer.from(s, "utf8"))

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number)
  const bytes = [a! * 40 + b!]
  for (const v of rest) {
    const chunk = [v & 0x7f]
    for (let x = v >>> 7; x > 0; x >>>= 7) chunk.unshift((x & 0x7f) | 0x80)
    bytes.push(...chunk)
  }
  return der(0x06, Buffer.from(bytes))
}

function integer(b: Buffer): Buffer {
  return der(0x02, b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b)
}

/** UTCTime up to 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14)
  return d.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(`${iso.slice(2)}Z`)) : der(0x18, Buffer.from(`${iso}Z`))
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number))
  const [head = "", tail] = ip.split("%")[0]!.split("::")
  const left = head ? head.split(":") : []
  const right = tail ? tail.split(":") : []
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right]
  return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]))
}

const ECDSA_SHA256 = "1.2.840.10045.4.3.2"

/** A self-signed certificate for `names` (DNS names and IP addresses), valid for `days`, signed with `keyPem`. */
export function selfSignedCertificate(keyPem: string, names: string[], days = 825, now = new Date()): string {
  const key = createPrivateKey(keyPem)
  const spki = createPublicKey(key).export({ type: "spki", format: "der" }) as Buffer
  const name = seq(set(seq(oid("2.5.4.3"), utf8("gateway (self-signed)"))))
  const serial = randomBytes(16)
  serial[0]! &= 0x7f
  const alt = seq(...names.map((n) => (isIP(n) ? der(0x87, ipBytes(n)) : der(0x82, Buffer.from(n, "ascii")))))
  const extensions = explicit(
    3,
    seq(
      seq(oid("2.5.29.17"), octets(alt)),
      // serverAuth only; not a CA.
      seq(oid("2.5.29.37"), octets(seq(oid("1.3.6.1.5.5.7.3.1")))),
    ),
  )
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000)
  const notAfter = new Date(now.getTime() + days * 86_400_000)
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    seq(oid(ECDSA_SHA256)),
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    extensions,
  )
  const signature = sign("sha256", tbs, { key, dsaEncoding: "der" })
  const cert = seq(tbs, seq(oid(ECDSA_SHA256)), der(0x03, Buffer.concat([Buffer.from([0]), signature])))
  const b64 = cert.toString("base64").replace(/.{64}/g, "$&\n")
  return `-----BEGIN CERTIFICATE-----\n${b64.trimEnd()}\n-----END CERTIFICATE-----\n`
}

/** SHA-256 of a PEM certificate's DER, colon-separated upper-case hex. */
export function certFingerprint(certPem: string): string {
  const b64 = certPem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "")
  const hex = createHash("sha256").update(Buffer.from(b64, "base64")).digest("hex").toUpperCase()
  return hex.match(/../g)!.join(":")
}

/** The names a self-signed certificate covers: loopback, this host's name and its current addresses. */
export function localNames(): string[] {
  const names = new Set(["localhost", "127.0.0.1", "::1", hostname()])
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (!a.internal) names.add(a.address.split("%")[0]!)
  return [...names]
}

/** The certificate and key at the given paths, checked to belong together. */
export function loadTls(certPath: string, keyPath: string): TlsMaterial {
  let cert: string
  let key: string
  try {
    cert = readFileSync(certPath, "utf8")
    key = readFileSync(keyPath, "utf8")
  } catch (err) {
    throw new TlsError({ message: `cannot read the TLS certificate or key: ${(err as Error).message} (gateway.tls.certPath / gateway.tls.keyPath)` })
  }
  try {
    const x509 = new X509Certificate(cert)
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error(`the key in ${keyPath} does not belong to the certificate in ${certPath}`)
    if (Date.parse(x509.validTo) < Date.now()) throw new Error(`the certificate in ${certPath} expired on ${x509.validTo}`)
  } catch (err) {
    throw new TlsError({ message: `unusable TLS certificate: ${(err as Error).message}` })
  }
  return { cert, key, fingerprint: certFingerprint(cert), certPath, selfSigned: false }
}

/**
 * The self-signed certificate in `dir` (gateway.crt, gateway.key 0600), created on first use and renewed when it is
 * within 30 days of expiry. The same certificate is reused across restarts, so a pinned fingerprint stays valid.
 */
export function ensureSelfSigned(dir: string, names: string[] = localNames()): TlsMaterial {
  const certPath = join(dir, "gateway.crt")
  const keyPath = join(dir, "gateway.key")
  if (existsSync(certPath) && existsSync(keyPath)) {
    const current = loadTls(certPath, keyPath)
    if (Date.parse(new X509Certificate(current.cert).validTo) - Date.now() > 30 * 86_400_000) return { ...current, selfSigned: true }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" })
  const key = privateKey.export({ type: "pkcs8", format: "pem" }) as string
  const cert = selfSignedCertificate(key, names)
  writeFileSync(keyPath, key, { mode: 0o600 })
  chmodSync(keyPath, 0o600)
  writeFileSync(certPath, cert, { mode: 0o644 })
  return { cert, key, fingerprint: certFingerprint(cert), certPath, selfSigned: true }
}
