/** SKILL.md parsing: every frontmatter field in the shapes OpenClaw, clawdbot, Claude Code and Codex skills use, and clear errors. */
import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { scanPipeToShell } from "../../../src/skills/danger.ts"
import { parseSkillMd, SkillParseError } from "../../../src/skills/frontmatter.ts"

const FIX = join(import.meta.dir, "../../fixtures/skills")
const parse = (rel: string) => parseSkillMd(readFileSync(join(FIX, rel, "SKILL.md"), "utf8"), rel.split("/").pop()!)

describe("frontmatter", () => {
  test("OpenClaw nested metadata: every field", () => {
    const { meta, body } = parse("openclaw/gh-issues")
    expect(meta).toEqual({
      name: "gh-issues",
      description: "Triage GitHub issues with the gh CLI.",
      homepage: "https://cli.github.com",
      userInvocable: true,
      disableModelInvocation: false,
      always: false,
      skillKey: "github",
      primaryEnv: "GH_TOKEN",
      emoji: "🐙",
      requires: { bins: ["gh"], anyBins: ["jq", "yq"], env: ["GH_TOKEN"], config: ["channels.telegram.botToken"], os: [] },
      install: [
        { id: "brew", kind: "brew", label: "Install gh (brew)", bins: ["gh"], formula: "gh" },
        { id: "apt-gh", kind: "apt", label: "Install gh (apt)", bins: ["gh"], package: "gh" },
      ],
    })
    expect(body).toContain("gh issue list")
  })

  test("single-line JSON metadata, OS aliases, go install", () => {
    const { meta } = parse("openclaw/macos-notes")
    expect(meta.requires).toMatchObject({ bins: ["memo"], os: ["darwin"] })
    expect(meta.install).toEqual([{ id: "go", kind: "go", label: "Install github.com/example/memo (go)", bins: ["memo"], module: "github.com/example/memo" }])
  })

  test("JSON5 string metadata (unquoted keys), always, uv/node/download hints", () => {
    const { meta } = parse("openclaw/json5-meta")
    expect(meta.always).toBe(true)
    expect(meta.install.map((i) => [i.id, i.kind])).toEqual([
      ["uv", "uv"],
      ["node", "node"],
      ["download", "download"],
    ])
  })

  test("flat requires/os/install at the top (Claude Code / Codex style); a single string counts as a list", () => {
    const { meta } = parse("flat/pdf-tools")
    expect(meta.requires).toEqual({ bins: ["sh"], anyBins: [], env: ["PDF_HOME"], config: [], os: ["linux", "darwin"] })
    expect(meta.install[0]).toMatchObject({ kind: "npm", package: "pdf-parse" })
  })

  test("Claude Code skill without requirements; clawdbot namespace; name falls back to the folder", () => {
    expect(parse("claude/commit-helper").meta).toMatchObject({ name: "commit-helper", requires: { bins: [] }, install: [] })
    expect(parse("clawdbot/weather").meta).toMatchObject({ name: "weather", emoji: "⛅", requires: { bins: ["curl"] } })
  })

  test("command dispatch to a tool", () => {
    expect(parse("dispatch/raw-echo").meta).toMatchObject({
      userInvocable: false,
      commandDispatch: "tool",
      commandTool: "echo_tool",
      commandArgMode: "raw",
      commandArgs: { loud: true },
    })
  })

  test.each([
    ["broken/no-frontmatter", /no YAML frontmatter/],
    ["broken/bad-yaml", /invalid YAML frontmatter/],
    ["broken/no-description", /'description' is required/],
    ["broken/bad-install", /metadata\.openclaw\.install\[0\]\.kind' must be one of/],
  ])("%s: a clear error", (rel, msg) => {
    expect(() => parse(rel)).toThrow(SkillParseError)
    expect(() => parse(rel)).toThrow(msg)
  })

  test("more errors name their field", () => {
    expect(() => parseSkillMd("---\nname: x\ndescription: d\ncommand-dispatch: tool\n---\n", "x")).toThrow("needs 'command-tool'")
    expect(() => parseSkillMd("---\nname: x\ndescription: d\nrequires: [gh]\n---\n", "x")).toThrow("'requires' must be an object")
    expect(() => parseSkillMd("---\nname: ../x\ndescription: d\n---\n", "x")).toThrow("'name' must be")
    expect(() => parseSkillMd("---\nname: x\ndescription: d\n", "x")).toThrow("not closed")
    expect(() => parseSkillMd(`---\nname: x\ndescription: d\n---\n${"a".repeat(300 * 1024)}`, "x")).toThrow("larger than 256 KB")
  })
})

describe("pipe-to-shell flags", () => {
  test("curl|sudo bash, wget -O-|sh, iwr|iex and bash <(curl) are flagged; a plain download is not", () => {
    const flags = scanPipeToShell(readFileSync(join(FIX, "danger/evil-prereq/SKILL.md"), "utf8"))
    expect(flags.map((f) => f.line)).toEqual([6, 7, 8, 9])
    expect(flags[0]).toMatchObject({ kind: "pipe-to-shell", file: "SKILL.md", text: expect.stringContaining("| sudo bash") })
  })
})
