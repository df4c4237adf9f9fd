/**
 * Which Chromium the browser tool drives: tools.browser.executablePath, or the first of the usual names on PATH. The
 * gateway never downloads a browser (playwright's own download is never triggered: it is given an executablePath).
 */
import { accessSync, constants, statSync } from "node:fs"
import { ToolError } from "../tool.ts"

export const CHROMIUM_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The Chromium binary to launch, or a ToolError that says how to install one or which key to set. */
export function findChromium(configured: string | undefined, path: string | undefined = process.env.PATH): string {
  if (configured) {
    if (isExecutableFile(configured)) return configured
    throw new ToolError({
      message: `The browser is not available: tools.browser.executablePath is ${configured}, which is not an executable file. The gateway's operator must point it at a Chromium or Chrome binary (Debian/Ubuntu: apt-get install chromium).`,
    })
  }
  for (const name of CHROMIUM_NAMES) {
    const found = Bun.which(name, { PATH: path ?? "" })
    if (found) return found
  }
  throw new ToolError({
    message: `The browser is not available: no Chromium was found on PATH (looked for ${CHROMIUM_NAMES.join(", ")}) and tools.browser.executablePath is not set. The gateway's operator must install Chromium (Debian/Ubuntu: apt-get install chromium) or set tools.browser.executablePath; the gateway never downloads a browser.`,
  })
}
