/**
 * Operator approvals for exec in "ask" mode: a request is published on the bus (the wire shows it as
 * exec.approval.requested to clients holding operator.approvals); exec.approval.resolve decides; no answer within the
 * timeout means deny.
 */
import type { Bus } from "../bus/index.ts"
import { ApprovalRequested, ApprovalResolved } from "./events.ts"

export type Decision = "allow-once" | "allow-always" | "deny"

interface Pending {
  id: string
  command: string
  cwd?: string
  sessionKey?: string
  runId?: string
  createdAtMs: number
  expiresAtMs: number
  resolve(d: Decision): void
  timer: Timer
}

export class ApprovalRegistry {
  private pending = new Map<string, Pending>()
  /** Commands an operator allowed "always" during this process's life. */
  private always = new Set<string>()

  constructor(
    private bus: Bus,
    private timeoutMs: () => number,
  ) {}

  request(req: { command: string; cwd?: string; sessionKey?: string; runId?: string; signal?: AbortSignal }): Promise<boolean> {
    if (this.always.has(req.command)) return Promise.resolve(true)
    const id = crypto.randomUUID()
    const createdAtMs = Date.now()
    const expiresAtMs = createdAtMs + this.timeoutMs()
    return new Promise<boolean>((resolveBool) => {
      const finish = (d: Decision) => {
        clearTimeout(entry.timer)
        if (!this.pending.delete(id)) return
        if (d === "allow-always") this.always.add(req.command)
        this.bus.publish(ApprovalResolved, { id, decision: d, ts: Date.now() })
        resolveBool(d !== "deny")
      }
      const entry: Pending = {
        id,
        command: req.command,
        cwd: req.cwd,
        sessionKey: req.sessionKey,
        runId: req.runId,
        createdAtMs,
        expiresAtMs,
        resolve: finish,
        timer: setTimeout(() => finish("deny"), expiresAtMs - createdAtMs),
      }
      this.pending.set(id, entry)
      req.signal?.addEventListener("abort", () => finish("deny"), { once: true })
      this.bus.publish(ApprovalRequested, {
        id,
        request: { command: req.command, cwd: req.cwd, sessionKey: req.sessionKey, runId: req.runId },
        createdAtMs,
        expiresAtMs,
      })
    })
  }

  resolve(id: string, decision: Decision): boolean {
    const p = this.pending.get(id)
    if (!p) return false
    p.resolve(decision)
    return true
  }

  list(): { id: string; command: string; cwd?: string; sessionKey?: string; createdAtMs: number; expiresAtMs: number }[] {
    return [...this.pending.values()].map(({ id, command, cwd, sessionKey, createdAtMs, expiresAtMs }) => ({
      id,
      command,
      cwd,
      sessionKey,
      createdAtMs,
      expiresAtMs,
    }))
  }
}
