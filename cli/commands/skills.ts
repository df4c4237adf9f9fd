/**
 * `gateway skills list [--eligible] | info NAME | check | install SOURCE [--sha256 H] [--force] | update NAME|--all |
 * install-deps NAME [ID] [--yes]`: the daemon's skills through skills.* methods, typed by their protocol schemas.
 * Nothing here runs a skill's code; install-deps prints the exact command and runs it only with --yes.
 */
import { resolve } from "node:path"
import { defineCommand } from "citty"
import type { MethodResult } from "../../src/protocol/index.ts"
import { showCommand } from "../../src/skills/deps.ts"
import { connectionArgs, fail, printJson, withClient } from "./_shared.ts"

type Status = MethodResult<"skills.status">
type Entry = Status["skills"][number]
type Installed = Extract<MethodResult<"skills.install">, { sourceKind: string }>

const READ = ["operator.read"] as const
const ADMIN = ["operator.read", "operator.admin"] as const

function missingText(s: Entry): string {
  if (s.eligible) return ""
  return (s.reasons ?? []).join("; ")
}

function flagLines(s: Entry): string[] {
  return (s.flags ?? []).map((f) => `    ⚠ pipes a download into a shell: ${f.file}:${f.line}: ${f.text}`)
}

function shadowLines(s: Entry): string[] {
  return (s.shadows ?? []).map((x) => `    hides the ${x.source.replace(/^openclaw-/, "")} skill of the same name: ${x.filePath}`)
}

const list = defineCommand({
  meta: { name: "list", description: "Every skill the gateway sees: source, eligible or what is missing, flagged instructions" },
  args: { eligible: { type: "boolean", default: false, description: "Only eligible skills" }, ...connectionArgs },
  async run({ args }) {
    const s = await withClient(args, READ, (c) => c.request("skills.status", {}))
    const skills = args.eligible ? s.skills.filter((k) => k.eligible) : s.skills
    if (args.json) return printJson({ ...s, skills })
    const lines: string[] = []
    for (const k of skills) {
      const mark = k.eligible ? "✓" : "✗"
      lines.push(`${mark} ${k.name}  (${k.source.replace(/^openclaw-/, "")})  ${k.description}`)
      if (!k.eligible) lines.push(`    missing: ${missingText(k)}`)
      lines.push(...shadowLines(k))
      lines.push(...flagLines(k))
    }
    for (const e of s.errors ?? []) lines.push(`! ${e.filePath}: ${e.message}`)
    if (lines.length === 0) lines.push(args.eligible ? "no eligible skills" : "no skills")
    console.log(lines.join("\n"))
  },
})

const info = defineCommand({
  meta: { name: "info", description: "One skill: where it lives, requirements, what is missing, install hints, hash" },
  args: { name: { type: "positional", required: true, description: "Skill name" }, ...connectionArgs },
  async run({ args }) {
    const s = await withClient(args, READ, (c) => c.request("skills.status", {}))
    const k = s.skills.find((x) => x.name === args.name || x.skillKey === args.name)
    if (!k) return fail(`no skill named ${args.name} (see 'gateway skills list')`, { json: args.json })
    if (args.json) return printJson(k)
    const req = k.requirements
    const lines = [
      `${k.emoji ? `${k.emoji} ` : ""}${k.name}: ${k.description}`,
      `source     ${k.source}  ${k.filePath}`,
      `eligible   ${k.eligible ? "yes" : `no — ${missingText(k)}`}`,
      `visible    model ${k.modelVisible ? "yes" : "no"}, command ${k.commandVisible ? "yes" : "no"}${k.commandTool ? `, dispatches to tool ${k.commandTool}` : ""}`,
      ...(req.bins.length ? [`bins       ${req.bins.join(", ")}`] : []),
      ...(req.anyBins.length ? [`any of     ${req.anyBins.join(", ")}`] : []),
      ...(req.env.length ? [`env        ${req.env.join(", ")}`] : []),
      ...(req.config.length ? [`config     ${req.config.join(", ")}`] : []),
      ...(req.os.length ? [`os         ${req.os.join(", ")}`] : []),
      ...k.install.map((i) => `install    [${i.id}] ${i.label}${i.command ? `: ${i.command}` : i.url ? `: download ${i.url} yourself` : ""}`),
      ...(k.sha256 ? [`sha256     ${k.sha256}`, `from       ${k.installedFrom}`] : []),
      ...(k.homepage ? [`homepage   ${k.homepage}`] : []),
      ...shadowLines(k),
      ...flagLines(k),
    ]
    console.log(lines.join("\n"))
  },
})

