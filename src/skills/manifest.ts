/**
 * The record of skills installed by `skills install` ($GATEWAY_HOME/skills/.skills-manifest.json): source, content
 * hash and per-file hashes, so status can show the hash and update can re-fetch and diff. Light on purpose: status
 * reads it without loading the installer.
 */
import { randomUUID } from "node:crypto"
import { readFileSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"

export type SourceKind = "dir" | "archive" | "git"

export interface ManifestEntry {
  name: string
  source: string
  sourceKind: SourceKind
  sha256: string
  /** path → sha256 of each file. */
  files: Record<string, string>
  installedAt: string
  updatedAt: string
}

export const MANIFEST = ".skills-manifest.json"

export function readManifest(managedDir: string): Record<string, ManifestEntry> {
  try {
    const parsed = JSON.parse(readFileSync(join(managedDir, MANIFEST), "utf8"))
    return typeof parsed === "object" && parsed && !Array.isArray(parsed) ? parsed : {}
  } catch {
    return {}
  }
}

/** Written beside and renamed over, so a crash never leaves half a manifest. */
export function writeManifest(managedDir: string, m: Record<string, ManifestEntry>): void {
  const tmp = join(managedDir, `${MANIFEST}.${randomUUID()}.tmp`)
  writeFileSync(tmp, `${JSON.stringify(m, null, 2)}\n`, { mode: 0o600 })
  renameSync(tmp, join(managedDir, MANIFEST))
}
