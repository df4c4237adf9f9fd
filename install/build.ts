/**
 * Builds the product: ONE executable per target with `bun build --compile` (minified, bytecode, ESM, code
 * splitting), with the target's sqlite-vec library and the drizzle migrations embedded, and .env / bunfig
 * autoloading switched off.
 *
 *   bun install/build.ts                 host target → dist/gateway
 *   bun install/build.ts --release       linux/darwin × x64/arm64 → dist/release/gateway-<os>-<arch>, install.sh, SHA256SUMS
 *   bun install/build.ts --release --targets linux-x64,linux-arm64   a subset (SHA256SUMS lists what this run built)
 *   bun install/build.ts --target linux-arm64 [--outfile path]
 *
 * Cross-compiling needs every platform's sqlite-vec package (`bun install --os="*" --cpu="*"`; bun.lock already lists
 * them, so the lockfile does not change) and the target's Bun runtime, which Bun downloads on first use and caches as
 * ~/.bun/install/cache/bun-<os>-<arch>-v<bun version>. The release build smoke-tests the host's binary with --version.
 */
import { createHash } from "node:crypto"
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join, relative, resolve, sep } from "node:path"
import type { BunPlugin } from "bun"
import { buildWeb } from "../src/web/build.ts"

const root = resolve(import.meta.dir, "..")
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }

export interface Target {
  os: "linux" | "darwin"
  arch: "x64" | "arm64"
}

export const RELEASE_TARGETS: Target[] = [
  { os: "linux", arch: "x64" },
  { os: "linux", arch: "arm64" },
  { os: "darwin", arch: "x64" },
  { os: "darwin", arch: "arm64" },
]

export function vec0File(t: Target): string {
  const file = join(root, "node_modules", `sqlite-vec-${t.os}-${t.arch}`, `vec0.${t.os === "darwin" ? "dylib" : "so"}`)
  if (!existsSync(file)) {
    throw new Error(`missing ${file}: install every platform's sqlite-vec package first with: bun install --os="*" --cpu="*"`)
  }
  return file
}

/** Swaps src/store/vec0-embedded.ts for a module that embeds this target's vec0 library as a file. */
function embedVec0(t: Target): BunPlugin {
  const lib = vec0File(t)
  return {
    name: "embed-vec0",
    setup(build) {
      build.onLoad({ filter: /[\\/]src[\\/]store[\\/]vec0-embedded\.ts$/ }, () => ({
        loader: "ts",
        contents: `import lib from ${JSON.stringify(lib)} with { type: "file" }\nexport const EMBEDDED_VEC0: string | undefined = lib\n`,
      }))
    },
  }
}

/**
 * A `require()` of a package in our own code (the lazy, synchronous loads of zod in src/util/named-error.ts, of
 * consola in the CLI) resolves to the package's ESM build, the one its `import`s get. Left alone, the bundler takes
 * the CommonJS build: a second copy of the package inside the requiring chunk (zod's is ~570 kB with every locale),
 * loaded by every command that imports the module. Resolved to the ESM build, it is one copy in its own chunk,
 * loaded only when the require runs.
 */
function esmForRequire(): BunPlugin {
  const ours = [join(root, "src") + sep, join(root, "cli") + sep]
  return {
    name: "esm-for-require",
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.kind !== "require-call" || !ours.some((dir) => args.importer.startsWith(dir))) return undefined
        const entry = esmEntry(args.path)
        return entry ? { path: entry } : undefined
      })
    },
  }
}

/** The file a package's `exports` give an ESM `import` of `spec` ("zod", "consola/basic"), or undefined. */
function esmEntry(spec: string): string | undefined {
  const parts = spec.split("/")
  const name = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!
  const subpath = `.${spec.slice(name.length)}`
  const dir = join(root, "node_modules", name)
  try {
    const { exports } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { exports?: string | Record<string, unknown> }
    let target = typeof exports === "string" ? (subpath === "." ? exports : undefined) : exports?.[subpath]
    // Conditions in the order an ESM import under Bun picks them: "node" before "default", or a package such as
    // consola resolves to its browser build (which logs to stdout).
    for (let i = 0; i < 4 && target && typeof target === "object"; i++) {
      const t = target as Record<string, unknown>
      target = t.bun ?? t.node ?? t.import ?? t.default
    }
    return typeof target === "string" ? join(dir, target) : undefined
  } catch {
    return undefined
  }
}

