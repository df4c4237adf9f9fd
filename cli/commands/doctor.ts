/**
 * `gateway doctor`: checks that do not need a running gateway (config, state dir, SQLite and sqlite-vec from this very
 * binary, auth) plus whether the port is free or answered by a healthy gateway. Exit 1 when any check fails.
 */
import { defineCommand } from "citty"
import { homeArgs, jsonArgs, printJson } from "./_shared.ts"

type Status = "ok" | "warn" | "fail"
interface Check {
  name: string
  status: Status
  detail: string
}

export default defineCommand({
  meta: { name: "doctor", description: "Check config, state dir, port, SQLite + sqlite-vec and versions" },
  args: { ...homeArgs, ...jsonArgs },
  async run({ args }) {
    const { runDoctor } = await import("../../src/doctor.ts")
    const report = await runDoctor({ home: args.home })
    if (args.json) printJson(report)
    else {
      const mark: Record<Status, string> = { ok: "✓", warn: "!", fail: "✗" }
      for (const c of report.checks as Check[]) process.stdout.write(`${mark[c.status]} ${c.name.padEnd(12)} ${c.detail}\n`)
      process.stdout.write(report.ok ? "all checks passed\n" : "some checks failed\n")
    }
    process.exit(report.ok ? 0 : 1)
  },
})
