/**
 * The FLOOR for `gateway health` as a process: the least a compiled Bun client can do to get the same answer. It
 * opens a WebSocket to $GATEWAY_URL, answers the challenge with the same `connect` the benchmark sends (wire.ts),
 * sends one `health` req, prints one line and exits. Compiled exactly like the product into dist/bench-floor-health
 * by test/bench/run.ts, and run against the same gateway as `gateway health`, so the difference between the two is
 * the CLI's own cost: loading its code, finding the gateway (runtime file, token, config) and validating frames.
 */
import { handshake, healthFrame } from "./wire.ts"

const url = process.env.GATEWAY_URL ?? ""
const token = process.env.GATEWAY_TOKEN ?? ""

try {
  const { ws } = await handshake(url, token)
  const reply = await new Promise<string>((resolve, reject) => {
    ws.onmessage = (ev) => {
      const text = String(ev.data)
      if (text.includes('"id":"h1"')) resolve(text)
    }
    ws.onclose = () => reject(new Error("closed before the health reply"))
    ws.send(healthFrame("h1"))
  })
  const frame = JSON.parse(reply) as { ok?: boolean; payload?: { ok?: boolean } }
  ws.onclose = null
  ws.close()
  // console.log: process.stdout is a Node stream built on first use (~15 ms of CPU in a compiled binary).
  console.log(`floor ${frame.ok && frame.payload?.ok ? "ok" : "NOT ok"}`)
  process.exit(frame.ok && frame.payload?.ok ? 0 : 1)
} catch (err) {
  console.error(`floor-health: ${(err as Error).message}`)
  process.exit(1)
}
