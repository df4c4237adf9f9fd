/**
 * The gateway's skills: loads them from every source (cached until the watcher or a config change says otherwise),
 * answers status and bins, gives the agent its prompt section and read roots, resolves `skills.invoke` to a tool call,
 * and installs or updates managed skills. Knows nothing of sockets or the agent runtime: callers run the tool.
 */
import type { Config } from "../config/schema.ts"
import type { Logger } from "../util/log.ts"
import { installCommand, runInstallCommand, showCommand, type DepsRun } from "./deps.ts"
import { type Eligibility, evaluate } from "./eligibility.ts"
import { SkillInstallError } from "./errors.ts"
import type { InstallResult } from "./install.ts"
import { readManifest } from "./manifest.ts"
import { skillsPromptSection } from "./prompt.ts"
import { type LoadedSkill, loadSkills, type LoadResult, skillRootDirs } from "./sources.ts"
import { watchSkillRoots, type SkillsWatcher } from "./watcher.ts"

export interface SkillsServiceDeps {
  config: () => Config
  workspace: string
  /** $GATEWAY_HOME/skills */
  managedDir: string
  env: NodeJS.ProcessEnv
  log: Logger
  /** PATH lookup, for tests. */
  which?: (bin: string) => string | null
  /** The agents (agents.list): the default's id and each one's workspace, for skills.status {agentId}. */
  agents?: () => { defaultId: string; workspaceOf(agentId: string): string | undefined }
}

export interface SkillView extends LoadedSkill {
  eligibility: Eligibility
}

/** A skill resolved for skills.invoke: the tool to run and its arguments. */
export interface InvokeTarget {
  skill: string
  tool: string
  args: Record<string, unknown>
}

export class SkillNotInvokableError extends Error {
  override name = "SkillNotInvokableError"
  constructor(
    message: string,
    readonly code: "SKILL_NOT_FOUND" | "SKILL_NOT_DISPATCHABLE" | "SKILL_INELIGIBLE" | "SKILL_SHADOWS_BUNDLED",
  ) {
    super(message)
  }
}

export class UnknownAgentError extends Error {
  override name = "UnknownAgentError"
}

export class SkillsService {
  /** Per workspace: each agent has its own workspace skills; managed, bundled and extra are shared. */
  private caches = new Map<string, LoadResult>()
  private watcher: SkillsWatcher | undefined
  private version = 0

  constructor(private deps: SkillsServiceDeps) {}

  get managedDir(): string {
    return this.deps.managedDir
  }

  get workspaceDir(): string {
    return this.deps.workspace
  }

  /** Bumped on every reload: a run can tell its prompt's skills list is stale. */
  get snapshotVersion(): number {
    return this.version
  }

  /** Workspaces asked about so far (the default first): the watcher follows their skills/ folders. */
  private workspaces = new Set<string>()

  private roots(workspace = this.deps.workspace) {
    return { workspaceDir: workspace, managedDir: this.deps.managedDir, extraDirs: this.deps.config().skills.load.extraDirs }
  }

  /**
   * Every winning skill with its eligibility, for an agent's workspace (default: the default agent's). Cached until
   * the watcher sees a change; without a watcher the folders are re-read on every call.
   */
  load(workspace = this.deps.workspace): { skills: SkillView[]; errors: LoadResult["errors"] } {
    let cached = this.watcher ? this.caches.get(workspace) : undefined
    if (!cached) {
      cached = loadSkills(this.roots(workspace))
      this.caches.set(workspace, cached)
      this.version++
      if (!this.workspaces.has(workspace)) {
        this.workspaces.add(workspace)
        this.watcher?.rearm()
      }
    }
    const cfg = this.deps.config()
    const skills = cached.skills.map((s) => ({ ...s, eligibility: evaluate(s, { config: cfg, env: this.deps.env, which: this.deps.which }) }))
    return { skills, errors: cached.errors }
  }

  get(name: string): SkillView | undefined {
    return this.load().skills.find((s) => s.name === name || s.key === name)
  }

  invalidate(): void {
    this.caches.clear()
    this.watcher?.rearm()
  }

  /** Starts the watcher (skills.load.watch); reloads after changes settle. */
  start(): void {
    const load = this.deps.config().skills.load
    if (!load.watch || this.watcher) return
    this.watcher = watchSkillRoots(
      () => [...new Set([this.deps.workspace, ...this.workspaces].flatMap((ws) => skillRootDirs(this.roots(ws)).map((r) => r.dir)))],
      load.watchDebounceMs,
      () => {
        const before = this.caches.get(this.deps.workspace)
        this.caches.clear()
        this.watcher?.rearm()
        const { skills, errors } = this.load()
        const names = (r: LoadResult | undefined) => JSON.stringify(r?.skills.map((s) => [s.name, s.source]))
        if (names(before) !== names(this.caches.get(this.deps.workspace)))
          this.deps.log.info(`skills reloaded: ${skills.map((s) => s.name).join(", ") || "none"}`)
        const known = new Set(before?.errors.map((e) => `${e.filePath}\0${e.message}`))
        for (const e of errors) if (!known.has(`${e.filePath}\0${e.message}`)) this.deps.log.warn(`skill ${e.filePath}: ${e.message}`)
      },
    )
  }

