/** Sources, precedence, eligibility, the prompt section and its caps, status shape and the watcher, through SkillsService on temp folders. */
import { afterEach, describe, expect, test } from "bun:test"
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigSchema } from "../../../src/config/schema.ts"
import { SkillsService } from "../../../src/skills/service.ts"
import { skillsPromptSection } from "../../../src/skills/prompt.ts"
import { createLogger } from "../../../src/util/log.ts"

const FIX = join(import.meta.dir, "../../fixtures/skills")
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function setup(config: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}, bins: string[] = []) {
  const root = mkdtempSync(join(tmpdir(), "skills-src-"))
  dirs.push(root)
  const workspace = join(root, "workspace")
  const managed = join(root, "home-skills")
  const extra = join(root, "extra")
  for (const d of [join(workspace, "skills"), managed, extra]) mkdirSync(d, { recursive: true })
  let cfg = ConfigSchema.parse({ skills: { load: { extraDirs: [extra], watch: false } }, ...config })
  const log = createLogger({ maxFileBytes: 1e6, level: "error", console: "off" })
  const svc = new SkillsService({
    config: () => cfg,
    workspace,
    managedDir: managed,
    env,
    log,
    which: (b) => (bins.includes(b) ? `/usr/bin/${b}` : null),
  })
  return { svc, workspace, managed, extra, root, setConfig: (c: Record<string, unknown>) => (cfg = ConfigSchema.parse(c)) }
}

const skill = (dir: string, name: string, description: string, extra = "") => {
  mkdirSync(join(dir, name), { recursive: true })
  writeFileSync(join(dir, name, "SKILL.md"), `---\nname: ${name}\ndescription: ${description}\n${extra}---\nbody\n`)
}

describe("sources and precedence", () => {
  test("workspace > managed > bundled > extra; the loser is recorded as shadowed", () => {
    const { svc, workspace, managed, extra } = setup()
    skill(extra, "dup", "from extra")
    skill(managed, "dup", "from managed")
    skill(join(workspace, "skills"), "dup", "from workspace")
    skill(managed, "only-managed", "m")
    skill(extra, "only-extra", "e")
    // A managed skill named like a bundled one wins over the bundled one; an extra one loses to it.
    skill(managed, "browser", "my own browser")
    skill(extra, "web-search", "extra web search")
    const all = svc.load().skills
    const by = Object.fromEntries(all.map((s) => [s.name, s]))
    expect(by.dup!.description).toBe("from workspace")
    expect(by.dup!.source).toBe("openclaw-workspace")
    expect(by.dup!.shadows.map((s) => s.source)).toEqual(["openclaw-managed", "openclaw-extra"])
    expect(by["only-managed"]!.source).toBe("openclaw-managed")
    expect(by["only-extra"]!.source).toBe("openclaw-extra")
    expect(by.browser!.source).toBe("openclaw-managed")
    expect(by["web-search"]!.source).toBe("openclaw-bundled")
    expect(by["web-search"]!.filePath).toBe("<bundled>/web-search/SKILL.md")
  })

  test("malformed skills are reported one by one and never hide the others", () => {
    const { svc, workspace } = setup()
    cpSync(join(FIX, "broken"), join(workspace, "skills"), { recursive: true })
    cpSync(join(FIX, "claude"), join(workspace, "skills"), { recursive: true })
    const { skills, errors } = svc.load()
    expect(skills.map((s) => s.name)).toContain("commit-helper")
    expect(errors.map((e) => e.filePath.split("/").at(-2)).sort()).toEqual(["bad-install", "bad-yaml", "no-description", "no-frontmatter"])
    expect(svc.status().errors?.find((e) => e.filePath.includes("bad-yaml"))?.message).toContain("invalid YAML")
  })

  test("a skill folder linked from outside the root is refused", () => {
    const { svc, workspace, root } = setup()
    skill(join(root, "outside"), "sneaky", "lives elsewhere")
    symlinkSync(join(root, "outside", "sneaky"), join(workspace, "skills", "sneaky"))
    const { skills, errors } = svc.load()
    expect(skills.find((s) => s.name === "sneaky")).toBeUndefined()
    expect(errors[0]!.message).toContain("symbolic links out of a skills directory are not followed")
  })
})

