/** models.list: the models the config names (custom providers' model lists, the default and the fallbacks). */
import type { PartialHandlers } from "./registry.ts"

interface Listed {
  id: string
  name: string
  provider: string
  contextWindow?: number
  reasoning?: boolean
  tags?: string[]
  available?: boolean
}

export const modelsHandlers = {
  "models.list": (_params, { gw }) => {
    const cfg = gw.config.current.models
    const out = new Map<string, Listed>()
    for (const [provider, p] of Object.entries(cfg.providers)) {
      for (const m of p.models) {
        out.set(`${provider}/${m.id}`, {
          id: m.id,
          name: m.name ?? m.id,
          provider,
          contextWindow: m.contextWindow,
          reasoning: m.reasoning ?? false,
          available: true,
        })
      }
    }
    const named = [cfg.default, ...cfg.fallbacks].filter((r): r is string => !!r)
    for (const ref of named) {
      const slash = ref.indexOf("/")
      const provider = slash > 0 ? ref.slice(0, slash) : "default"
      const id = slash > 0 ? ref.slice(slash + 1) : ref
      if (!out.has(`${provider}/${id}`)) out.set(`${provider}/${id}`, { id, name: id, provider, available: true })
    }
    if (cfg.default) {
      const def = out.get(cfg.default)
      if (def) def.tags = ["default"]
    }
    return { models: [...out.values()] }
  },
} satisfies PartialHandlers