/** src/protocol/validators.gen.ts generated afresh from the schemas, so a binary's validators are always its own. */
function generatedValidators(): BunPlugin {
  return {
    name: "protocol-validators",
    setup(build) {
      build.onLoad({ filter: /[\\/]src[\\/]protocol[\\/]validators\.gen\.ts$/ }, async () => {
        const { generateValidators } = await import("../src/protocol/gen-validators.ts")
        return { loader: "ts", contents: generateValidators({ format: false }) }
      })
    },
  }
}

/**
 * Swaps src/web/assets.ts (which reads dist/web from disk) for a module carrying the web page Vite just built, so
 * the binary serves it with no files beside it.
 */
function embedWeb(dir: string): BunPlugin {
  return {
    name: "embed-web",
    setup(build) {
      build.onLoad({ filter: /[\\/]src[\\/]web[\\/]assets\.ts$/ }, async () => {
        const { readAssetTable } = await import("../src/web/asset-table.ts")
        const table = readAssetTable(dir)
        if (!table) throw new Error(`the web build left no index.html in ${dir}`)
        return { loader: "ts", contents: `const TABLE = ${JSON.stringify(table)}\nexport function webAssets() { return TABLE }\n` }
      })
    },
  }
}

function gitRev(): string {
  const r = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: root, stderr: "ignore" })
  return r.exitCode === 0 ? r.stdout.toString().trim() : "nogit"
}

export async function buildTarget(t: Target, outfile: string): Promise<string> {
  const buildId = `${pkg.version}-${gitRev()}-${t.os}-${t.arch}`
  // The web page first (Vite, src/web/vite.config.ts): its output is embedded below.
  const webDir = await buildWeb()
  const result = await Bun.build({
    // src/agent/llm.ts (the AI SDK and its providers) is a second embedded entry point, imported by path on the first
    // model call, so the daemon's own bundle stays small: less to load at start, less resident memory.
    // The channel adapters (grammY, discord.js) likewise, imported only when a channel is configured.
    entrypoints: [
      join(root, "cli/index.ts"),
      join(root, "src/agent/llm.ts"),
      join(root, "src/channels/telegram/adapter.ts"),
      join(root, "src/channels/discord/adapter.ts"),
      // The browser tool's engine (playwright-core), imported on the first browser call.
      join(root, "src/agent/tools/browser/engine.ts"),
    ],
    compile: {
      target: `bun-${t.os}-${t.arch}` as Bun.Build.CompileTarget,
      outfile,
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    minify: true,
    bytecode: true,
    format: "esm",
    // Each command loads only the chunks it uses: `--version` and the client commands skip the daemon, the store
    // and zod, and code shared with the embedded entries (zod, the AI SDK's helpers) is one copy, not one per entry.
    splitting: true,
    define: {
      GATEWAY_BUILD_ID: JSON.stringify(buildId),
      GATEWAY_LLM_ENTRY: JSON.stringify("src/agent/llm.js"),
      GATEWAY_TELEGRAM_ENTRY: JSON.stringify("src/channels/telegram/adapter.js"),
      GATEWAY_DISCORD_ENTRY: JSON.stringify("src/channels/discord/adapter.js"),
      GATEWAY_BROWSER_ENTRY: JSON.stringify("src/agent/tools/browser/engine.js"),
    },
    plugins: [embedVec0(t), esmForRequire(), generatedValidators(), embedWeb(webDir)],
  })
  if (!result.success) {
    for (const log of result.logs) console.error(log)
    throw new Error(`build failed for ${t.os}-${t.arch}`)
  }
  return outfile
}

/** Parses "linux-arm64" (also accepts the uname spellings x86_64/amd64/aarch64). */
export function parseTarget(spec: string): Target {
  const [os, rawArch, extra] = spec.trim().split("-")
  const arch = rawArch === "x86_64" || rawArch === "amd64" ? "x64" : rawArch === "aarch64" ? "arm64" : rawArch
  if ((os !== "linux" && os !== "darwin") || (arch !== "x64" && arch !== "arm64") || extra !== undefined) {
    throw new Error(`unknown target '${spec}': expected one of ${RELEASE_TARGETS.map(targetName).join(", ")}`)
  }
  return { os, arch }
}

export function targetName(t: Target): string {
  return `${t.os}-${t.arch}`
}

/** The release artefact's file name, which install/install.sh and `gateway update` download. */
export function artefactName(t: Target): string {
  return `gateway-${targetName(t)}`
}

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex")
}

