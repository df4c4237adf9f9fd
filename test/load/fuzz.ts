/**
 * The frame fuzzer: mutations (mutate.ts) of the client frames recorded from OpenClaw's CLI and raw clients
 * (fixtures/openclaw-c2s.jsonl, from ../shared/reference/openclaw-wire/normalized), sent to a running gateway
 *
 *   - before the handshake, as a socket's first frame (one socket per frame, at most `concurrency` at once: the
 *     pre-auth cap), where every frame must end in hello-ok or a close with a protocol close code;
 *   - after it, on authenticated connections (operator read/write/approvals/pairing; no admin, so nothing rewrites
 *     the config), where every frame that parses as a JSON object other than a cancel must get its reply.
 *
 * Every frame the gateway sends must be well formed: a ServerFrame; a successful res matching its method's result
 * schema; an error with a protocol error code; events matching their schema with a gapless per-connection seq.
 * At the end the gateway must still answer `health` on a new connection and /healthz.
 *
 *   bun test/load/fuzz.ts [--seed 1] [--frames 22000] [--binary dist/gateway]
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { ErrorCode, ServerFrame } from "../../src/protocol/index.ts"
import { checkEvent, checkResult } from "../e2e/wire-check.ts"
import { Rng, mutate, type Mutated, type Wire } from "./mutate.ts"

export interface FuzzOptions {
  url: string
  /** http://127.0.0.1:<port>, for /healthz. */
  httpUrl: string
  token: string
  seed: number
  /** Frames sent in all; `preauthShare` of them as first frames. */
  frames: number
  preauthShare?: number
  /** Pre-auth sockets in flight (keep within gateway.preauth.maxPerAddress) and post-auth frames in flight. */
  concurrency?: number
  replyTimeoutMs?: number
}

export interface FuzzResult {
  seed: number
  frames: { preauth: number; postauth: number }
  /** Mutation labels and how often each was used. */
  mutations: Record<string, number>
  replies: number
  /** How pre-auth sockets ended: hello-ok, or the close code. */
  preauthOutcomes: Record<string, number>
  /** Largest reply (its start and its cause), and the largest ratio of reply size to request size among the replies
   * matched to their request. */
  maxReplyBytes: number
  maxReply: string
  maxAmplification: number
  /** Everything that broke a rule (first 20), with the frame that caused it. */
  failures: string[]
  failureCount: number
  healthyAfter: boolean
  elapsedMs: number
}

const CLOSE_CODES_PREAUTH = new Set([1000, 1002, 1008, 1009, 1013])
const ERROR_CODES = new Set<string>(ErrorCode.options)

interface Recorded {
  frame?: Record<string, unknown>
  raw?: string
}

export function loadCorpus(): Recorded[] {
  return readFileSync(join(import.meta.dir, "fixtures/openclaw-c2s.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Recorded)
}

/** Placeholders of the recordings filled in: the token, and fresh uuids (instance ids, idempotency keys). */
function fill(frame: Record<string, unknown>, token: string, r: Rng): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(frame)
      .replaceAll("<token>", token)
      .replace(/<uuid>/g, () => r.uuid()),
  )
}

const sizeOf = (w: Wire) => ("text" in w ? Buffer.byteLength(w.text) : w.bytes.byteLength)
const describe = (w: Wire, labels: string[]) =>
  `[${labels.join(",")}] ${("text" in w ? JSON.stringify(w.text) : `<binary ${Buffer.from(w.bytes).toString("utf8")}>`).slice(0, 300)}`

class Checker {
  failures: string[] = []
  failureCount = 0
  replies = 0
  maxReplyBytes = 0
  maxReply = ""
  maxAmplification = 0
  mutations: Record<string, number> = {}

  fail(msg: string): void {
    this.failureCount++
    if (this.failures.length < 20) this.failures.push(msg)
  }

