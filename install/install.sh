#!/bin/sh
# Installs the gateway binary: detects the platform, downloads gateway-<os>-<arch> and SHA256SUMS from one release,
# verifies the checksum (and refuses to install on any doubt), smoke-tests `gateway --version`, then moves the binary
# into place atomically. POSIX sh; everything is in functions and `main` runs on the last line, so a truncated
# download of this script runs nothing.
#
#   curl -fsSL https://github.com/OWNER/gateway/releases/latest/download/install.sh | sh
#   curl -fsSL .../install.sh | sh -s -- --system --service
#   sh install.sh [--system] [--dir DIR] [--base-url URL] [--binary PATH [--sums PATH]] [--service]
#
# Environment: GATEWAY_INSTALL_BASE_URL (where the release files are), GATEWAY_INSTALL_DIR (where the binary goes).
# Nothing outside the install directory is changed: no shell rc edits (a PATH hint is printed instead), and no service
# unless --service is given (it runs `gateway install` afterwards).

set -eu

# The release location (GATEWAY_INSTALL_BASE_URL or --base-url override it). `gateway update` has the same default in
# src/update/platform.ts; a test keeps the two equal.
DEFAULT_BASE_URL="https://github.com/OWNER/gateway/releases/latest/download"
APP="gateway"

usage() {
  cat <<EOF
Install the $APP binary.

Usage: sh install.sh [options]

Options:
  --system           install to /usr/local/bin (default: ~/.local/bin; env GATEWAY_INSTALL_DIR)
  --dir DIR          install to DIR
  --base-url URL     download from URL (env GATEWAY_INSTALL_BASE_URL; default $DEFAULT_BASE_URL)
  --binary PATH      install a local file instead of downloading (offline)
  --sums PATH        with --binary: verify it against this SHA256SUMS file
  --service          run '$APP install' afterwards (systemd user unit or launchd agent)
  -h, --help         show this help
EOF
}

say() {
  printf '%s\n' "$*" >&2
}

die() {
  printf '%s-install: error: %s\n' "$APP" "$*" >&2
  exit 1
}

# Removes whatever this run created except the installed binary. Runs on every exit, success or not.
cleanup() {
  if [ -n "${STAGED:-}" ]; then rm -f "$STAGED"; fi
  if [ -n "${WORKDIR:-}" ]; then rm -rf "$WORKDIR"; fi
  # A failed run also removes the (empty) directories it created for the binary, and only those.
  if [ "${INSTALLED:-0}" != 1 ] && [ -n "${TOP_NEW_DIR:-}" ]; then
    CLEAN_DIR=$INSTALL_DIR
    while rmdir "$CLEAN_DIR" 2>/dev/null && [ "$CLEAN_DIR" != "$TOP_NEW_DIR" ]; do CLEAN_DIR=$(dirname "$CLEAN_DIR"); done
  fi
}

parse_args() {
  OPT_SYSTEM=0
  OPT_DIR=""
  OPT_BASE_URL=""
  OPT_BINARY=""
  OPT_SUMS=""
  OPT_SERVICE=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --system) OPT_SYSTEM=1 ;;
      --service) OPT_SERVICE=1 ;;
      --dir | --base-url | --binary | --sums)
        [ $# -ge 2 ] || die "$1 needs a value"
        case "$1" in
          --dir) OPT_DIR=$2 ;;
          --base-url) OPT_BASE_URL=$2 ;;
          --binary) OPT_BINARY=$2 ;;
          --sums) OPT_SUMS=$2 ;;
        esac
        shift
        ;;
      --dir=* | --base-url=* | --binary=* | --sums=*)
        case "$1" in
          --dir=*) OPT_DIR=${1#*=} ;;
          --base-url=*) OPT_BASE_URL=${1#*=} ;;
          --binary=*) OPT_BINARY=${1#*=} ;;
          --sums=*) OPT_SUMS=${1#*=} ;;
        esac
        ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
  done
  if [ -n "$OPT_SUMS" ] && [ -z "$OPT_BINARY" ]; then die "--sums only goes with --binary"; fi
}

detect_os() {
  OS_RAW=$(uname -s 2>/dev/null || echo unknown)
  case "$OS_RAW" in
    Linux) OS=linux ;;
    Darwin) OS=darwin ;;
    *) die "unsupported operating system '$OS_RAW': release builds exist for Linux and macOS (Darwin)" ;;
  esac
}