const check = defineCommand({
  meta: { name: "check", description: "Counts of eligible and ineligible skills, load errors and flagged instructions (exit 1 on errors or flags)" },
  args: { ...connectionArgs },
  async run({ args }) {
    const s = await withClient(args, READ, (c) => c.request("skills.status", {}))
    const eligible = s.skills.filter((k) => k.eligible)
    const flagged = s.skills.filter((k) => k.flags?.length)
    const errors = s.errors ?? []
    if (args.json) {
      printJson({
        eligible: eligible.length,
        ineligible: s.skills.length - eligible.length,
        errors,
        flagged: flagged.map((k) => ({ name: k.name, flags: k.flags })),
      })
    } else {
      const lines = [
        `${eligible.length} eligible, ${s.skills.length - eligible.length} not eligible, ${errors.length} failed to load, ${flagged.length} flagged`,
      ]
      for (const k of s.skills.filter((x) => !x.eligible)) lines.push(`  ✗ ${k.name}: ${missingText(k)}`)
      for (const e of errors) lines.push(`  ! ${e.filePath}: ${e.message}`)
      for (const k of flagged) lines.push(`  ⚠ ${k.name}`, ...flagLines(k))
      console.log(lines.join("\n"))
    }
    if (errors.length || flagged.length) process.exitCode = 1
  },
})

function printInstalled(r: Installed, verb: string): void {
  const lines = [
    r.unchanged ? `${r.name}: unchanged (sha256 ${r.sha256})` : `${verb} ${r.name} into ${r.dir} (${r.files} files, ${r.bytes} bytes) from ${r.source}`,
    ...(r.unchanged ? [] : [`sha256 ${r.previousSha256 && r.previousSha256 !== r.sha256 ? `${r.previousSha256} -> ` : ""}${r.sha256}`]),
  ]
  const ch = r.changes
  if (ch && !r.unchanged) {
    for (const p of ch.added) lines.push(`  + ${p}`)
    for (const p of ch.removed) lines.push(`  - ${p}`)
    for (const p of ch.changed) lines.push(`  ~ ${p}`)
  }
  for (const f of r.flags) lines.push(`⚠ pipes a download into a shell: ${f.file}:${f.line}: ${f.text}`)
  console.log(lines.join("\n"))
}

/** A local path is sent absolute: the daemon's working directory is not ours. */
function sourceArg(src: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(src) || /^[\w.-]+@[\w.-]+:/.test(src) ? src : resolve(src)
}

const install = defineCommand({
  meta: { name: "install", description: "Install a skill into $GATEWAY_HOME/skills from a folder, a .tar.gz/.zip URL or a git URL (nothing from it runs)" },
  args: {
    source: { type: "positional", required: true, description: "Folder with SKILL.md, .tar.gz/.tgz/.zip URL or file, or git URL (git+https://…, …/x.git)" },
    sha256: { type: "string", description: "Refuse unless the content hash is this (as shown by a previous install)", valueHint: "hex" },
    force: { type: "boolean", default: false, description: "Replace an installed skill of the same name" },
    ...connectionArgs,
  },
  async run({ args }) {
    if (args.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(args.sha256)) fail("--sha256 must be 64 hexadecimal characters", { json: args.json })
    const r = await withClient(args, ADMIN, (c) =>
      c.request(
        "skills.install",
        { source: sourceArg(args.source), ...(args.sha256 ? { sha256: args.sha256 } : {}), force: args.force },
        { timeoutMs: 600_000 },
      ),
    )
    if (args.json) return printJson(r)
    if ("sourceKind" in r) printInstalled(r, r.replaced ? "replaced" : "installed")
  },
})

