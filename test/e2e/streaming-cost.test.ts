/**
 * What a long streamed reply costs each client, against the compiled binary: every `agent`/`chat` event carries the
 * whole reply so far (OpenClaw's shape), so without coalescing a 100,000-character reply in 1-character chunks sent
 * gigabytes. With coalescing by time and size it must stay under 20x the reply's size.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { agentTwoStage, providerFor, scriptedFake, uid, type ScriptedFake } from "./agent-helpers.ts"
import { E2E_TOKEN, connected, startBinary, type GatewayProcess } from "./harness.ts"

const LENGTH = 100_000
let fake: ScriptedFake
let gw: GatewayProcess

beforeAll(async () => {
  fake = scriptedFake("openai")
  gw = await startBinary({ args: ["--token", E2E_TOKEN], config: { models: { default: "fake/fake-model", providers: { fake: providerFor(fake) } } } })
})

afterAll(async () => {
  await gw?.stop()
  await fake?.server.stop()
})

test("a 100,000-character reply streamed in 1-character chunks costs each client less than 20x its size", async () => {
  const chunks = Array.from({ length: LENGTH }, (_, i) => String.fromCharCode(97 + (i % 26)))
  fake.script([{ text: chunks }])
  const { sock: watcher } = await connected(gw.url, { scopes: ["operator.read"] })
  const runId = `long-${uid()}`
  let bytes = 0
  watcher.ws.addEventListener("message", (ev) => {
    const text = String(ev.data)
    if (text.includes(runId)) bytes += Buffer.byteLength(text)
  })
  const { sock: ops } = await connected(gw.url, { scopes: ["operator.read", "operator.write"] })
  const { final } = await agentTwoStage(ops, { message: "write a lot", idempotencyKey: runId }, 60_000)
  expect((final.payload as { result: { payloads: { text: string }[] } }).result.payloads[0]!.text.length).toBe(LENGTH)
  // Let the watcher's last frames arrive (it is not the requester, so nothing else tells us when they are in).
  await Bun.sleep(200)
  expect(bytes).toBeGreaterThan(LENGTH)
  console.log(`streaming cost: ${(bytes / LENGTH).toFixed(2)}x the reply`)
  expect(bytes / LENGTH).toBeLessThan(20)
  watcher.close()
  ops.close()
}, 90_000)