detect_arch() {
  ARCH_RAW=$(uname -m 2>/dev/null || echo unknown)
  case "$ARCH_RAW" in
    x86_64 | amd64) ARCH=x64 ;;
    aarch64 | arm64) ARCH=arm64 ;;
    *) die "unsupported architecture '$ARCH_RAW': release builds exist for x86_64 (x64) and aarch64 (arm64)" ;;
  esac
  # An x64 shell on Apple silicon runs under Rosetta 2: the native arm64 build is the one to install.
  if [ "$OS" = darwin ] && [ "$ARCH" = x64 ]; then
    if [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
      say "Rosetta 2 detected: installing the native arm64 build"
      ARCH=arm64
    fi
  fi
}

# Release builds link glibc; on musl (Alpine) the binary cannot even start, so say so instead of failing obscurely.
check_libc() {
  [ "$OS" = linux ] || return 0
  IS_MUSL=0
  if [ -f /etc/alpine-release ]; then IS_MUSL=1; fi
  if command -v ldd >/dev/null 2>&1 && ldd --version 2>&1 | grep -qi musl; then IS_MUSL=1; fi
  if [ "$IS_MUSL" = 1 ]; then
    die "this system uses musl libc (e.g. Alpine), and there is no musl build yet: use a glibc distribution (e.g. a debian:stable-slim container)"
  fi
}

# The x64 build needs AVX2 (Haswell, 2013, or newer); there is no baseline build yet.
check_cpu() {
  if [ "$OS" != linux ] || [ "$ARCH" != x64 ] || [ ! -r /proc/cpuinfo ]; then return 0; fi
  grep -q '^flags' /proc/cpuinfo || return 0
  if ! grep -q '^flags.* avx2' /proc/cpuinfo; then
    die "this CPU lacks AVX2, which the x64 build needs, and there is no baseline build yet"
  fi
}

pick_downloader() {
  if command -v curl >/dev/null 2>&1; then
    DOWNLOADER=curl
  elif command -v wget >/dev/null 2>&1; then
    DOWNLOADER=wget
  else
    die "neither curl nor wget is installed: install one, or download the binary yourself and use --binary"
  fi
}

# download URL FILE: fails on HTTP errors and on a connection closed before Content-Length bytes arrived.
download() {
  if [ "$DOWNLOADER" = curl ]; then
    if [ -t 2 ]; then
      curl --fail --location --retry 2 --progress-bar --output "$2" "$1" || return 1
    else
      curl --fail --location --retry 2 --silent --show-error --output "$2" "$1" || return 1
    fi
  else
    if wget --version 2>/dev/null | grep -q 'GNU Wget'; then
      wget --quiet --tries=2 --timeout=60 --output-document="$2" "$1" || return 1
    else
      wget -q -O "$2" "$1" || return 1
    fi
  fi
}

# sha256_of FILE: prints the lowercase hex digest, or nothing when no tool is available.
sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{print $1}'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{print $1}'
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | awk '{print $1}'
  fi
}

