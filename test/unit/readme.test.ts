import { expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { withReference } from "../../src/config/readme-reference.ts"

const root = join(import.meta.dir, "../..")

test("README's config reference matches the schema (run `bun run docs:config` if this fails)", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  expect(readme).toBe(withReference(readme))
})

test("README's test command is the one CI runs", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  const ci = readFileSync(join(root, ".ci/run"), "utf8")
  expect(readme).toContain("bun run test ")
  expect(ci).toContain("bun run test 2>&1")
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
  expect(pkg.scripts.test).toContain("bun install/build.ts")
  expect(pkg.scripts.start).toContain("dist/gateway run")
})
