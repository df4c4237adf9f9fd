/**
 * `gateway update`: replace this binary with the release build for this platform (checksum-verified, smoke-tested,
 * renamed into place atomically) and restart an installed systemd/launchd service onto it.
 */
import { defineCommand } from "citty"
import { fail, jsonArgs, printJson, ui } from "./_shared.ts"

export default defineCommand({
  meta: { name: "update", description: "Update this binary to the latest release (verified) and restart the service" },
  args: {
    "base-url": { type: "string", description: "Release location (env GATEWAY_INSTALL_BASE_URL)", valueHint: "url" },
    binary: { type: "string", description: "Install this local binary instead of downloading", valueHint: "path" },
    sums: { type: "string", description: "SHA256SUMS to verify --binary against", valueHint: "path" },
    check: { type: "boolean", description: "Only report whether an update is available", default: false },
    "dry-run": { type: "boolean", description: "Download, verify and test the new binary, but replace and restart nothing", default: false },
    ...jsonArgs,
  },
  async run({ args }) {
    const { runUpdate, UpdateError } = await import("../../src/update/index.ts")
    let result: Awaited<ReturnType<typeof runUpdate>>
    try {
      result = await runUpdate({
        baseUrl: args["base-url"],
        binary: args.binary,
        sums: args.sums,
        check: args.check,
        dryRun: args["dry-run"],
        log: args.json ? undefined : (line) => ui.info(line),
      })
    } catch (err) {
      if (err instanceof UpdateError) return fail(`${err.message}; nothing was changed`, { json: args.json, error: err.data })
      return fail(`update failed: ${(err as Error).message}`, { json: args.json, error: err })
    }
    if (args.json) printJson(result)
    else {
      const out = (line: string) => process.stdout.write(`${line}\n`)
      const short = (sha: string) => sha.slice(0, 12)
      switch (result.action) {
        case "up-to-date":
          out(`gateway ${result.current.version} is up to date (${result.path})`)
          break
        case "update-available":
          out(`update available: ${short(result.current.sha256)} → ${short(result.next.sha256)} from ${result.source}`)
          break
        case "would-update":
          out(`would replace ${result.path}: ${result.current.version} → ${result.next.version} (dry run, nothing changed)`)
          for (const s of result.services) out(`would restart the ${s.kind} service: ${s.restart.join(" ")}`)
          break
        case "updated":
          out(`updated ${result.path}: ${result.current.version} → ${result.next.version}`)
          for (const s of result.services) {
            if (s.restarted) out(`restarted the ${s.kind} service (${s.restart.join(" ")})`)
            else ui.error(`gateway: the binary is updated, but restarting the ${s.kind} service failed: ${s.error}; run: ${s.restart.join(" ")}`)
          }
          if (result.services.length === 0) out("no installed service found; restart any running gateway to use the new binary")
          break
      }
      if (!result.verified && result.action !== "up-to-date") ui.warn("the new binary's checksum was not verified (no --sums)")
    }
    process.exit(result.ok ? 0 : 1)
  },
})
