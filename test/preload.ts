/**
 * Runs before every test file: isolates the tests from the developer's real state (HOME, GATEWAY_HOME, caches) and
 * from real credentials, so nothing a test does can touch ~/.gateway or reach a real provider.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const base = mkdtempSync(join(tmpdir(), `gw-test-${process.pid}-`))
process.env.HOME = base
process.env.GATEWAY_HOME = join(base, ".gateway")
process.env.XDG_CACHE_HOME = join(base, ".cache")
process.env.GATEWAY_SYSTEM_CONFIG = join(base, "no-system-config.json")
for (const key of Object.keys(process.env)) {
  if (/^(GATEWAY_(TOKEN|PASSWORD|PORT|URL|CONFIG_PATH)|OPENCLAW_.*|.*_API_KEY|TELEGRAM_BOT_TOKEN|DISCORD_BOT_TOKEN)$/.test(key)) delete process.env[key]
}
