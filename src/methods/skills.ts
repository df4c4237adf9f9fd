/** skills.status / bins / install / update / invoke over the gateway's SkillsService; invoke runs the tool through the agent's tool machinery (policy included). */
import { fullSessionKey } from "../agent/agents.ts"
import { GatewayError } from "../protocol/index.ts"
import { hasScope } from "../protocol/scopes.ts"
import { SkillInstallError, UnsafeArchiveError } from "../skills/errors.ts"
import { SkillNotInvokableError, UnknownAgentError } from "../skills/service.ts"
import { guardWrite } from "./config.ts"
import type { MethodContext } from "./context.ts"
import type { PartialHandlers } from "./registry.ts"

function skillsOf({ gw }: MethodContext) {
  if (!gw.skills) throw new GatewayError("UNAVAILABLE", "skills are not available in this gateway")
  return gw.skills
}

/** Install refusals (unsafe archive, bad hash, exists) are the caller's to fix: INVALID_REQUEST with the reason. */
async function refusals<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof SkillInstallError || err instanceof UnsafeArchiveError)
      throw new GatewayError("INVALID_REQUEST", err.message, { code: err instanceof UnsafeArchiveError ? "SKILL_UNSAFE" : "SKILL_INSTALL_FAILED" })
    if ((err as { code?: string }).code === "ENOENT") throw new GatewayError("INVALID_REQUEST", (err as Error).message, { code: "SKILL_INSTALL_FAILED" })
    throw err
  }
}

/** A tool's text output as JSON when it is JSON (the web tools answer JSON), else the text. */
function asJson(text: string): unknown {
  const t = text.trim()
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      return JSON.parse(t)
    } catch {}
  }
  return text
}

export const skillsHandlers = {
  "skills.status": (p, ctx) => {
    try {
      return skillsOf(ctx).status(p.agentId)
    } catch (err) {
      if (err instanceof UnknownAgentError) throw new GatewayError("INVALID_REQUEST", err.message, { code: "UNKNOWN_AGENT" })
      throw err
    }
  },

  "skills.bins": (_p, ctx) => {
    // OpenClaw serves it to nodes only; operators with read may ask too (the CLI, the web page).
    if (ctx.caller.role !== "node" && !hasScope(ctx.caller.scopes, "operator.read"))
      throw new GatewayError("FORBIDDEN", "missing scope: operator.read", {
        code: "MISSING_SCOPE",
        missingScope: "operator.read",
        requiredScopes: ["operator.read"],
      })
    return { bins: skillsOf(ctx).bins() }
  },

  "skills.install": (p, ctx) =>
    refusals(async () => {
      const skills = skillsOf(ctx)
      if (p.installId) {
        if (!p.name) throw new SkillInstallError("installId needs name: the skill whose install hint runs")
        const r = await skills.installDeps(p.name, p.installId, { dryRun: p.dryRun, timeoutMs: p.timeoutMs, expect: p.command })
        return { ok: r.exitCode === 0 || r.dryRun, ...r }
      }
      if (!p.source) throw new SkillInstallError("give source (a folder, a .tar.gz/.zip URL or a git URL), or name and installId")
      return { ok: true as const, ...(await skills.install({ source: p.source, sha256: p.sha256, force: p.force, cwd: p.cwd, timeoutMs: p.timeoutMs })) }
    }),

  "skills.update": (p, ctx) =>
    refusals(async () => {
      if (p.skillKey) {
        // OpenClaw's form: write skills.entries.<skillKey>.
        const entry: Record<string, unknown> = {}
        if (p.enabled !== undefined) entry.enabled = p.enabled
        if (p.apiKey !== undefined) entry.apiKey = p.apiKey
        if (p.env !== undefined) entry.env = p.env
        const disk = ctx.gw.config.onDisk()
        guardWrite(ctx, () => ctx.gw.config.patch({ skills: { entries: { [p.skillKey!]: entry } } }, disk.exists ? disk.hash : undefined))
        const next = ctx.gw.config.current.skills.entries[p.skillKey]
        return { ok: true as const, skillKey: p.skillKey, config: { enabled: next?.enabled, hasApiKey: !!next?.apiKey, env: Object.keys(next?.env ?? {}) } }
      }
      const results = await skillsOf(ctx).update({ name: p.name, all: p.all, sha256: p.sha256 })
      return { results: results.map((r) => ("ok" in r ? r : { ok: true as const, ...r })) }
    }),

  "skills.invoke": async (p, ctx) => {
    let target: ReturnType<ReturnType<typeof skillsOf>["invokeTarget"]>
    try {
      target = skillsOf(ctx).invokeTarget(p.skill, p.args as Record<string, unknown> | string | undefined)
    } catch (err) {
      if (err instanceof SkillNotInvokableError) throw new GatewayError("INVALID_REQUEST", err.message, { code: err.code })
      throw err
    }
    const res = await ctx.gw.agent.invoke(target.tool, target.args, fullSessionKey(ctx.gw.config.current, p.sessionKey ?? "main"), ctx.signal)
    if (!res.found)
      throw new GatewayError(
        "UNAVAILABLE",
        `skill ${target.skill} runs the tool ${target.tool}, which this gateway does not have or tools.allow/tools.deny do not allow`,
        {
          code: "TOOL_NOT_AVAILABLE",
          skill: target.skill,
          tool: target.tool,
        },
      )
    if (res.isError) throw new GatewayError("UNAVAILABLE", res.output, { code: "TOOL_ERROR", skill: target.skill, tool: target.tool })
    return { ok: true, skill: target.skill, tool: target.tool, result: asJson(res.output) as never, isError: false }
  },
} satisfies PartialHandlers
