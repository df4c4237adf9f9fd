/**
 * The service commands against a real systemd: boots the throwaway Debian VM (systemd 252) with the compiled gateway
 * and test/service/vm-check.sh in a shared folder, and requires every check in it to pass. Only with RUN_VM_TESTS=1
 * (slow: ~15 s boot plus the checks under software emulation; the image is built once, ~85 s, as root).
 * Runner: $GATEWAY_VM_RUNNER, default ../shared/tools/systemd-vm/run-in-vm.sh beside the checkout.
 */
import { expect, test } from "bun:test"
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { serviceBinary } from "./build-binary.ts"

const enabled = process.env.RUN_VM_TESTS === "1"
// shared/ sits beside the checkout (also in CI's clean clone).
const runner = process.env.GATEWAY_VM_RUNNER ?? resolve(import.meta.dir, "../../../shared/tools/systemd-vm/run-in-vm.sh")
if (!enabled) console.warn("SKIP test/service/vm.test.ts: set RUN_VM_TESTS=1 to run the service checks in a real systemd VM")

test.skipIf(!enabled)(
  "gateway install/status/restart/uninstall in a real systemd VM (user and system units)",
  async () => {
    expect(existsSync(runner)).toBe(true)
    const share = mkdtempSync(join(tmpdir(), "gw-vm-"))
    try {
      const bin = await serviceBinary(join(share, "gateway"))
      console.log(`binary: built ${bin.path} (${bin.ms} ms)`)
      copyFileSync(join(import.meta.dir, "vm-check.sh"), join(share, "vm-check.sh"))
      const t0 = performance.now()
      const proc = Bun.spawn([runner, share, "vm-check.sh"], { stdout: "pipe", stderr: "pipe" })
      const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
      console.log(out)
      if (err.trim()) console.error(err)
      console.log(`VM run: ${((performance.now() - t0) / 1000).toFixed(1)} s, exit ${code}`)
      const failures = out.split("\n").filter((l) => l.startsWith("FAIL"))
      expect(failures).toEqual([])
      expect(out).toContain("ALL OK")
      expect(code).toBe(0)
    } finally {
      rmSync(share, { recursive: true, force: true })
    }
  },
  25 * 60_000,
)