  stop(): void {
    this.watcher?.close()
    this.watcher = undefined
  }

  /** skills.* config changed: new roots or watch settings. */
  configChanged(): void {
    this.stop()
    this.caches.clear()
    this.start()
  }

  /** The system prompt's skills section ("" when no skill is eligible and model-visible). */
  promptSection(workspace?: string): string {
    const cfg = this.deps.config().skills.prompt
    const visible = this.load(workspace).skills.filter((s) => s.eligibility.eligible && !s.disableModelInvocation && s.source !== "openclaw-bundled")
    return skillsPromptSection(
      visible.map((s) => ({ name: s.name, description: s.description, location: s.filePath })),
      { maxChars: cfg.maxChars, maxSkills: cfg.maxSkills },
    )
  }

  /** Folders of eligible, model-visible skills: the `read` tool may read their SKILL.md and files. */
  readRoots(workspace?: string): string[] {
    return this.load(workspace)
      .skills.filter((s) => s.eligibility.eligible && !s.disableModelInvocation && s.source !== "openclaw-bundled")
      .map((s) => s.baseDir)
  }

  /** Every binary any loaded skill requires (OpenClaw's exec auto-allow reads this). */
  bins(): string[] {
    const set = new Set<string>()
    for (const s of this.load().skills) for (const b of [...s.requires.bins, ...s.requires.anyBins]) set.add(b)
    return [...set].sort()
  }

  /** skills.status for an agent (default: the default agent); an unknown agent id is an error naming agents.list. */
  status(agentId?: string) {
    const agents = this.deps.agents?.()
    const id = agentId ?? agents?.defaultId ?? "main"
    const workspace = agentId && agents ? agents.workspaceOf(agentId) : this.deps.workspace
    if (!workspace) throw new UnknownAgentError(`unknown agent: ${agentId} (see agents.list in gateway.json)`)
    const { skills, errors } = this.load(workspace)
    const manifest = readManifest(this.deps.managedDir)
    return {
      workspaceDir: workspace,
      managedSkillsDir: this.deps.managedDir,
      agentId: id,
      skills: skills.map((s) => {
        const e = s.eligibility
        const installed = s.source === "openclaw-managed" ? manifest[s.name] : undefined
        return {
          name: s.name,
          description: s.description,
          source: s.source,
          bundled: s.source === "openclaw-bundled",
          filePath: s.filePath,
          baseDir: s.baseDir,
          skillKey: s.key,
          ...(s.emoji ? { emoji: s.emoji } : {}),
          ...(s.homepage ? { homepage: s.homepage } : {}),
          ...(s.primaryEnv ? { primaryEnv: s.primaryEnv } : {}),
          always: s.always,
          disabled: e.disabled,
          blockedByAllowlist: e.blockedByAllowlist,
          blockedByAgentFilter: false,
          eligible: e.eligible,
          platformIncompatible: e.platformIncompatible,
          modelVisible: e.eligible && !s.disableModelInvocation,
          userInvocable: s.userInvocable,
          commandVisible: e.eligible && s.userInvocable,
          requirements: s.requires,
          missing: e.missing,
          configChecks: e.configChecks,
          install: s.install.map((i) => {
            const argv = installCommand(i)
            return { id: i.id, kind: i.kind, label: i.label, bins: i.bins, ...(argv ? { command: showCommand(argv) } : {}), ...(i.url ? { url: i.url } : {}) }
          }),
          ...(s.commandTool ? { commandTool: s.commandTool } : {}),
          ...(e.reasons.length ? { reasons: e.reasons } : {}),
          ...(s.flags.length ? { flags: s.flags } : {}),
          ...(installed ? { sha256: installed.sha256, installedFrom: installed.source } : {}),
          ...(s.shadows.length ? { shadows: s.shadows.map((x) => ({ source: x.source, filePath: x.filePath })) } : {}),
        }
      }),
      ...(errors.length ? { errors } : {}),
    }
  }