const update = defineCommand({
  meta: { name: "update", description: "Re-fetch installed skills from their recorded sources and show what changed" },
  args: {
    name: { type: "positional", required: false, description: "Skill to update (or --all)" },
    all: { type: "boolean", default: false, description: "Every skill installed with 'skills install'" },
    ...connectionArgs,
  },
  async run({ args }) {
    if (!args.name && !args.all) fail("name a skill to update, or pass --all", { json: args.json })
    const r = await withClient(args, ADMIN, (c) => c.request("skills.update", args.all ? { all: true } : { name: args.name }, { timeoutMs: 600_000 }))
    if (args.json) return printJson(r)
    if (!("results" in r)) return
    let failed = false
    for (const x of r.results) {
      if ("error" in x) {
        failed = true
        process.stderr.write(`gateway: ${x.name}: ${x.error}\n`)
      } else printInstalled(x, "updated")
    }
    if (failed) process.exitCode = 1
  },
})

const installDeps = defineCommand({
  meta: { name: "install-deps", description: "Show a skill's install hint (brew, apt, npm, go, uv) and run it with --yes" },
  args: {
    name: { type: "positional", required: true, description: "Skill name" },
    id: { type: "positional", required: false, description: "Install hint id (default: the first the gateway can run)" },
    yes: { type: "boolean", default: false, description: "Run the command (without it, only print it)" },
    ...connectionArgs,
  },
  async run({ args }) {
    const status = await withClient(args, READ, (c) => c.request("skills.status", {}))
    const k = status.skills.find((x) => x.name === args.name || x.skillKey === args.name)
    if (!k) return fail(`no skill named ${args.name}`, { json: args.json })
    const hint = args.id ? k.install.find((i) => i.id === args.id) : k.install.find((i) => i.command)
    if (!hint)
      return fail(
        `${k.name} has no ${args.id ? `install hint '${args.id}'` : "install hint the gateway can run"} (it has: ${k.install.map((i) => i.id).join(", ") || "none"})`,
      )
    if (!hint.command) return fail(`install hint ${hint.id} of ${k.name} is not run by the gateway${hint.url ? `; download ${hint.url} yourself` : ""}`)
    if (!args.yes) {
      if (args.json) return printJson({ name: k.name, installId: hint.id, command: hint.command, ran: false })
      console.log(`would run: ${hint.command}\n(pass --yes to run it)`)
      return
    }
    // The argv is fetched, printed and sent back: the gateway runs it only if the hint still stands for exactly it.
    let shown = hint.command
    const r = await withClient(args, ADMIN, async (c) => {
      const dry = await c.request("skills.install", { name: k.name, installId: hint.id, dryRun: true })
      const argv = "installId" in dry ? dry.command : []
      shown = showCommand(argv)
      if (!args.json) process.stderr.write(`running: ${shown}\n`)
      return c.request("skills.install", { name: k.name, installId: hint.id, command: argv }, { timeoutMs: 3_600_000 })
    })
    if (args.json) return printJson(r)
    if ("installId" in r) {
      if (r.stdout) process.stdout.write(r.stdout)
      if (r.stderr) process.stderr.write(r.stderr)
      if (!r.ok) fail(`${shown} exited with ${r.exitCode ?? "no exit code"}`)
    }
  },
})

export default defineCommand({
  meta: { name: "skills", description: "SKILL.md skills: list, info, check, install, update, install-deps" },
  subCommands: { list, info, check, install, update, "install-deps": installDeps },
})
