/**
 * What keeps git from running commands out of configuration the agent can write, in allowlist and ask modes.
 *
 * - No system or global config (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null): a ~/.gitconfig cannot add
 *   aliases or hooks, whatever HOME is.
 * - Command-line-scope overrides (GIT_CONFIG_COUNT/KEY/VALUE, which beat repository config and reach every git a
 *   command starts, submodules included) neutralise the settings that have a fixed name: hooks, fsmonitor, pager,
 *   editors, ssh command, askpass, credential helpers, signing programs, ext:: transport, bare-repository discovery.
 * - Settings with names of the agent's choosing (filter.<x>.clean, diff.<x>.textconv, merge.<x>.driver, aliases,
 *   remote.<x>.uploadpack, …) cannot be overridden that way; git-repo.ts refuses a repository that has them.
 * - Repository discovery stops at the roots' parents (GIT_CEILING_DIRECTORIES): a repository above the roots is not
 *   used by accident; only ssh, git, http(s) and file transports are allowed.
 */
import { dirname } from "node:path"

/** [key, value]: each neutralises one way for repository config to run a command. */
export const GIT_OVERRIDES: [string, string][] = [
  ["core.hooksPath", "/dev/null"],
  ["core.fsmonitor", "false"],
  ["core.pager", "cat"],
  ["core.editor", "false"],
  ["sequence.editor", "false"],
  ["core.sshCommand", "ssh"],
  // An empty askPass is "none"; an empty credential.helper clears the list collected so far.
  ["core.askPass", ""],
  ["credential.helper", ""],
  ["gpg.program", "gpg"],
  ["gpg.ssh.program", "ssh-keygen"],
  ["gpg.x509.program", "gpgsm"],
  ["protocol.ext.allow", "never"],
  // A directory holding HEAD, config, objects/ and refs/ is otherwise a bare repository git would read config from.
  ["safe.bareRepository", "explicit"],
]

/** Variables for every command run in allowlist or ask mode. */
export function gitEnv(roots: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ALLOW_PROTOCOL: "file:git:http:https:ssh",
    GIT_CEILING_DIRECTORIES: [...new Set(roots.map((r) => dirname(r)))].join(":"),
    GIT_CONFIG_COUNT: String(GIT_OVERRIDES.length),
  }
  for (const [i, [key, value]] of GIT_OVERRIDES.entries()) {
    env[`GIT_CONFIG_KEY_${i}`] = key
    env[`GIT_CONFIG_VALUE_${i}`] = value
  }
  return env
}
