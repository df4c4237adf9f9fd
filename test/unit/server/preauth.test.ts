/**
 * Admission of unauthenticated sockets: per-address and global caps (429 / 503), the queue of admitted sockets that
 * are not read yet (resumed oldest first when a slot frees), caps read live, and the address keys (IPv6 by /64).
 */
import { describe, expect, test } from "bun:test"
import { PreauthGate, READING_PER_ADDRESS, READING_TOTAL, addressKey } from "../../../src/server/preauth.ts"

describe("pre-auth gate", () => {
  const gate = (maxPerAddress = 4, maxTotal = 32) => new PreauthGate(() => ({ maxPerAddress, maxTotal }))

  test("per address: admitted up to the cap, then 429; the first READING_PER_ADDRESS are read, the rest paused", () => {
    const g = gate()
    const admissions = [1, 2, 3, 4].map((i) => g.admit(`a${i}`, "10.0.0.1"))
    expect(admissions).toEqual([1, 2, 3, 4].map((i) => ({ ok: true, paused: i > READING_PER_ADDRESS })))
    const refused = g.admit("a5", "10.0.0.1")
    expect(refused).toMatchObject({ ok: false, status: 429 })
    // Another address is not affected.
    expect(g.admit("b1", "10.0.0.2")).toEqual({ ok: true, paused: false })
    expect(g.size).toBe(5)
  })

  test("a slot freed by hello-ok or close resumes the oldest paused socket of an address with room", () => {
    const g = gate()
    for (const i of [1, 2, 3, 4]) g.admit(`a${i}`, "10.0.0.1")
    expect(g.release("a3")).toEqual([])
    expect(g.release("a1")).toEqual(["a4"])
    expect(g.admit("a5", "10.0.0.1")).toEqual({ ok: true, paused: true })
    expect(g.release("a2")).toEqual(["a5"])
    expect(g.release("a2")).toEqual([])
    expect(g.size).toBe(2)
  })

  test("in all: maxTotal admitted (then 503), READING_TOTAL read", () => {
    const g = gate(100, 12)
    const paused = Array.from({ length: 12 }, (_, i) => g.admit(`s${i}`, `10.0.${i}.1`)).map((a) => a.ok && a.paused)
    expect(paused.filter((p) => !p)).toHaveLength(READING_TOTAL)
    expect(g.admit("s12", "10.0.99.1")).toMatchObject({ ok: false, status: 503 })
    expect(g.release("s0")).toEqual([`s${READING_TOTAL}`])
  })

  test("caps are read live (config hot reload)", () => {
    let max = 1
    const g = new PreauthGate(() => ({ maxPerAddress: max, maxTotal: 32 }))
    g.admit("a", "10.0.0.1")
    expect(g.admit("b", "10.0.0.1").ok).toBe(false)
    max = 2
    expect(g.admit("b", "10.0.0.1").ok).toBe(true)
  })

  test("addresses are keyed by IPv4, IPv4-mapped IPv6 as IPv4, and IPv6 by /64", () => {
    expect(addressKey("127.0.0.1")).toBe("127.0.0.1")
    expect(addressKey("::ffff:192.0.2.7")).toBe("192.0.2.7")
    expect(addressKey("2001:db8:0:1::1")).toBe("2001:db8:0:1::/64")
    expect(addressKey("2001:db8:0:1:ffff:1:2:3")).toBe("2001:db8:0:1::/64")
    expect(addressKey("2001:0db8:0000:0001:0000:0000:0000:0001")).toBe("2001:db8:0:1::/64")
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64")
    expect(addressKey("::1")).toBe("0:0:0:0::/64")
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64")
    expect(addressKey("2001:db8:0:1::1")).not.toBe(addressKey("2001:db8:0:2::1"))
  })
})