describe("eligibility", () => {
  test("missing bins, anyBins, env and config keys are listed; satisfied ones are not", () => {
    const { svc, workspace } = setup({}, { GH_TOKEN: "" }, ["gh"])
    cpSync(join(FIX, "openclaw"), join(workspace, "skills"), { recursive: true })
    const gh = svc.status().skills.find((s) => s.name === "gh-issues")!
    expect(gh).toMatchObject({
      skillKey: "github",
      eligible: false,
      missing: { bins: [], anyBins: ["jq", "yq"], env: ["GH_TOKEN"], config: ["channels.telegram.botToken"], os: [] },
      configChecks: [{ path: "channels.telegram.botToken", satisfied: false }],
      install: [
        { id: "brew", kind: "brew", command: "brew install gh" },
        { id: "apt-gh", kind: "apt", command: "apt-get install -y gh" },
      ],
    })
    expect(gh.reasons).toEqual([
      "needs one of: jq, yq",
      "missing environment variables: GH_TOKEN (or set skills.entries.github.env)",
      "config keys not set: channels.telegram.botToken",
    ])
  })

  test("env from skills.entries (or apiKey for primaryEnv), config keys and bins make it eligible", () => {
    const { svc, workspace } = setup(
      { skills: { load: { watch: false }, entries: { github: { apiKey: "k" } } }, channels: { telegram: { botToken: "123456:abcdefghij" } } },
      {},
      ["gh", "jq"],
    )
    cpSync(join(FIX, "openclaw"), join(workspace, "skills"), { recursive: true })
    expect(svc.get("gh-issues")!.eligibility).toMatchObject({ eligible: true, reasons: [] })
  })

  test("wrong OS, always, disabled by config, bundled allowlist", () => {
    const { svc, workspace, setConfig, extra } = setup()
    cpSync(join(FIX, "openclaw"), join(workspace, "skills"), { recursive: true })
    const notes = svc.get("macos-notes")!.eligibility
    if (process.platform !== "darwin") expect(notes).toMatchObject({ eligible: false, platformIncompatible: true, missing: { os: ["darwin"] } })
    // always: the missing binary does not matter.
    expect(svc.get("json5-meta")!.eligibility).toMatchObject({ eligible: true, missing: { bins: ["definitely-not-a-binary-xyz"] } })
    setConfig({ skills: { load: { extraDirs: [extra], watch: false }, entries: { "json5-meta": { enabled: false } }, allowBundled: ["browser"] } })
    expect(svc.get("json5-meta")!.eligibility).toMatchObject({ eligible: false, disabled: true, reasons: ["disabled by skills.entries.json5-meta.enabled"] })
    expect(svc.get("web-search")!.eligibility).toMatchObject({ eligible: false, blockedByAllowlist: true })
    expect(svc.get("browser")!.eligibility.eligible).toBe(true)
  })

  test("bins lists every required binary", () => {
    const { svc, workspace } = setup()
    cpSync(join(FIX, "openclaw"), join(workspace, "skills"), { recursive: true })
    expect(svc.bins()).toEqual(["definitely-not-a-binary-xyz", "gh", "jq", "memo", "yq"])
  })
})