  /** The tool call skills.invoke makes for a skill with `command-dispatch: tool`. */
  invokeTarget(name: string, args: Record<string, unknown> | string | undefined): InvokeTarget {
    const s = this.get(name)
    if (!s) throw new SkillNotInvokableError(`unknown skill: ${name} (see 'gateway skills list')`, "SKILL_NOT_FOUND")
    if (s.commandDispatch !== "tool" || !s.commandTool)
      throw new SkillNotInvokableError(`skill ${s.name} does not dispatch to a tool (no 'command-dispatch: tool' in its SKILL.md)`, "SKILL_NOT_DISPATCHABLE")
    if (!s.eligibility.eligible) throw new SkillNotInvokableError(`skill ${s.name} is not eligible: ${s.eligibility.reasons.join("; ")}`, "SKILL_INELIGIBLE")
    // A workspace (agent-writable) or managed copy named like a bundled skill takes its place; it must not turn the
    // bundled name into a door to another tool (say exec) with its own default arguments.
    const bundled = s.shadows.find((x) => x.source === "openclaw-bundled")
    if (bundled && s.source !== "openclaw-bundled" && bundled.commandTool !== s.commandTool)
      throw new SkillNotInvokableError(
        `skill ${s.name} (${s.filePath}) shadows the bundled skill ${s.name}, which runs the tool ${bundled.commandTool ?? "none"}, but dispatches to the tool ${s.commandTool}; rename it or remove it to use the bundled one`,
        "SKILL_SHADOWS_BUNDLED",
      )
    // raw mode (OpenClaw): the text goes to the tool as {command, commandName, skillName}.
    const merged =
      typeof args === "string"
        ? { ...s.commandArgs, command: args, commandName: s.name, skillName: s.name }
        : s.commandArgMode === "raw" && args && typeof args.command === "string"
          ? { ...s.commandArgs, ...args, commandName: s.name, skillName: s.name }
          : { ...s.commandArgs, ...(args ?? {}) }
    return { skill: s.name, tool: s.commandTool, args: merged }
  }

  private limits(timeoutMs?: number) {
    const l = this.deps.config().skills.install
    return { maxBytes: l.maxBytes, maxFiles: l.maxFiles, timeoutMs: timeoutMs ?? l.timeoutMs }
  }

  async install(p: { source: string; sha256?: string; force?: boolean; cwd?: string; timeoutMs?: number }): Promise<InstallResult> {
    // The installer (fflate, the tar reader) loads on first use: a gateway that never installs never loads it.
    const { installSkill } = await import("./install.ts")
    try {
      return await installSkill({
        source: p.source,
        managedDir: this.deps.managedDir,
        limits: this.limits(p.timeoutMs),
        sha256: p.sha256,
        force: p.force,
        cwd: p.cwd,
      })
    } finally {
      this.invalidate()
    }
  }

  /** Re-fetches installed skills from their recorded sources; one failure does not stop the others. */
  async update(p: { name?: string; all?: boolean; sha256?: string }): Promise<(InstallResult | { ok: false; name: string; error: string })[]> {
    const manifest = readManifest(this.deps.managedDir)
    const names = p.all ? Object.keys(manifest).sort() : p.name ? [p.name] : []
    if (names.length === 0) throw new SkillInstallError(p.all ? "no skills were installed with 'skills install'" : "name a skill to update, or pass all")
    const out: (InstallResult | { ok: false; name: string; error: string })[] = []
    const { installSkill } = await import("./install.ts")
    try {
      for (const name of names) {
        try {
          out.push(await installSkill({ source: "", managedDir: this.deps.managedDir, limits: this.limits(), sha256: p.sha256 }, { name }))
        } catch (err) {
          out.push({ ok: false, name, error: (err as Error).message })
        }
      }
    } finally {
      this.invalidate()
    }
    return out
  }

  /** One install hint of a skill, shown (dryRun) or run. */
  async installDeps(
    name: string,
    installId: string,
    opts: { dryRun?: boolean; timeoutMs?: number; expect?: readonly string[] },
  ): Promise<DepsRun & { name: string; installId: string; dryRun: boolean }> {
    const s = this.get(name)
    if (!s) throw new SkillInstallError(`unknown skill: ${name}`)
    const spec = s.install.find((i) => i.id === installId)
    if (!spec) throw new SkillInstallError(`skill ${s.name} has no install hint '${installId}' (it has: ${s.install.map((i) => i.id).join(", ") || "none"})`)
    const argv = installCommand(spec)
    if (!argv)
      throw new SkillInstallError(
        `install hint ${installId} of ${s.name} (${spec.kind}) is not run by the gateway${spec.url ? `; download it yourself from ${spec.url}` : ""}`,
      )
    // The caller showed a command and asks for it to run: if the SKILL.md changed since, run nothing.
    if (opts.expect && (opts.expect.length !== argv.length || opts.expect.some((a, i) => a !== argv[i])))
      throw new SkillInstallError(
        `install hint ${installId} of ${s.name} now runs ${showCommand(argv)}, not the ${showCommand([...opts.expect])} that was shown; nothing was run (look again and confirm)`,
      )
    if (opts.dryRun) return { name: s.name, installId, dryRun: true, command: argv, exitCode: null, stdout: "", stderr: "" }
    this.deps.log.info(`skills: running install hint ${installId} of ${s.name}: ${showCommand(argv)}`)
    const run = await runInstallCommand(argv, opts.timeoutMs ?? this.limits().timeoutMs * 5, this.deps.env)
    this.invalidate()
    return { ...run, name: s.name, installId, dryRun: false }
  }
}
