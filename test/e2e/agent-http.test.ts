/**
 * POST /v1/chat/completions against the compiled binary: off by default; when enabled, OpenAI's chat.completion JSON
 * and SSE chunk stream, a stable session per `user`, Bearer auth and request validation.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startFakeOpenAI, type FakeServer } from "../fakes/openai.ts"
import {
  connected,
  directedModel,
  E2E_TOKEN,
  fakeModelConfig,
  httpUrl,
  lastUserText,
  startBinary,
  waitUntil,
  wireText,
  type GatewayProcess,
} from "./harness.ts"

let fake: FakeServer
let gwOn: GatewayProcess
let gwOff: GatewayProcess

function post(gw: GatewayProcess, body: unknown, token: string | null = E2E_TOKEN): Promise<Response> {
  return fetch(`${httpUrl(gw)}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  })
}

/** The `data:` payloads of an SSE body, in order. */
function sseData(body: string): string[] {
  return body
    .split(/\r?\n/)
    .filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).trim())
}

beforeAll(async () => {
  fake = startFakeOpenAI(directedModel)
  ;[gwOn, gwOff] = await Promise.all([
    startBinary({ args: ["--token", E2E_TOKEN], config: fakeModelConfig(fake.url, { http: { chatCompletions: { enabled: true } } }) }),
    startBinary({ args: ["--token", E2E_TOKEN], config: fakeModelConfig(fake.url) }),
  ])
})

afterAll(async () => {
  await Promise.all([gwOn?.stop(), gwOff?.stop()])
  await fake?.stop()
})

