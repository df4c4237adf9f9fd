/**
 * The pieces behind a linear fan-out: a shared event text that differs from eventFrame's only by being built once,
 * the presence registry's cached JSON (exact after joins and leaves), and the presence schedule (a leading event,
 * then at most one per window, the window following the cost of the last event).
 */
import { describe, expect, test } from "bun:test"
import { eventFrame } from "../../../src/protocol/index.ts"
import { sharedEvent, withSeq } from "../../../src/server/event-text.ts"
import { PresenceRegistry, PresenceSchedule } from "../../../src/server/presence.ts"

describe("shared event text", () => {
  test("is eventFrame's JSON, key for key, for every seq", () => {
    const payloads = [{ ts: 1 }, { presence: [{ ts: 2, host: 'a "quoted" \u2028 host', ip: "::1" }] }, { reason: "ünïcødé 😀" }]
    for (const payload of payloads) {
      for (const sv of [undefined, { presence: 3, health: 4 }]) {
        const shared = sharedEvent("tick", JSON.stringify(payload), sv)
        for (const seq of [1, 9, 10, 123456]) {
          expect(withSeq(shared, seq)).toBe(JSON.stringify(eventFrame("tick", payload as never, seq, sv)))
        }
      }
    }
  })
})

describe("presence registry", () => {
  const entry = (n: number) => ({ host: `h${n}`, mode: "cli", connId: `c${n}`, ts: n })

  test("json() is list() serialised, after joins, leaves and re-joins", () => {
    const reg = new PresenceRegistry({ version: "1.0.0", instanceId: "boot", ip: "127.0.0.1" })
    const check = () => {
      const fromJson = JSON.parse(reg.json()) as { ts: number }[]
      const fromList = reg.list()
      // The gateway's own entry is stamped at each read.
      expect(fromJson.slice(1)).toEqual(fromList.slice(1))
      expect(fromJson[0]).toMatchObject({ ...fromList[0], ts: expect.any(Number) })
    }
    check()
    for (let i = 0; i < 5; i++) reg.add(`c${i}`, entry(i))
    check()
    reg.remove("c2")
    reg.remove("c0")
    check()
    reg.add("c7", entry(7))
    reg.add("c3", entry(33))
    check()
    // A re-join under the same connId keeps its place, with the new entry.
    expect(reg.list().map((e) => e.host)).toEqual([expect.any(String), "h1", "h33", "h4", "h7"])
    expect(reg.count).toBe(4)
  })

  test("every change bumps the version; removing a stranger changes nothing", () => {
    const reg = new PresenceRegistry({ version: "1.0.0", instanceId: "boot", ip: "127.0.0.1" })
    const v0 = reg.version
    reg.add("a", entry(1))
    expect(reg.version).toBe(v0 + 1)
    expect(reg.remove("nobody")).toBe(false)
    expect(reg.version).toBe(v0 + 1)
    expect(reg.remove("a")).toBe(true)
    expect(reg.version).toBe(v0 + 2)
  })
})

describe("presence schedule", () => {
  test("the first change is announced at once, a burst within the window once more at its end", async () => {
    const announced: number[] = []
    const t0 = performance.now()
    const s = new PresenceSchedule(
      (done) => {
        announced.push(performance.now() - t0)
        done(0)
      },
      () => 100,
    )
    s.changed()
    expect(announced).toHaveLength(1)
    for (let i = 0; i < 50; i++) s.changed()
    expect(announced).toHaveLength(1)
    await Bun.sleep(160)
    expect(announced).toHaveLength(2)
    expect(announced[1]!).toBeGreaterThanOrEqual(95)
    // Quiet since: nothing more.
    await Bun.sleep(150)
    expect(announced).toHaveLength(2)
    s.stop()
  })

  test("the window follows what the last event cost, and waits for an announcement still being written", async () => {
    const windows: number[] = []
    let finish: ((bytes: number) => void) | undefined
    const s = new PresenceSchedule(
      (done) => {
        finish = done
      },
      (bytes) => {
        windows.push(bytes)
        return 20
      },
    )
    s.changed()
    s.changed()
    // Still writing: the change is held, not announced on top of the running one.
    expect(windows).toEqual([])
    finish!(1234)
    expect(windows).toEqual([1234])
    await Bun.sleep(40)
    // The held change went out when the window ended.
    finish!(10)
    expect(windows).toEqual([1234, 10])
    s.stop()
    s.changed()
    await Bun.sleep(40)
    expect(windows).toEqual([1234, 10])
  })
})
