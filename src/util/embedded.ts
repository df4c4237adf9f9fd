/**
 * Heavy parts of the binary (the AI SDK, grammY, discord.js) are separate embedded entry points, imported by path
 * on first use, so the daemon's own bundle stays small: less to load at start, less resident memory for a gateway
 * that never uses them. From source they are ordinary imports.
 */
const EMBED_ROOT = process.platform === "win32" ? "B:/~BUN/root" : "/$bunfs/root"

/**
 * `embeddedPath` is the entry's path in the binary's virtual root (defined by install/build.ts); `sourceUrl` the
 * module's URL when running from source (`new URL("./x.ts", import.meta.url)`). Both imports are built at run time,
 * so the bundler leaves them alone and does not inline the module into the main bundle as well.
 */
export function importEntry<T>(embeddedPath: string | undefined, sourceUrl: URL): Promise<T> {
  if (Bun.isStandaloneExecutable && typeof embeddedPath === "string") return import([EMBED_ROOT, embeddedPath].join("/"))
  return import(sourceUrl.href)
}