  /** Checks one server frame; returns it parsed (undefined when it is not even JSON). */
  frame(text: string, methodOf: (id: string) => string | undefined, cause: () => string, requestBytes: number): ServerFrame | undefined {
    this.replies++
    const bytes = Buffer.byteLength(text)
    if (bytes > this.maxReplyBytes) {
      this.maxReplyBytes = bytes
      this.maxReply = `${text.slice(0, 200)} after ${cause().slice(0, 300)}`
    }
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch {
      this.fail(`unparseable server frame ${text.slice(0, 200)} after ${cause()}`)
      return undefined
    }
    const parsed = ServerFrame.safeParse(raw)
    if (!parsed.success) {
      this.fail(`not a ServerFrame: ${text.slice(0, 300)} after ${cause()}`)
      return undefined
    }
    const f = parsed.data
    if (f.type === "res") {
      if (requestBytes > 0) this.maxAmplification = Math.max(this.maxAmplification, bytes / requestBytes)
      if (f.ok) {
        if (f.error) this.fail(`ok res with an error: ${text.slice(0, 300)}`)
        const method = methodOf(f.id)
        const mismatch = method ? checkResult(method, f.payload) : undefined
        if (mismatch) this.fail(`${mismatch.slice(0, 500)} after ${cause()}`)
      } else if (!f.error || !ERROR_CODES.has(f.error.code) || !f.error.message) {
        this.fail(`malformed error res: ${text.slice(0, 300)} after ${cause()}`)
      }
    } else if (f.type === "event") {
      const mismatch = checkEvent(f.event, f.payload)
      if (mismatch) this.fail(`${mismatch.slice(0, 500)} after ${cause()}`)
    }
    return f
  }
}

const send = (ws: WebSocket, w: Wire) => ws.send("text" in w ? w.text : w.bytes)

/** One socket, one mutated first frame: ends in hello-ok (then closed by us) or a close by the server. */
async function preauthOne(o: FuzzOptions, recorded: Recorded, r: Rng, c: Checker, outcomes: Record<string, number>): Promise<void> {
  const m: Mutated = recorded.raw !== undefined ? { wire: { text: recorded.raw }, labels: ["raw"] } : mutate(fill(recorded.frame!, o.token, r), r, 70_000)
  for (const l of m.labels) c.mutations[l] = (c.mutations[l] ?? 0) + 1
  const cause = () => `first frame ${describe(m.wire, m.labels)}`
  const method = (m.value as { method?: unknown } | undefined)?.method
  await new Promise<void>((resolve) => {
    const ws = new WebSocket(o.url)
    let challenged = false
    const timer = setTimeout(() => {
      c.fail(`no hello-ok and no close within ${o.replyTimeoutMs} ms after ${cause()}`)
      outcomes.timeout = (outcomes.timeout ?? 0) + 1
      ws.close()
      resolve()
    }, o.replyTimeoutMs)
    ws.onmessage = (ev) => {
      const f = c.frame(String(ev.data), () => (typeof method === "string" ? method : undefined), cause, sizeOf(m.wire))
      if (!f) return
      if (!challenged) {
        if (f.type !== "event" || f.event !== "connect.challenge") c.fail(`first server frame is not the challenge: ${String(ev.data).slice(0, 200)}`)
        challenged = true
        send(ws, m.wire)
        return
      }
      if (f.type === "res" && f.ok) {
        if ((f.payload as { type?: string })?.type !== "hello-ok") c.fail(`ok res before hello-ok that is not hello-ok after ${cause()}`)
        outcomes["hello-ok"] = (outcomes["hello-ok"] ?? 0) + 1
        clearTimeout(timer)
        ws.onclose = () => resolve()
        ws.close()
      }
    }
    ws.onclose = (ev) => {
      clearTimeout(timer)
      outcomes[String(ev.code)] = (outcomes[String(ev.code)] ?? 0) + 1
      if (!CLOSE_CODES_PREAUTH.has(ev.code)) c.fail(`pre-auth close ${ev.code} ${ev.reason} after ${cause()}`)
      resolve()
    }
  })
}

interface Authed {
  ws: WebSocket
  /** id → method of each frame awaiting its reply; agent-like methods answer twice. */
  waiting: Map<string, { method: string; at: number; cause: string; bytes: number; sentAt: number }>
  /** The method sent under each id; undefined for an id used twice (a mutated id repeats), whose replies are not matched. */
  methods: Map<string, string | undefined>
  lastSeq: number
  closed?: string
}