describe("prompt", () => {
  test("eligible, model-visible skills with their SKILL.md path; ineligible, hidden and bundled ones are left out", () => {
    const { svc, workspace, managed } = setup()
    skill(join(workspace, "skills"), "visible", "use me & <you>")
    skill(managed, "hidden", "not for the model", "disable-model-invocation: true\n")
    skill(managed, "needs-bin", "x", "requires:\n  bins: [nope-nope]\n")
    const section = svc.promptSection()
    expect(section).toContain("## Skills")
    expect(section).toContain(
      `<skill><name>visible</name><description>use me &amp; &lt;you&gt;</description><location>${join(workspace, "skills", "visible", "SKILL.md")}</location></skill>`,
    )
    expect(section).toContain("read tool")
    for (const name of ["hidden", "needs-bin", "web-search", "browser"]) expect(section).not.toContain(`<name>${name}</name>`)
    expect(svc.readRoots()).toEqual([join(workspace, "skills", "visible")])
  })

  test("the character and count caps hold, and what did not fit is counted", () => {
    const skills = Array.from({ length: 50 }, (_, i) => ({ name: `s${i}`, description: "d".repeat(100), location: `/x/s${i}/SKILL.md` }))
    const capped = skillsPromptSection(skills, { maxChars: 2000, maxSkills: 150 })
    expect(capped.length).toBeLessThanOrEqual(2000)
    const listed = capped.match(/<skill>/g)!.length
    expect(listed).toBeGreaterThan(3)
    expect(capped).toContain(`(${50 - listed} more skills not listed`)
    expect(skillsPromptSection(skills, { maxChars: 100_000, maxSkills: 5 }).match(/<skill>/g)!.length).toBe(5)
    expect(skillsPromptSection(skills, { maxChars: 0, maxSkills: 5 })).toBe("")
    expect(skillsPromptSection([], { maxChars: 1000, maxSkills: 5 })).toBe("")
  })
})

describe("invoke target", () => {
  test("bundled skills dispatch to their tools with the documented args; raw mode and errors", () => {
    const { svc, workspace } = setup()
    cpSync(join(FIX, "dispatch"), join(workspace, "skills"), { recursive: true })
    expect(svc.invokeTarget("web-search", { query: "bun" })).toEqual({ skill: "web-search", tool: "web_search", args: { query: "bun" } })
    expect(svc.invokeTarget("browser", { url: "http://127.0.0.1:1/" })).toEqual({
      skill: "browser",
      tool: "browser",
      args: { action: "open", url: "http://127.0.0.1:1/" },
    })
    expect(svc.invokeTarget("raw-echo", "hello")).toEqual({
      skill: "raw-echo",
      tool: "echo_tool",
      args: { loud: true, command: "hello", commandName: "raw-echo", skillName: "raw-echo" },
    })
    expect(() => svc.invokeTarget("nope", {})).toThrow("unknown skill: nope")
    skill(join(workspace, "skills"), "plain", "no dispatch")
    expect(() => svc.invokeTarget("plain", {})).toThrow("does not dispatch to a tool")
  })
})

describe("watcher", () => {
  test("a skill dropped into workspace/skills (created after start) is picked up, an edit too", async () => {
    const { svc, workspace, setConfig, extra } = setup()
    rmSync(join(workspace, "skills"), { recursive: true })
    setConfig({ skills: { load: { extraDirs: [extra], watch: true, watchDebounceMs: 30 } } })
    svc.start()
    try {
      expect(svc.get("late")).toBeUndefined()
      const v0 = svc.snapshotVersion
      // Other files beside the missing root (the workspace's notes, the state home's database) do not reload skills.
      writeFileSync(join(workspace, "notes.md"), "busy\n")
      await Bun.sleep(150)
      svc.get("late")
      expect(svc.snapshotVersion).toBe(v0)
      mkdirSync(join(workspace, "skills"))
      await Bun.sleep(150)
      skill(join(workspace, "skills"), "late", "arrived later")
      const until = async (ok: () => boolean) => {
        for (let i = 0; i < 100 && !ok(); i++) await Bun.sleep(30)
      }
      await until(() => svc.get("late") !== undefined)
      expect(svc.get("late")!.description).toBe("arrived later")
      skill(join(workspace, "skills"), "late", "edited")
      await until(() => svc.get("late")?.description === "edited")
      expect(svc.get("late")!.description).toBe("edited")
      expect(svc.snapshotVersion).toBeGreaterThan(v0)
    } finally {
      svc.stop()
    }
  })
})
