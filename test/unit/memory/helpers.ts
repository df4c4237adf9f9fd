/** A memory service on a real store (temp SQLite file, real sqlite-vec from node_modules) and a temp workspace. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { Memory, type MemoryConfig } from "../../../src/config/memory-schema.ts"
import { MemoryService } from "../../../src/memory/service.ts"
import { openStore, type Store } from "../../../src/store/index.ts"
import type { Logger } from "../../../src/util/log.ts"

export const quietLog: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quietLog }

export interface MemoryFixture {
  dir: string
  workspace: string
  store: Store
  service: MemoryService
  config: MemoryConfig
  write(path: string, text: string): void
  /** Another service on the same store and workspace (e.g. forced scan mode). */
  another(opts?: { vectorMode?: "sqlite-vec" | "scan" }): MemoryService
  close(): Promise<void>
}

export async function memoryFixture(
  config: Record<string, unknown> = {},
  opts: { vectorMode?: "sqlite-vec" | "scan" /** As if sqlite-vec had failed to load (macOS system SQLite). */; vecUnavailable?: boolean } = {},
): Promise<MemoryFixture> {
  const dir = mkdtempSync(join(tmpdir(), "gw-memory-"))
  const workspace = join(dir, "workspace")
  mkdirSync(workspace)
  const opened = await openStore({ file: join(dir, "g.db"), cacheDir: join(dir, "cache") })
  const store: Store = opts.vecUnavailable ? { ...opened, vec: { loaded: false, version: null, path: null, error: "not loadable here" } } : opened
  const holder = { config: Memory.parse({ watchDebounceMs: 50, search: { minScore: 0 }, ...config }) }
  const make = (vectorMode?: "sqlite-vec" | "scan") => new MemoryService({ store, config: () => holder.config, workspace, env: {}, log: quietLog, vectorMode })
  const services: MemoryService[] = []
  const service = make(opts.vectorMode)
  services.push(service)
  return {
    dir,
    workspace,
    store,
    service,
    get config() {
      return holder.config
    },
    set config(c: MemoryConfig) {
      holder.config = c
    },
    write(path, text) {
      mkdirSync(dirname(join(workspace, path)), { recursive: true })
      writeFileSync(join(workspace, path), text)
    },
    another(o = {}) {
      const s = make(o.vectorMode)
      services.push(s)
      return s
    },
    async close() {
      for (const s of services) await s.stop()
      store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