function openAuthed(o: FuzzOptions, c: Checker): Promise<Authed> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(o.url)
    const a: Authed = { ws, waiting: new Map(), methods: new Map(), lastSeq: 0 }
    let challenged = false
    ws.onmessage = (ev) => {
      const text = String(ev.data)
      if (!challenged) {
        challenged = true
        ws.send(
          JSON.stringify({
            type: "req",
            id: "c1",
            method: "connect",
            params: {
              minProtocol: 4,
              maxProtocol: 4,
              client: { id: "cli", version: "fuzz", platform: "linux", mode: "cli", instanceId: crypto.randomUUID() },
              auth: { token: o.token },
              role: "operator",
              scopes: ["operator.read", "operator.write", "operator.approvals", "operator.pairing"],
            },
          }),
        )
        return
      }
      if (!text.startsWith('{"type":"res","id":"c1","ok":true')) return reject(new Error(`fuzz: connect failed: ${text.slice(0, 300)}`))
      ws.onmessage = (e) => onAuthedFrame(a, String(e.data), c)
      ws.onclose = (e) => {
        a.closed = `${e.code} ${e.reason}`
      }
      resolve(a)
    }
    ws.onerror = () => reject(new Error("fuzz: cannot connect"))
  })
}

function onAuthedFrame(a: Authed, text: string, c: Checker): void {
  let cause = "an earlier frame"
  let bytes = 0
  try {
    const id = (JSON.parse(text) as { id?: string }).id
    const w = id !== undefined ? a.waiting.get(id) : undefined
    if (w) {
      cause = w.cause
      bytes = w.bytes
    }
  } catch {}
  const f = c.frame(
    text,
    (id) => a.methods.get(id),
    () => cause,
    bytes,
  )
  if (!f) return
  if (f.type === "event") {
    if (f.seq !== undefined) {
      if (f.seq !== a.lastSeq + 1) c.fail(`seq ${f.seq} after ${a.lastSeq} (gap or repeat)`)
      a.lastSeq = f.seq
    }
    return
  }
  const w = a.waiting.get(f.id)
  if (!w) return
  // The first of agent's two replies is the accepted interim; the second ends it.
  if (f.ok && (f.payload as { status?: string })?.status === "accepted") return
  a.waiting.delete(f.id)
}

/** Which id the gateway will answer a post-auth frame on, or undefined when it owes no reply (or it cannot be told). */
function expectedReply(value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value === "object" && value !== null && !Array.isArray(value) && (value as { type?: unknown }).type === "cancel") return undefined
  const id = typeof value === "object" && value !== null ? (value as { id?: unknown }).id : undefined
  // dispatch answers a frame it cannot read on the id "invalid": many frames share it, so those are not awaited.
  return typeof id === "string" && id !== "" && id !== "invalid" ? id : undefined
}

async function postauth(o: FuzzOptions, corpus: Recorded[], count: number, r: Rng, c: Checker): Promise<void> {
  const frames = corpus.filter((x) => x.frame && (x.frame as { method?: unknown }).method !== "connect").map((x) => x.frame!)
  const conns = [await openAuthed(o, c), await openAuthed(o, c)]
  const inflight = o.concurrency ?? 4
  let sent = 0
  let nextId = 0
  while (sent < count) {
    const a = conns[sent % conns.length]!
    if (a.closed) {
      c.fail(`an authenticated connection was closed (${a.closed})`)
      conns[sent % conns.length] = await openAuthed(o, c)
      continue
    }
    // Keep at most `inflight` awaited replies per connection; a reply overdue is a failure (and stops waiting).
    const now = performance.now()
    for (const [id, w] of a.waiting) {
      if (now - w.sentAt > (o.replyTimeoutMs ?? 5000)) {
        c.fail(`no reply to ${w.method} within ${o.replyTimeoutMs} ms: ${w.cause}`)
        a.waiting.delete(id)
      }
    }
    if (a.waiting.size >= inflight) {
      await Bun.sleep(1)
      continue
    }
    const base = fill(r.pick(frames), o.token, r)
    // Unique ids, so each reply can be matched (an id mutation may still replace it).
    base.id = `f${++nextId}`
    const m = mutate(base, r, 512 * 1024)
    for (const l of m.labels) c.mutations[l] = (c.mutations[l] ?? 0) + 1
    const id = expectedReply(m.value)
    const method = (m.value as { method?: unknown } | undefined)?.method
    if (id) a.methods.set(id, a.methods.has(id) || typeof method !== "string" ? undefined : method)
    // agent.wait may legitimately wait as long as its (mutated) timeoutMs: its reply is checked but not awaited.
    if (id && method !== "agent.wait" && a.methods.get(id) !== undefined) {
      a.waiting.set(id, {
        method: typeof method === "string" ? method : "(not a string)",
        at: sent,
        cause: describe(m.wire, m.labels),
        bytes: sizeOf(m.wire),
        sentAt: performance.now(),
      })
    }
    send(a.ws, m.wire)
    sent++
  }
  const deadline = performance.now() + (o.replyTimeoutMs ?? 5000)
  while (conns.some((a) => a.waiting.size) && performance.now() < deadline) await Bun.sleep(10)
  for (const a of conns) for (const w of a.waiting.values()) c.fail(`no reply to ${w.method}: ${w.cause}`)
  for (const a of conns) a.ws.close()
}