# verify FILE SUMS NAME: FILE must hash to NAME's entry in SUMS. Fails closed: no entry, no tool or any mismatch stop.
verify() {
  EXPECTED=$(awk -v f="$3" '$2 == f || $2 == ("*" f) { print tolower($1); exit }' "$2")
  [ -n "$EXPECTED" ] || die "SHA256SUMS has no entry for $3: refusing to install an unverified binary"
  case "$EXPECTED" in
    *[!0-9a-f]*) die "SHA256SUMS entry for $3 is malformed: refusing to install" ;;
  esac
  [ ${#EXPECTED} -eq 64 ] || die "SHA256SUMS entry for $3 is malformed: refusing to install"
  ACTUAL=$(sha256_of "$1")
  [ -n "$ACTUAL" ] || die "no sha256sum, shasum or openssl found to verify the download: refusing to install"
  if [ "$ACTUAL" != "$EXPECTED" ]; then
    die "checksum mismatch for $3 (expected $EXPECTED, got $ACTUAL): the download is corrupt, truncated or tampered with; nothing was installed"
  fi
  say "checksum ok ($3)"
}

resolve_install_dir() {
  if [ -n "$OPT_DIR" ]; then
    INSTALL_DIR=$OPT_DIR
  elif [ "$OPT_SYSTEM" = 1 ]; then
    INSTALL_DIR=/usr/local/bin
  elif [ -n "${GATEWAY_INSTALL_DIR:-}" ]; then
    INSTALL_DIR=$GATEWAY_INSTALL_DIR
  else
    [ -n "${HOME:-}" ] || die "HOME is not set: pass --dir DIR or set GATEWAY_INSTALL_DIR"
    INSTALL_DIR="$HOME/.local/bin"
  fi
  TARGET="$INSTALL_DIR/$APP"
  # Fail before a long download when the directory (or, if it does not exist yet, its nearest parent) is read-only;
  # it is created only once there is a verified binary to put in it.
  CHECK_DIR=$INSTALL_DIR
  TOP_NEW_DIR=""
  while [ ! -d "$CHECK_DIR" ]; do
    TOP_NEW_DIR=$CHECK_DIR
    CHECK_DIR=$(dirname "$CHECK_DIR")
  done
  [ -w "$CHECK_DIR" ] || die "cannot write to $INSTALL_DIR (for --system, run as root or with sudo)"
}

# Fetches (or takes with --binary) the binary into SOURCE, verified.
obtain_binary() {
  if [ -n "$OPT_BINARY" ]; then
    [ -f "$OPT_BINARY" ] || die "--binary: no such file: $OPT_BINARY"
    SOURCE=$OPT_BINARY
    if [ -n "$OPT_SUMS" ]; then
      [ -f "$OPT_SUMS" ] || die "--sums: no such file: $OPT_SUMS"
      verify "$SOURCE" "$OPT_SUMS" "$(basename "$OPT_BINARY")"
    else
      say "note: no --sums given, so the checksum of $OPT_BINARY is not verified"
    fi
    return 0
  fi
  detect_os
  detect_arch
  check_libc
  check_cpu
  pick_downloader
  BASE_URL=${OPT_BASE_URL:-${GATEWAY_INSTALL_BASE_URL:-$DEFAULT_BASE_URL}}
  BASE_URL=${BASE_URL%/}
  NAME="$APP-$OS-$ARCH"
  WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/$APP-install.XXXXXX") || die "cannot create a temporary directory"
  say "downloading $BASE_URL/$NAME"
  download "$BASE_URL/SHA256SUMS" "$WORKDIR/SHA256SUMS" || die "could not download $BASE_URL/SHA256SUMS; nothing was installed"
  download "$BASE_URL/$NAME" "$WORKDIR/$NAME" || die "could not download $BASE_URL/$NAME (interrupted or not found); nothing was installed"
  verify "$WORKDIR/$NAME" "$WORKDIR/SHA256SUMS" "$NAME"
  SOURCE="$WORKDIR/$NAME"
}

# Copies SOURCE next to TARGET, smoke-tests it there, then renames it over TARGET: the swap is atomic, and a running
# old binary keeps its (now unlinked) file.
install_binary() {
  mkdir -p "$INSTALL_DIR" || die "cannot create $INSTALL_DIR"
  STAGED="$INSTALL_DIR/.$APP.install.$$"
  cp "$SOURCE" "$STAGED" || die "cannot write $STAGED"
  chmod 755 "$STAGED" || die "cannot chmod $STAGED"
  VERSION=$(
    unset BUN_BE_BUN
    "$STAGED" --version 2>/dev/null
  ) || VERSION=""
  case "$VERSION" in
    [0-9]*) ;;
    *) die "the new binary does not run on this system ('$APP --version' failed); nothing was installed" ;;
  esac
  if [ -f "$TARGET" ] && command -v cmp >/dev/null 2>&1 && cmp -s "$STAGED" "$TARGET"; then
    rm -f "$STAGED"
    STAGED=""
    say "$APP $VERSION is already installed at $TARGET"
    return 0
  fi
  mv -f "$STAGED" "$TARGET" || die "cannot move the new binary to $TARGET"
  STAGED=""
  say "installed $APP $VERSION to $TARGET"
}

path_hint() {
  case ":${PATH:-}:" in
    *":$INSTALL_DIR:"*) return 0 ;;
  esac
  say ""
  say "$INSTALL_DIR is not on your PATH. Add it, e.g. to ~/.profile (or ~/.zshrc):"
  say "  export PATH=\"$INSTALL_DIR:\$PATH\""
}

next_step() {
  if [ "$OPT_SERVICE" = 1 ]; then
    say "running '$TARGET install' to set up the service"
    "$TARGET" install || die "the binary is installed, but '$APP install' failed (run it again to see why)"
  else
    say "next: '$APP run' starts the gateway in the foreground; '$APP install' sets it up as a service"
  fi
}

main() {
  STAGED=""
  WORKDIR=""
  INSTALLED=0
  TOP_NEW_DIR=""
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  parse_args "$@"
  resolve_install_dir
  obtain_binary
  install_binary
  INSTALLED=1
  path_hint
  next_step
}

main "$@"
