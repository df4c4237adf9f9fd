/**
 * Debounced fs.watch over the skill roots: any change under a root (a folder added, a SKILL.md edited or removed)
 * calls `onChange` once the events settle. A root that does not exist yet is watched through its parent, and every
 * reload re-arms the watches, so `mkdir workspace/skills` after start is picked up too.
 */
import { existsSync, type FSWatcher, watch } from "node:fs"
import { basename, dirname } from "node:path"

export interface SkillsWatcher {
  /** Re-creates the watches (after a reload: roots may have appeared or vanished). */
  rearm(): void
  close(): void
}

export function watchSkillRoots(roots: () => string[], debounceMs: number, onChange: () => void): SkillsWatcher {
  let watchers: FSWatcher[] = []
  let timer: Timer | undefined
  let closed = false
  const fire = () => {
    if (closed) return
    clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      if (!closed) onChange()
    }, debounceMs)
  }
  /** `only`: for a parent watched in place of a missing root, react to that root's name only (the state home's
   * database and logs change all the time). */
  const add = (dir: string, recursive: boolean, only?: Set<string>) => {
    try {
      const w = watch(dir, { recursive, persistent: false }, (_event, name) => {
        if (only && (typeof name !== "string" || !only.has(name))) return
        fire()
      })
      w.on("error", () => {
        // A root removed while watched: the next rearm watches its parent instead.
        fire()
      })
      watchers.push(w)
    } catch {
      // Unwatchable (permissions, vanished meanwhile): changes there are seen on the next rearm.
    }
  }
  const rearm = () => {
    for (const w of watchers) w.close()
    watchers = []
    if (closed) return
    const seen = new Set<string>()
    const parents = new Map<string, Set<string>>()
    for (const root of roots()) {
      if (existsSync(root)) {
        if (!seen.has(root)) add(root, true)
        seen.add(root)
        continue
      }
      // The nearest existing ancestor, watched for the first missing path component only.
      let child = root
      let parent = dirname(root)
      while (!existsSync(parent) && dirname(parent) !== parent) {
        child = parent
        parent = dirname(parent)
      }
      const names = parents.get(parent) ?? new Set<string>()
      names.add(basename(child))
      parents.set(parent, names)
    }
    for (const [parent, names] of parents) add(parent, false, names)
  }
  rearm()
  return {
    rearm,
    close() {
      closed = true
      clearTimeout(timer)
      for (const w of watchers) w.close()
      watchers = []
    },
  }
}