/** A fresh connection still gets hello-ok and a health reply, and /healthz answers. */
async function healthy(o: FuzzOptions): Promise<boolean> {
  try {
    const c = new Checker()
    const a = await openAuthed(o, c)
    const reply = new Promise<boolean>((resolve) => {
      a.ws.onmessage = (ev) => {
        const t = String(ev.data)
        if (t.startsWith('{"type":"res","id":"h1"')) resolve(t.startsWith('{"type":"res","id":"h1","ok":true'))
      }
      setTimeout(() => resolve(false), 5000)
    })
    a.ws.send('{"type":"req","id":"h1","method":"health"}')
    const ok = await reply
    a.ws.close()
    const http = await fetch(`${o.httpUrl}/healthz`)
    return ok && http.status === 200
  } catch {
    return false
  }
}

export async function fuzz(o: FuzzOptions): Promise<FuzzResult> {
  const opts = { preauthShare: 0.3, concurrency: 4, replyTimeoutMs: 5000, ...o }
  const t0 = performance.now()
  const r = new Rng(opts.seed)
  const corpus = loadCorpus()
  const c = new Checker()
  const preauthCount = Math.round(opts.frames * opts.preauthShare)
  const outcomes: Record<string, number> = {}
  let next = 0
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < preauthCount) {
        next++
        await preauthOne(opts, r.pick(corpus), r, c, outcomes)
      }
    }),
  )
  await postauth(opts, corpus, opts.frames - preauthCount, r, c)
  return {
    seed: opts.seed,
    frames: { preauth: preauthCount, postauth: opts.frames - preauthCount },
    mutations: c.mutations,
    replies: c.replies,
    preauthOutcomes: outcomes,
    maxReplyBytes: c.maxReplyBytes,
    maxReply: c.maxReply,
    maxAmplification: Math.round(c.maxAmplification * 10) / 10,
    failures: c.failures,
    failureCount: c.failureCount,
    healthyAfter: await healthy(opts),
    elapsedMs: Math.round(performance.now() - t0),
  }
}

/** The gateway config the fuzzer runs against: no model, no tools, so no mutated frame can make it act. */
export const FUZZ_CONFIG = { logging: { level: "warn" }, tools: { deny: ["*"], exec: { mode: "deny" } } }

if (import.meta.main) {
  const { startBinary } = await import("../e2e/harness.ts")
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(name)
    return i >= 0 ? Number(process.argv[i + 1]) : dflt
  }
  const bi = process.argv.indexOf("--binary")
  const token = "fuzz-token-0123456789abcdef"
  const gw = await startBinary({ args: ["--token", token], config: FUZZ_CONFIG, ...(bi >= 0 ? { binary: process.argv[bi + 1] } : {}) })
  try {
    const res = await fuzz({ url: gw.url, httpUrl: `http://127.0.0.1:${gw.port}`, token, seed: arg("--seed", 1), frames: arg("--frames", 22_000) })
    const alive = gw.proc.exitCode === null
    process.stdout.write(`${JSON.stringify({ ...res, gatewayAlive: alive }, null, 2)}\n`)
  } finally {
    await gw.stop("SIGKILL")
  }
}
