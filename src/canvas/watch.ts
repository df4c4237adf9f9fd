/**
 * Change notifications for the canvas folder, for live reload: one fs.watch (recursive) while anyone listens, and
 * a debounce so an atomic write (temp file + rename) is one change. Edits by any tool count, not only `canvas`.
 */
import { type FSWatcher, mkdirSync, watch } from "node:fs"
import { canvasRoot } from "./files.ts"

const DEBOUNCE_MS = 80

export class CanvasWatcher {
  private listeners = new Set<() => void>()
  private watcher: FSWatcher | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private watchedRoot: string | undefined

  constructor(private workspace: () => string) {}

  /** Calls `fn` after each burst of changes; returns the unsubscribe function (the watch stops with the last one). */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn)
    this.start()
    return () => {
      this.listeners.delete(fn)
      if (this.listeners.size === 0) this.stop()
    }
  }

  get size(): number {
    return this.listeners.size
  }

  private start(): void {
    const root = canvasRoot(this.workspace())
    if (this.watcher && this.watchedRoot === root) return
    this.stop()
    mkdirSync(root, { recursive: true })
    this.watchedRoot = root
    this.watcher = watch(root, { recursive: true }, () => this.changed())
    // A folder removed under us ends the watch: listeners keep their stream, a later subscribe starts again.
    this.watcher.on("error", () => this.stop())
  }

  private changed(): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      for (const fn of [...this.listeners]) fn()
    }, DEBOUNCE_MS)
  }

  stop(): void {
    clearTimeout(this.timer)
    this.watcher?.close()
    this.watcher = undefined
    this.watchedRoot = undefined
  }
}
