/**
 * Follows changes to the memory sources without watching the whole workspace (which may hold cloned repositories
 * and their node_modules): the workspace's top level, not recursive (top-level memory files, and source directories
 * appearing or going), plus each source directory that exists, recursively.
 */
import { type FSWatcher, lstatSync, watch } from "node:fs"
import { resolve } from "node:path"
import type { Logger } from "../util/log.ts"
import { touchesSources } from "./files.ts"

export interface MemoryWatcherOptions {
  workspace: string
  sources: () => string[]
  onChange(): void
  log: Logger
}

function isDir(abs: string): boolean {
  try {
    const st = lstatSync(abs)
    return st.isDirectory() && !st.isSymbolicLink()
  } catch {
    return false
  }
}

export class MemoryWatcher {
  private top: FSWatcher | undefined
  private dirs = new Map<string, FSWatcher>()

  constructor(private o: MemoryWatcherOptions) {}

  start(): void {
    try {
      this.top = watch(this.o.workspace, (_event, name) => {
        if (name && !touchesSources(this.o.workspace, this.o.sources(), String(name))) return
        this.refresh()
        this.o.onChange()
      })
      this.top.on("error", (err) => this.o.log.warn(`memory: watcher failed: ${(err as Error).message}`))
    } catch (err) {
      this.o.log.warn(`memory: cannot watch ${this.o.workspace}: ${(err as Error).message}; run 'gateway memory reindex' after edits`)
    }
    this.refresh()
  }

  /** Watches every source directory that exists now; drops watches of ones that went. */
  refresh(): void {
    const want = new Set(
      this.o
        .sources()
        .map((s) => resolve(this.o.workspace, s))
        .filter(isDir),
    )
    for (const [dir, w] of this.dirs) {
      if (want.has(dir)) continue
      w.close()
      this.dirs.delete(dir)
    }
    for (const dir of want) {
      if (this.dirs.has(dir)) continue
      try {
        const w = watch(dir, { recursive: true }, () => this.o.onChange())
        // A removed directory ends its watch; the top-level watch sees it come back.
        w.on("error", () => {
          w.close()
          this.dirs.delete(dir)
        })
        this.dirs.set(dir, w)
      } catch (err) {
        this.o.log.warn(`memory: cannot watch ${dir}: ${(err as Error).message}`)
      }
    }
  }

  close(): void {
    this.top?.close()
    this.top = undefined
    for (const w of this.dirs.values()) w.close()
    this.dirs.clear()
  }
}
