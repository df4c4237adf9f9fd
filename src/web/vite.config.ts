/** Vite build of the web page (src/web/app → dist/web); install/build.ts runs it before compiling the binary. */
import { join, resolve } from "node:path"
import { defineConfig } from "vite"

export const WEB_ROOT = resolve(import.meta.dirname, "app")
export const WEB_OUT = resolve(import.meta.dirname, "../../dist/web")

export default defineConfig({
  root: WEB_ROOT,
  base: "/",
  logLevel: "warn",
  // Served from the binary: no public folder, no CDN, every asset built from src/web/app.
  publicDir: false,
  build: {
    outDir: WEB_OUT,
    emptyOutDir: true,
    target: "es2022",
    // One small script: no preload polyfill (it would be inline code the CSP forbids anyway).
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
    rollupOptions: { input: join(WEB_ROOT, "index.html") },
  },
})
