/**
 * Whether the browser tests can run here. They drive a system Chromium (never a downloaded one); CI installs Debian's
 * (.ci/run), so under CI they never skip: a missing Chromium there fails them. Elsewhere they are skipped, and the
 * skipped test's name says why.
 */
import { findChromium } from "../../src/agent/tools/browser/find-chromium.ts"

/** The Chromium the tests drive (CHROMIUM_PATH, else the one the browser tool would find), or undefined. */
export const chromiumPath: string | undefined = (() => {
  try {
    return findChromium(process.env.CHROMIUM_PATH)
  } catch {
    return undefined
  }
})()

export const hasChromium = chromiumPath !== undefined

/** Skip (off CI only) when no Chromium is installed. */
export const skipWithoutChromium = !hasChromium && !process.env.CI

/** Appended to a browser test's name: the reason it is skipped, when it is. */
export const chromiumNote = skipWithoutChromium ? " [skipped: no Chromium here; apt-get install chromium]" : ""
