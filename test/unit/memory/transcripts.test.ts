/** Session transcripts as an opt-in memory source: indexed as User:/Assistant: lines, secrets masked, re-synced as they grow. */
import { afterEach, describe, expect, test } from "bun:test"
import { messageLine, parseTranscriptPath, redactSecrets } from "../../../src/memory/transcripts.ts"
import { schema } from "../../../src/store/index.ts"
import { memoryFixture, type MemoryFixture } from "./helpers.ts"

let fx: MemoryFixture | undefined
afterEach(async () => {
  await fx?.close()
  fx = undefined
})

function addMessage(f: MemoryFixture, sessionKey: string, role: string, body: unknown) {
  f.store.db
    .insert(schema.messages)
    .values({ sessionKey, sessionId: "s-1", role, body: JSON.stringify(body), createdAt: Date.now() })
    .run()
}

describe("transcripts as a memory source", () => {
  test("helpers: one line per message, tool traffic dropped, secrets masked", () => {
    expect(messageLine("user", JSON.stringify({ role: "user", content: "hello\nthere" }))).toBe("User: hello there")
    expect(
      messageLine(
        "assistant",
        JSON.stringify({
          role: "assistant",
          content: [
            { type: "text", text: "ok" },
            { type: "toolCall", name: "ls" },
          ],
        }),
      ),
    ).toBe("Assistant: ok")
    expect(messageLine("toolResult", JSON.stringify({ content: "x" }))).toBeUndefined()
    expect(redactSecrets("key sk-proj-abcdefghijklmnop1234 and Bearer abcdefghijklmnopqrstu")).toBe("key [redacted] and [redacted]")
    expect(parseTranscriptPath("sessions/agent:main:main/s-1")).toEqual({ sessionKey: "agent:main:main", sessionId: "s-1" })
  })

  test("off by default; when on, transcripts are found, read by line, and re-indexed as they grow", async () => {
    fx = await memoryFixture()
    addMessage(fx, "agent:main:main", "user", { role: "user", content: "Remember that the VPN config is in the blue folder." })
    addMessage(fx, "agent:main:main", "assistant", { role: "assistant", content: [{ type: "text", text: "Noted: VPN config, blue folder." }] })
    await fx.service.sync()
    expect((await fx.service.search("VPN blue folder")).results).toHaveLength(0)

    fx.config = { ...fx.config, sessions: { enabled: true, syncIntervalSeconds: 60 } }
    await fx.service.sync()
    const hit = (await fx.service.search("VPN blue folder")).results[0]
    expect(hit).toMatchObject({ path: "sessions/agent:main:main/s-1", source: "sessions", startLine: 1, endLine: 2 })
    expect(fx.service.read("sessions/agent:main:main/s-1", 2, 1).text).toBe("Assistant: Noted: VPN config, blue folder.")

    addMessage(fx, "agent:main:main", "user", { role: "user", content: "Also: the printer code is 4471." })
    expect(await fx.service.sync()).toMatchObject({ indexed: 1 })
    expect((await fx.service.search("printer code")).results[0]).toMatchObject({ path: "sessions/agent:main:main/s-1", endLine: 3 })
  })
})
