/**
 * Environment variables that steer what a program runs or loads (GIT_*, LD_PRELOAD, PAGER, NODE_OPTIONS, TAR_OPTIONS,
 * XDG_CONFIG_HOME, …). A command never inherits them from the gateway, an allowlisted command may not set them, and
 * tools.exec.passEnv may not name them. No imports: the config schema uses it too.
 */

/** Names matched exactly (case-insensitive). */
const NAMES = new Set(
  [
    "PATH",
    "HOME",
    "IFS",
    "ENV",
    "BASH_ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS1",
    "PS2",
    "PS4",
    "PROMPT_COMMAND",
    "GLOBIGNORE",
    "ZDOTDIR",
    "SHELL",
    "TMPDIR",
    "PAGER",
    "MANPAGER",
    "MANOPT",
    "EDITOR",
    "VISUAL",
    "BROWSER",
    "TERMINFO",
    "HOSTALIASES",
    "XAUTHORITY",
    "EMACSLOADPATH",
  ].map((n) => n.toLowerCase()),
)

/**
 * Prefixes and suffixes of families of hooks. Version managers' shims (pyenv, nvm, asdf, …) pick the program they run
 * from their *_ROOT / *_VERSION variables, so those count too.
 */
const FAMILIES =
  /^(LD_|DYLD_|GIT_|SSH_|XDG_|LESS|PYTHON|NODE_|NPM_CONFIG_|BUN_|DENO_|PERL|RUBY|GEM_|BUNDLE_|LUA_|JAVA|_JAVA|GLIBC_|MALLOC_|RSYNC_|OPENSSL_|DBUS_|BASH_FUNC_|CARGO_|RUSTC|RUSTUP_|GO(FLAGS|TOOLCHAIN|ENV)|CC$|CXX$|MAKE|PYENV_|RBENV_|NODENV_|GOENV_|NVM_|ASDF_|VOLTA_|MISE_|RTX_|SDKMAN_|JENV_|PLENV_|PHPENV_|CONDA|VIRTUAL_ENV)|(PATH|_OPTIONS|OPTS?|_HOME|_ROOT|_DIR|RC|_CONF|_CONFIG|ASKPASS|_PROGRAM|_COMMAND|_CMD)$/i

/**
 * Inside the families but harmless: git's identity (the way to commit as someone once HOME is the gateway's) and the
 * ssh agent's socket (keys without their files).
 */
const SAFE = new Set([
  "GIT_AUTHOR_NAME",
  "GIT_AUTHOR_EMAIL",
  "GIT_AUTHOR_DATE",
  "GIT_COMMITTER_NAME",
  "GIT_COMMITTER_EMAIL",
  "GIT_COMMITTER_DATE",
  "SSH_AUTH_SOCK",
])

/** The gateway's own secrets: never passed to a command. */
export const GATEWAY_SECRETS = ["GATEWAY_TOKEN", "GATEWAY_PASSWORD"]

/** Whether a variable can make a program run or load something else. */
export function isHookVariable(name: string): boolean {
  if (SAFE.has(name.toUpperCase())) return false
  return NAMES.has(name.toLowerCase()) || FAMILIES.test(name)
}