/** Runs `<file> --version`; a binary that cannot even print its version must never be published. */
function smokeTest(file: string): void {
  const r = Bun.spawnSync([file, "--version"], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } })
  const out = r.stdout.toString().trim()
  if (r.exitCode !== 0 || !out.startsWith(pkg.version)) {
    throw new Error(`smoke test failed: ${file} --version exited ${r.exitCode}: ${out} ${r.stderr.toString().trim()}`)
  }
  console.log(`smoke test: ${file} --version → ${out}`)
}

function hostTarget(): Target {
  if ((process.platform !== "linux" && process.platform !== "darwin") || (process.arch !== "x64" && process.arch !== "arm64")) {
    throw new Error(`no build target for ${process.platform}-${process.arch}`)
  }
  return { os: process.platform, arch: process.arch }
}

/**
 * Builds `targets` into dist/release, copies install/install.sh there, and writes SHA256SUMS for exactly those files;
 * smoke-tests the host's build.
 */
export async function buildRelease(targets: Target[] = RELEASE_TARGETS, dir = join(root, "dist/release")): Promise<string[]> {
  const started = performance.now()
  mkdirSync(dir, { recursive: true })
  for (const t of targets) vec0File(t) // fail before the first (slow) build when a platform package is missing
  rmSync(join(dir, "SHA256SUMS"), { force: true }) // a failed run must not leave old sums beside new binaries
  const host = `${process.platform}-${process.arch}`
  const sums: string[] = []
  for (const t of targets) {
    const name = artefactName(t)
    const file = join(dir, name)
    const t0 = performance.now()
    await buildTarget(t, file)
    sums.push(`${sha256(file)}  ${name}`)
    const mb = (statSync(file).size / 1e6).toFixed(1)
    console.log(`built ${relative(root, file)} (${mb} MB, ${((performance.now() - t0) / 1000).toFixed(1)} s)`)
    if (targetName(t) === host) smokeTest(file)
  }
  // The installer ships beside the binaries, so `curl -fsSL <base>/install.sh | sh` fetches the matching one.
  copyFileSync(join(root, "install/install.sh"), join(dir, "install.sh"))
  sums.push(`${sha256(join(dir, "install.sh"))}  install.sh`)
  writeFileSync(join(dir, "SHA256SUMS"), `${sums.join("\n")}\n`)
  console.log(`wrote ${relative(root, join(dir, "SHA256SUMS"))} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
  return sums
}

async function main(args: string[]): Promise<void> {
  const opt = (name: string) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const started = performance.now()
  if (args.includes("--release")) {
    const only = opt("--targets")
    await buildRelease(only ? only.split(",").filter(Boolean).map(parseTarget) : RELEASE_TARGETS)
  } else {
    const spec = opt("--target")
    const t = spec ? parseTarget(spec) : hostTarget()
    const outfile = resolve(opt("--outfile") ?? join(root, "dist/gateway"))
    await buildTarget(t, outfile)
    console.log(`built ${outfile} for ${t.os}-${t.arch} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
  }
}

if (import.meta.main) {
  await main(process.argv.slice(2)).catch((err: Error) => {
    console.error(`build: ${err.message}`)
    process.exit(1)
  })
}
