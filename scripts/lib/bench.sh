# shellcheck shell=bash
# Building blocks of the benchmark suite (scripts/load.sh): servers, checked requests and one
# measured h2load run. Source it after scripts/lib/common.sh, with these set by the caller:
#   WORK      a temporary directory (logs, data dirs, bundle copies)
#   OUT_DIR   where raw results go (target/load)
#   RESULTS   the JSON-lines file every measurement and fact is appended to
#   BIN       the tollgate release binary
#   DURATION WARMUP   seconds of measurement and of warm-up per run
#   PIDS      an array; every process started here is added, and the caller stops them on exit

# ---------------------------------------------------------------------------------------------
# Failures: recorded, the suite goes on, and the exit status is non-zero at the end
# ---------------------------------------------------------------------------------------------
FAILURES=()
bench_fail() {
  FAILURES+=("$*")
  printf 'FAILED: %s\n' "$*" >&2
}

# fact JSON: appends one non-load fact (fsync, flows, counts) to the results.
fact() { printf '%s\n' "$1" >>"$RESULTS"; }

# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------
stop_pid() {
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  tg_warn "pid $pid ignored SIGTERM for 10 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

http_ok() { # url: 200?
  [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true)" = 200 ]
}
tcp_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# wait_ready NAME PID CHECK...: poll CHECK until it passes (at most 600 x 0.1 s), failing early
# if the process died.
wait_ready() {
  local name="$1" pid="$2" i
  shift 2
  for ((i = 0; i < 600; i++)); do
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
  tg_die "$name not ready after 60 s"
}

# The configuration every tollgate under test shares: insecure mode on loopback (no tokens, so
# no per-identity rate limit applies) and a pending quota no run reaches, so the pending
# scenario measures creations, not the quota's refusals.
write_bench_config() {
  cat >"$WORK/tollgate.yaml" <<'EOF'
rate_limits:
  authorize: {calls: 1000000, per: 1s}
  approve: {calls: 1000000, per: 1s}
  max_pending_per_subject: 4000000000
EOF
}

# copy_bundle NAME: a private copy of policies/ (so rules can be added and files rewritten);
# prints its path.
copy_bundle() {
  local dir="$WORK/bundle-$1"
  rm -rf "$dir"
  cp -r "$TG_ROOT/policies" "$dir"
  printf '%s' "$dir"
}

# start_tollgate NAME BUNDLE [VAR=VALUE...]: a server on free ports with its own data dir
# (kept across restarts of the same NAME) and the extra environment. Sets TG_PID, TG_GRPC,
# TG_HTTP, TG_DATA, TG_URL (Authorize), TG_HEALTH_URL.
start_tollgate() {
  local name="$1" bundle="$2"
  shift 2
  local ports
  read -r -a ports <<<"$(tg_free_ports 2)"
  TG_GRPC="127.0.0.1:${ports[0]}"
  TG_HTTP="127.0.0.1:${ports[1]}"
  TG_DATA="$WORK/$name-data"
  tg_log "starting $name: gRPC $TG_GRPC, HTTP $TG_HTTP, bundle $bundle ${*:-}"
  env TOLLGATE_CONFIG="$WORK/tollgate.yaml" TOLLGATE_GRPC_ADDR="$TG_GRPC" TOLLGATE_HTTP_ADDR="$TG_HTTP" \
    TOLLGATE_DATA_DIR="$TG_DATA" TOLLGATE_BUNDLE="$bundle" \
    TOLLGATE_LOG_LEVEL="${TOLLGATE_LOG_LEVEL:-warn}" "$@" \
    "$BIN" serve >>"$WORK/$name.log" 2>&1 &
  TG_PID="$!"
  PIDS+=("$TG_PID")
  # shellcheck disable=SC2317 # called through wait_ready
  tg_ready() { http_ok "http://$TG_HTTP/healthz" && tcp_open "$TG_GRPC"; }
  wait_ready "$name" "$TG_PID" tg_ready
  # shellcheck disable=SC2034 # used by the caller
  TG_URL="http://$TG_GRPC/tollgate.v1.Authorizer/Authorize"
  # shellcheck disable=SC2034 # used by the caller
  TG_HEALTH_URL="http://$TG_GRPC/grpc.health.v1.Health/Check"
}

stop_tollgate() {
  stop_pid "$TG_PID"
}

# ---------------------------------------------------------------------------------------------
# Checked requests
# ---------------------------------------------------------------------------------------------

# send_once NAME URL BODY: one gRPC call with curl (h2c); prints the grpc-status (empty when
# the call failed at HTTP level); the response body is left in $WORK/NAME.response.
send_once() {
  local name="$1" url="$2" body="$3" status
  status="$(curl -sS --http2-prior-knowledge -m 10 -X POST \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    --data-binary "@$body" -D "$WORK/$name.headers" -o "$WORK/$name.response" \
    -w '%{http_code}' "$url" 2>/dev/null)" || status=000
  [ "$status" = 200 ] || return 0
  tr -d '\r' <"$WORK/$name.headers" | awk -F': ' 'tolower($1) == "grpc-status" { print $2 }' | tail -n 1
}

# verify NAME URL BODY KIND EXPECT: the exact load body, sent once, must be answered
# grpc-status 0 with the effect EXPECT (KIND: tollgate, cerbos, health). Decision in
# $WORK/NAME.decision.json.
verify() {
  local name="$1" url="$2" body="$3" kind="$4" expect="$5" grpc_status
  grpc_status="$(send_once "$name" "$url" "$body")"
  if [ "$grpc_status" != 0 ]; then
    bench_fail "$name: grpc-status '${grpc_status}' for the load body"
    return 1
  fi
  if ! python3 "$TG_ROOT/scripts/grpc_body.py" decode "$kind" "$WORK/$name.response" --expect "$expect" \
    >"$WORK/$name.decision.json"; then
    bench_fail "$name: expected $expect, got $(python3 -c 'import json,sys; print(json.load(sys.stdin).get("effect"))' <"$WORK/$name.decision.json")"
    return 1
  fi
  if grep -q '"cached": true' "$WORK/$name.decision.json"; then
    tg_warn "$name: answered from the decision cache: the numbers measure the cache, not evaluation"
  fi
  tg_log "$name: the load body is answered grpc-status 0, $expect"
}

# tollgate_body NAME REQUEST: encodes a named request (scripts/grpc_body.py) to
# $OUT_DIR/NAME-body.bin, its JSON to $WORK/NAME.json; prints the body's path.
tollgate_body() {
  local name="$1" request="$2"
  python3 "$TG_ROOT/scripts/grpc_body.py" json tollgate --request "$request" >"$WORK/$name.json"
  python3 "$TG_ROOT/scripts/grpc_body.py" encode tollgate --json "$WORK/$name.json" \
    -o "$OUT_DIR/$name-body.bin" 2>/dev/null
  printf '%s' "$OUT_DIR/$name-body.bin"
}

# grpcurl_agrees NAME EXPECT: the same JSON through grpcurl (its own encoder, from the .proto)
# gets the same effect.
grpcurl_agrees() {
  local name="$1" expect="$2"
  if ! grpcurl -plaintext -max-time 10 -import-path "$TG_ROOT/proto" -proto tollgate/v1/authorizer.proto \
    -d @ "$TG_GRPC" tollgate.v1.Authorizer/Authorize <"$WORK/$name.json" >"$WORK/$name.grpcurl.json" 2>&1; then
    bench_fail "$name: grpcurl Authorize failed: $(head -c 300 "$WORK/$name.grpcurl.json")"
    return 1
  fi
  if ! grep -q "\"$expect\"" "$WORK/$name.grpcurl.json"; then
    bench_fail "$name: grpcurl's encoding is not answered $expect: $(head -c 300 "$WORK/$name.grpcurl.json")"
    return 1
  fi
}

# decisions_total: tollgate_decisions_total of the running server, summed by effect (JSON).
decisions_total() {
  python3 "$TG_ROOT/scripts/bench_tools.py" decisions "http://$TG_HTTP/metrics"
}

# ---------------------------------------------------------------------------------------------
# One measured run
# ---------------------------------------------------------------------------------------------

# measure LABELS URL BODY C M [CHECK]: warm up for WARMUP seconds, then send exactly N
# requests, N being what the warm-up rate does in DURATION seconds (a fixed count, so every
# request sent is logged and can be accounted for). LABELS are key=value pairs for the row
# (section scenario system mode variant). CHECK, for tollgate rows, is the effect every
# request must have been answered (tollgate_decisions_total must grow by exactly N, all of
# that effect: a gRPC error is an HTTP 200 to h2load, but not a decision); "pending" also
# requires exactly N new approval rows in the store. Appends the row to $RESULTS.
measure() {
  local labels="$1" url="$2" body="$3" c="$4" m="$5" check="${6:-}" base warm_rps n before after verdict
  local name started_ms expected
  name="${labels// /_}"
  name="${name//=/-}"
  name="${name//\//-}"
  base="$OUT_DIR/$name-c$c-m$m"
  local h2=(h2load -c "$c" -m "$m" -t 1 -d "$body" -H 'content-type: application/grpc' -H 'te: trailers')
  tg_log "h2load $labels -c$c -m$m: ${WARMUP}s warm-up, then ${DURATION}s worth of requests"
  if ! timeout $((WARMUP * 3 + 30)) "${h2[@]}" -D "$WARMUP" "$url" >"$base.warmup.txt" 2>&1; then
    bench_fail "h2load warm-up failed for $labels -c$c -m$m ($base.warmup.txt)"
    return 0
  fi
  warm_rps="$(sed -n 's/.*finished in [0-9.]*m\{0,1\}s, \([0-9.]*\) req\/s.*/\1/p' "$base.warmup.txt")"
  n="$(awk -v r="${warm_rps:-0}" -v d="$DURATION" -v c="$c" -v m="$m" \
    'BEGIN { n = int(r * d); if (n < c * m) n = c * m; n = int((n + c - 1) / c) * c; print n }')"
  before="$(check_state "$check")"
  started_ms="$(date +%s%3N)"
  rm -f "$base.tsv" # h2load appends to its log file
  if ! timeout $((DURATION * 6 + 60)) "${h2[@]}" -n "$n" --log-file="$base.tsv" "$url" >"$base.txt" 2>&1; then
    bench_fail "h2load failed or overran for $labels -c$c -m$m ($base.txt)"
    return 0
  fi
  after="$(check_state "$check")"
  verdict="$(python3 - "$check" "$n" "$before" "$after" <<'EOF'
import json, sys
check, n, before, after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
if not check:
    print("ok: " + "no server-side count (h2load's statuses only)")
    sys.exit(0)
b, a = json.loads(before), json.loads(after)
effect = "PENDING_APPROVAL" if check == "pending" else check
grown = {k: a["decisions"].get(k, 0) - b["decisions"].get(k, 0) for k in set(a["decisions"]) | set(b["decisions"])}
grown = {k: v for k, v in grown.items() if v}
problems = []
if grown != {effect: n}:
    problems.append(f"decisions grew by {grown}, expected {{{effect!r}: {n}}}")
if check == "pending":
    rows = a["approvals"] - b["approvals"]
    if rows != n:
        problems.append(f"{rows} new approval rows for {n} requests")
if problems:
    print("FAILED: " + "; ".join(problems))
else:
    extra = f", {n} new approval rows ({a['approvals']} in the store after the run)" if check == "pending" else ""
    print(f"ok: {n} {effect} decisions counted by the server{extra}")
EOF
)"
  if [[ "$verdict" == FAILED* ]] && [ -f "$TG_DATA/tollgate.db" ]; then
    # Why: the reasons the audit trail recorded for the unexpected answers.
    expected="$check"
    [ "$check" != pending ] || expected=PENDING_APPROVAL
    verdict="$verdict; recorded: $(python3 "$TG_ROOT/scripts/bench_tools.py" reasons "$TG_DATA/tollgate.db" \
      --since "$started_ms" --not-effect "$expected" | tr -d '"' | head -c 600)"
  fi
  python3 "$TG_ROOT/scripts/load_stats.py" row --conns "$c" --streams "$m" \
    --h2load "$base.txt" --log "$base.tsv" --labels "$labels" --check "$verdict" >>"$RESULTS"
  tail -n 1 "$RESULTS" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("    %.0f req/s, p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, %s" % (r["rps"], r["p50_ms"], r["p99_ms"], r["p999_ms"], "ok" if r["ok"] else "ERRORS")); sys.exit(0 if r["ok"] else 1)' ||
    bench_fail "$labels -c$c -m$m: requests failed (${verdict})"
}

# approvals_settled: the store's approval rows, once their number stops moving. The warm-up
# ends by resetting its open streams (h2load -D), and a creation already queued for the group
# commit is still committed (its caller gone, its record kept) moments after h2load exits:
# counted too early, those rows would be charged to the measured run.
approvals_settled() {
  local last now
  now="$(python3 "$TG_ROOT/scripts/bench_tools.py" count "$TG_DATA/tollgate.db")"
  for _ in $(seq 50); do
    last="$now"
    sleep 0.2
    now="$(python3 "$TG_ROOT/scripts/bench_tools.py" count "$TG_DATA/tollgate.db")"
    [ "$now" != "$last" ] || break
  done
  printf '%s' "$now"
}

# check_state CHECK: what measure compares before and after (JSON), or nothing.
check_state() {
  local check="$1" approvals=0
  [ -n "$check" ] || return 0
  if [ "$check" = pending ]; then
    approvals="$(approvals_settled)"
  fi
  printf '{"decisions": %s, "approvals": %s}' "$(decisions_total)" "$approvals"
}
