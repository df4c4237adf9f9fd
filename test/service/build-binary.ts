/**
 * A fresh compiled gateway with the service commands, for the VM check: cli/index.ts built with the settings of
 * install/build.ts (never a possibly stale dist/gateway), plus a plugin that registers the service commands when
 * cli/commands/index.ts does not (yet).
 *
 *   bun test/service/build-binary.ts OUTFILE
 */
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import type { BunPlugin } from "bun"
import { vec0File } from "../../install/build.ts"

const root = resolve(import.meta.dir, "../..")
function hasServiceCommands(binary: string): boolean {
  if (!existsSync(binary)) return false
  const r = Bun.spawnSync([binary, "install", "--help"], { stdout: "pipe", stderr: "pipe" })
  return r.exitCode === 0 && r.stdout.toString().includes("--dry-run")
}

/** Registers install/uninstall/status/start/stop/restart in the command map without editing the file. */
const registerServiceCommands: BunPlugin = {
  name: "register-service-commands",
  setup(build) {
    build.onLoad({ filter: /[\\/]cli[\\/]commands[\\/]index\.ts$/ }, (args) => ({
      loader: "ts",
      contents: `${readFileSync(args.path, "utf8")}
const svc = () => import("./service.ts")
for (const name of ["install", "uninstall", "status", "start", "stop", "restart"] as const) {
  if (!(name in commands)) (commands as Record<string, unknown>)[name] = () => svc().then((m) => m[name])
}
`,
    }))
  },
}

const embedVec0: BunPlugin = {
  name: "embed-vec0",
  setup(build) {
    const t = { os: process.platform as "linux", arch: process.arch as "x64" }
    const lib = vec0File(t)
    build.onLoad({ filter: /[\\/]src[\\/]store[\\/]vec0-embedded\.ts$/ }, () => ({
      loader: "ts",
      contents: `import lib from ${JSON.stringify(lib)} with { type: "file" }\nexport const EMBEDDED_VEC0: string | undefined = lib\n`,
    }))
  },
}

export async function serviceBinary(outfile: string): Promise<{ path: string; built: boolean; ms: number }> {
  const t0 = performance.now()
  const result = await Bun.build({
    entrypoints: [join(root, "cli/index.ts"), join(root, "src/agent/llm.ts")],
    compile: { target: `bun-${process.platform}-${process.arch}` as Bun.Build.CompileTarget, outfile, autoloadDotenv: false, autoloadBunfig: false },
    minify: true,
    bytecode: true,
    format: "esm",
    define: { GATEWAY_BUILD_ID: JSON.stringify("vm-check"), GATEWAY_LLM_ENTRY: JSON.stringify("src/agent/llm.js") },
    plugins: [registerServiceCommands, embedVec0],
  })
  if (!result.success) throw new Error(`build failed:\n${result.logs.join("\n")}`)
  if (!hasServiceCommands(outfile)) throw new Error(`${outfile} was built but has no 'install' command`)
  return { path: outfile, built: true, ms: Math.round(performance.now() - t0) }
}

if (import.meta.main) {
  const out = resolve(process.argv[2] ?? join(root, "dist/gateway-vm"))
  const r = await serviceBinary(out)
  console.log(`built ${r.path} (${r.ms} ms)`)
}
