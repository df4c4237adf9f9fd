/** Install hints: the exact command per kind, shown without running on a dry run, run (no shell) only when asked. */
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigSchema } from "../../../src/config/schema.ts"
import { installCommand, showCommand } from "../../../src/skills/deps.ts"
import { SkillsService } from "../../../src/skills/service.ts"
import { createLogger } from "../../../src/util/log.ts"

const root = mkdtempSync(join(tmpdir(), "skills-deps-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe("install hints", () => {
  test("one exact command per kind; download is never a command", () => {
    const spec = (o: Record<string, unknown>) => ({ id: "x", label: "x", bins: [], ...o }) as never
    expect(installCommand(spec({ kind: "brew", formula: "gh" }))).toEqual(["brew", "install", "gh"])
    expect(installCommand(spec({ kind: "brew", cask: "docker" }))).toEqual(["brew", "install", "--cask", "docker"])
    expect(installCommand(spec({ kind: "apt", package: "jq" }))).toEqual(["apt-get", "install", "-y", "jq"])
    expect(installCommand(spec({ kind: "npm", package: "prettier" }))).toEqual(["npm", "install", "-g", "prettier"])
    expect(installCommand(spec({ kind: "node", package: "prettier" }))).toEqual(["npm", "install", "-g", "prettier"])
    expect(installCommand(spec({ kind: "go", module: "example.com/x/cmd/x" }))).toEqual(["go", "install", "example.com/x/cmd/x@latest"])
    expect(installCommand(spec({ kind: "go", module: "example.com/x@v1.2.3" }))).toEqual(["go", "install", "example.com/x@v1.2.3"])
    expect(installCommand(spec({ kind: "uv", package: "ruff" }))).toEqual(["uv", "tool", "install", "ruff"])
    expect(installCommand(spec({ kind: "download", url: "https://x/y.tgz" }))).toBeUndefined()
    expect(showCommand(["npm", "install", "-g", "a b; rm -rf /"])).toBe("npm install -g 'a b; rm -rf /'")
  })

  test("a dry run runs nothing; a run executes the argv without a shell; download hints are refused", async () => {
    const bin = join(root, "bin")
    mkdirSync(bin, { recursive: true })
    const marker = join(root, "npm-args")
    writeFileSync(join(bin, "npm"), `#!/bin/sh\necho "$@" > ${marker}\necho installed\n`, { mode: 0o755 })
    const ws = join(root, "ws")
    mkdirSync(join(ws, "skills", "fmt"), { recursive: true })
    writeFileSync(
      join(ws, "skills", "fmt", "SKILL.md"),
      "---\nname: fmt\ndescription: d\nmetadata:\n  openclaw:\n    install:\n      - kind: npm\n        package: 'prettier; touch /tmp/pwned'\n      - kind: download\n        url: https://example.com/x.tgz\n---\n",
    )
    const cfg = ConfigSchema.parse({ skills: { load: { watch: false } } })
    const svc = new SkillsService({
      config: () => cfg,
      workspace: ws,
      managedDir: join(root, "managed"),
      env: { PATH: `${bin}:/usr/bin:/bin` },
      log: createLogger({ maxFileBytes: 1e6, level: "error", console: "off" }),
    })
    const dry = await svc.installDeps("fmt", "npm", { dryRun: true })
    expect(dry).toMatchObject({ dryRun: true, command: ["npm", "install", "-g", "prettier; touch /tmp/pwned"], exitCode: null })
    expect(existsSync(marker)).toBe(false)
    const run = await svc.installDeps("fmt", "npm", {})
    expect(run).toMatchObject({ dryRun: false, exitCode: 0, stdout: "installed\n" })
    // One argument, passed as is: no shell saw the ';'.
    expect(readFileSync(marker, "utf8")).toBe("install -g prettier; touch /tmp/pwned\n")
    await expect(svc.installDeps("fmt", "download", {})).rejects.toThrow("is not run by the gateway; download it yourself from https://example.com/x.tgz")
    await expect(svc.installDeps("fmt", "brew", {})).rejects.toThrow("has no install hint 'brew' (it has: npm, download)")
    // The caller sends the argv it showed: the same runs; one the SKILL.md no longer stands for runs nothing.
    rmSync(marker)
    expect(await svc.installDeps("fmt", "npm", { expect: dry.command })).toMatchObject({ exitCode: 0 })
    rmSync(marker)
    await expect(svc.installDeps("fmt", "npm", { expect: ["npm", "install", "-g", "prettier"] })).rejects.toThrow(
      "now runs npm install -g 'prettier; touch /tmp/pwned', not the npm install -g prettier that was shown; nothing was run",
    )
    expect(existsSync(marker)).toBe(false)
  })
})
