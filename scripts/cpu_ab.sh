#!/usr/bin/env bash
# Server CPU per Authorize request, binaries alternating in one sitting: the A/B that the
# suite's throughput cannot give on a machine whose speed drifts by the hour (h2load runs on
# the same cores, so req/s moves with everything else; the server's own CPU time per request
# moves far less).
#
# usage: scripts/cpu_ab.sh [--scenario read|export|deny|pending] [--mode power|process]
#                          [--rounds N] [--requests N] [--warmup N] NAME=BIN...
#
# Per round, per binary: a fresh data directory and bundle copy, the suite's configuration
# (scripts/lib/bench.sh: rate limits and the pending quota lifted), --warmup requests, then
# --requests requests at 10 connections x 10 streams; the server's utime + stime from
# /proc/PID/stat over those requests, divided by their number. Before each run the load body
# is sent once and must be decided as the suite expects (bench.sh's `verify`: grpc-status 0 and
# the scenario's effect; a gRPC error is an HTTP 200 to h2load); every response of the run must
# be HTTP 200. Anything else fails the script. Prints one line per run and a summary per binary.
# Defaults: export, process, 3 rounds, 40,000 requests after 5,000.
#
# Example: build each commit's release binary, copy it aside, then
#   scripts/cpu_ab.sh before=/tmp/tollgate.before after=target/release/tollgate
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/bench.sh
source "$TG_ROOT/scripts/lib/bench.sh"

SCENARIO=export
MODE=process
ROUNDS=3
REQUESTS=40000
WARMUP_REQUESTS=5000
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
BINS=()
while [ $# -gt 0 ]; do
  case "$1" in
  --scenario) SCENARIO="$2"; shift ;;
  --mode) MODE="$2"; shift ;;
  --rounds) ROUNDS="$2"; shift ;;
  --requests) REQUESTS="$2"; shift ;;
  --warmup) WARMUP_REQUESTS="$2"; shift ;;
  -h | --help) usage; exit 0 ;;
  *=*) BINS+=("$1") ;;
  *) usage >&2; tg_die "unknown argument: $1" ;;
  esac
  shift
done
[ "${#BINS[@]}" -gt 0 ] || { usage >&2; tg_die "name at least one NAME=BIN"; }
case "$SCENARIO" in read | export | deny | pending) ;; *) tg_die "unknown scenario: $SCENARIO" ;; esac
case "$MODE" in power | process) ;; *) tg_die "unknown mode: $MODE" ;; esac
for b in "${BINS[@]}"; do [ -x "${b#*=}" ] || tg_die "${b#*=} is not an executable"; done
tg_have h2load || tg_die "h2load missing (apt nghttp2-client)"

WORK="$(mktemp -d /tmp/tollgate-cpu.XXXXXX)"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
OUT_DIR="$WORK"
write_bench_config
BODY="$(tollgate_body "$SCENARIO" "$SCENARIO")"
declare -A EXPECT=([read]=EFFECT_ALLOW [export]=EFFECT_ALLOW [deny]=EFFECT_DENY [pending]=EFFECT_PENDING_APPROVAL)
TICKS="$(getconf CLK_TCK)"

# cpu_ticks PID: the process's utime + stime, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# h2load_run N: N requests at 10x10; prints req/s, fails unless every response was 200.
h2load_run() {
  local out
  out="$(h2load -n "$1" -c 10 -m 10 -d "$BODY" -H 'content-type: application/grpc' \
    -H 'te: trailers' "$TG_URL")"
  grep -q "status codes: $1 2xx" <<<"$out" || {
    printf '%s\n' "$out" >&2
    tg_die "not every response was HTTP 200"
  }
  awk '/finished in/ { print $4 }' <<<"$out"
}

declare -A SAMPLES=()
for ((round = 1; round <= ROUNDS; round++)); do
  for b in "${BINS[@]}"; do
    name="${b%%=*}"
    BIN="${b#*=}"
    rm -rf "$WORK/$name-data"
    start_tollgate "$name" "$(copy_bundle "$name")" TOLLGATE_AUDIT_DURABILITY="$MODE"
    verify "$name-$round" "$TG_URL" "$BODY" tollgate "${EXPECT[$SCENARIO]}" ||
      tg_die "$name does not decide the $SCENARIO body as expected (log: $WORK/$name.log)"
    h2load_run "$WARMUP_REQUESTS" >/dev/null
    before="$(cpu_ticks "$TG_PID")"
    rps="$(h2load_run "$REQUESTS")"
    after="$(cpu_ticks "$TG_PID")"
    stop_tollgate
    us="$(awk -v t="$((after - before))" -v hz="$TICKS" -v n="$REQUESTS" \
      'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
    printf 'round %d  %-12s %8s req/s  %7s us CPU per request\n' "$round" "$name" "$rps" "$us"
    SAMPLES[$name]+="$us "
  done
done
printf '\n%s, %s, 10x10, %d requests after %d, %d rounds: server CPU per request (us)\n' \
  "$SCENARIO" "$MODE" "$REQUESTS" "$WARMUP_REQUESTS" "$ROUNDS"
for b in "${BINS[@]}"; do
  name="${b%%=*}"
  printf '  %-12s %s\n' "$name" "${SAMPLES[$name]}"
done