describe("POST /v1/chat/completions", () => {
  test("disabled by default: 404, and no model is called", async () => {
    const before = fake.requests.length
    const res = await post(gwOff, { model: "gateway", messages: [{ role: "user", content: "off?" }] })
    expect(res.status).toBe(404)
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe("endpoint_disabled")
    expect(body.error.message).toContain("http.chatCompletions.enabled")
    expect(fake.requests.length).toBe(before)
  })

  test("non-streaming: a chat.completion object with the model's text and usage", async () => {
    const res = await post(gwOn, { model: "gateway", messages: [{ role: "user", content: "plain question" }] })
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toContain("application/json")
    const body = (await res.json()) as Record<string, any>
    expect(body.object).toBe("chat.completion")
    expect(body.id).toStartWith("chatcmpl-")
    expect(body.model).toBe("gateway")
    expect(typeof body.created).toBe("number")
    expect(body.choices).toEqual([{ index: 0, message: { role: "assistant", content: "echo: plain question" }, finish_reason: "stop" }])
    // The fake reports 10 prompt tokens and one completion token per text delta (2 here).
    expect(body.usage).toEqual({ prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 })
  })

  test("streaming: chunks with delta.content pieces, a final chunk with finish_reason stop, then [DONE]", async () => {
    const res = await post(gwOn, { model: "gateway", stream: true, messages: [{ role: "user", content: "stream please" }] })
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toContain("text/event-stream")
    const data = sseData(await res.text())
    expect(data.at(-1)).toBe("[DONE]")
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Record<string, any>)
    for (const c of chunks) {
      expect(c.object).toBe("chat.completion.chunk")
      expect(c.id).toBe(chunks[0]!.id)
    }
    const withChoice = chunks.filter((c) => c.choices.length > 0)
    const pieces = withChoice.map((c) => c.choices[0].delta.content).filter((x): x is string => typeof x === "string")
    expect(pieces).toEqual(["echo: ", "stream please"])
    const finals = withChoice.filter((c) => c.choices[0].finish_reason !== null)
    expect(finals).toHaveLength(1)
    expect(finals[0]!.choices[0].finish_reason).toBe("stop")
    expect(withChoice.at(-1)).toBe(finals[0])
    // Content comes before the finish chunk.
    expect(withChoice.indexOf(finals[0]!)).toBeGreaterThan(withChoice.findIndex((c) => c.choices[0].delta.content === "stream please"))
  })

  test("the same `user` twice: the second model call carries the first exchange (one stable session)", async () => {
    const user = `u-${crypto.randomUUID()}`
    const a = await post(gwOn, { model: "gateway", user, messages: [{ role: "user", content: "first turn: my name is Ada" }] })
    expect(((await a.json()) as Record<string, any>).choices[0].message.content).toBe("echo: first turn: my name is Ada")
    const b = await post(gwOn, { model: "gateway", user, messages: [{ role: "user", content: "second turn: what is my name?" }] })
    expect(((await b.json()) as Record<string, any>).choices[0].message.content).toBe("echo: second turn: what is my name?")
    const call = fake.requests.find((r) => lastUserText(r) === "second turn: what is my name?")!
    const convo = (call.messages as { role: string; content: unknown }[]).filter((m) => m.role !== "system").map((m) => [m.role, wireText(m.content)])
    expect(convo).toEqual([
      ["user", "first turn: my name is Ada"],
      ["assistant", "echo: first turn: my name is Ada"],
      ["user", "second turn: what is my name?"],
    ])
    // Without `user`, every request is a session of its own.
    await post(gwOn, { model: "gateway", messages: [{ role: "user", content: "lonely one" }] }).then((r) => r.json())
    await post(gwOn, { model: "gateway", messages: [{ role: "user", content: "lonely two" }] }).then((r) => r.json())
    const lonely = fake.requests.find((r) => lastUserText(r) === "lonely two")!
    expect((lonely.messages as { role: string }[]).filter((m) => m.role !== "system")).toHaveLength(1)
    // The session is visible to operators like any other.
    const { sock } = await connected(gwOn.url, { scopes: ["operator.read"] })
    const listed = (await sock.request("sessions.list", { search: user })).payload as { sessions: { key: string }[] }
    expect(listed.sessions.map((s) => s.key)).toEqual([`agent:main:openai:${user}`])
    sock.close()
  })

  test("a client that goes away mid-request aborts its run", async () => {
    const user = `gone-${crypto.randomUUID()}`
    const message = "SLOW 5000 the client will not wait"
    const ac = new AbortController()
    const pending = fetch(`${httpUrl(gwOn)}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${E2E_TOKEN}` },
      body: JSON.stringify({ model: "gateway", user, stream: true, messages: [{ role: "user", content: message }] }),
      signal: ac.signal,
    }).then((r) => r.text())
    await waitUntil(() => fake.requests.some((b) => lastUserText(b) === message), "the model call")
    ac.abort()
    await pending.catch(() => {})
    const { sock } = await connected(gwOn.url, { scopes: ["operator.read"] })
    const key = `agent:main:openai:${user}`
    await waitUntil(
      async () => {
        const e = ((await sock.request("sessions.get", { key })).payload as { entry: { hasActiveRun: boolean } }).entry
        return !e.hasActiveRun
      },
      "the run to be aborted",
      3000,
    )
    const h = (await sock.request("chat.history", { sessionKey: key })).payload as { messages: { role: string }[] }
    expect(h.messages.map((m) => m.role)).toEqual(["user"])
    sock.close()
  })

  test("missing or wrong bearer: 401, before anything runs", async () => {
    const before = fake.requests.length
    const none = await post(gwOn, { model: "gateway", messages: [{ role: "user", content: "no auth" }] }, null)
    expect(none.status).toBe(401)
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe("unauthorized")
    const wrong = await post(gwOn, { model: "gateway", messages: [{ role: "user", content: "no auth" }] }, "not-the-token")
    expect(wrong.status).toBe(401)
    // The endpoint being off does not leak past auth either.
    expect((await post(gwOff, { messages: [{ role: "user", content: "x" }] }, null)).status).toBe(401)
    expect(fake.requests.length).toBe(before)
  })

  test("a bad body: 400 with an OpenAI-style error", async () => {
    for (const body of [
      "{not json",
      { model: "gateway" },
      { messages: [] },
      { messages: [{ role: "robot", content: "x" }] },
      { messages: [{ role: "system", content: "only system" }] },
    ]) {
      const res = await post(gwOn, body)
      expect(res.status).toBe(400)
      const err = ((await res.json()) as { error: { type: string; message: string } }).error
      expect(err.type).toBe("invalid_request_error")
      expect(err.message.length).toBeGreaterThan(0)
    }
  })
})
