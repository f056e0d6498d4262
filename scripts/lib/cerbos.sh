# shellcheck shell=bash
# Cerbos for the benchmark suite (scripts/load.sh): fetched from the npm registry once into
# target/cerbos, given the counterpart of tollgate's export rule, started on free ports, and
# its decisions verified before it is loaded. Source after scripts/lib/bench.sh.

# The counterpart of tollgate's export ALLOW (policies/export.rego, export_allowed): one rule
# for role "agent" with the same three conditions: a valid row count within the hard limit, an
# approved destination prefix, an exportable non-personal classification. (tollgate also runs
# its deny, approval, residency and privileged-action guards on every request.)
write_cerbos_policy() {
  mkdir -p "$1"
  cat >"$1/dataset.yaml" <<'EOF'
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
}

# cerbos_binary: installs Cerbos $CERBOS_VERSION from npm if missing; prints its path.
cerbos_binary() {
  local pkg dir bin tarball
  case "$(uname -m)" in
  x86_64) pkg="@cerbos/cerbos-linux-x64" ;;
  aarch64 | arm64) pkg="@cerbos/cerbos-linux-arm64" ;;
  *) tg_die "no Cerbos npm package for $(uname -m)" ;;
  esac
  dir="$(tg_target_dir)/cerbos"
  bin="$dir/cerbos-$CERBOS_VERSION"
  if [ ! -x "$bin" ]; then
    tg_log "fetching $pkg@$CERBOS_VERSION from the npm registry"
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "$pkg@$CERBOS_VERSION" >/dev/null)
    tarball="$(ls "$dir"/cerbos-cerbos-linux-*-"$CERBOS_VERSION".tgz)"
    mkdir -p "$WORK/cerbos-pkg"
    tar -xzf "$tarball" -C "$WORK/cerbos-pkg"
    install -m 0755 "$WORK"/cerbos-pkg/package/cerbos-linux-* "$bin"
    rm -f "$tarball"
  fi
  printf '%s' "$bin"
}

# start_cerbos: Cerbos on free ports with the policy above; the export body in
# $OUT_DIR/cerbos-export-body.bin is verified ALLOW and its PII variant DENY. Sets CB_PID and
# CB_URL; returns non-zero (a recorded failure) if a decision is wrong.
start_cerbos() {
  local bin grpc http ports
  bin="$(cerbos_binary)"
  CERBOS_VERSION_LINE="$("$bin" --version | head -n 1)"
  write_cerbos_policy "$WORK/cerbos-policies"
  cp "$WORK/cerbos-policies/dataset.yaml" "$OUT_DIR/cerbos-policy.yaml"
  read -r -a ports <<<"$(tg_free_ports 2)"
  grpc="127.0.0.1:${ports[0]}"
  http="127.0.0.1:${ports[1]}"
  cat >"$WORK/cerbos.yaml" <<EOF
server:
  httpListenAddr: "$http"
  grpcListenAddr: "$grpc"
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
  tg_log "starting cerbos ($CERBOS_VERSION_LINE): gRPC $grpc, HTTP $http"
  CERBOS_NO_TELEMETRY=1 "$bin" server --config="$WORK/cerbos.yaml" --log-level=warn \
    >"$WORK/cerbos.log" 2>&1 &
  CB_PID="$!"
  PIDS+=("$CB_PID")
  # shellcheck disable=SC2317 # called through wait_ready
  cb_ready() { http_ok "http://$http/_cerbos/health"; }
  wait_ready cerbos "$CB_PID" cb_ready
  fact "{\"kind\": \"cerbos\", \"version\": \"Cerbos $CERBOS_VERSION_LINE\"}"
  python3 "$TG_ROOT/scripts/grpc_body.py" json cerbos --request export >"$WORK/cerbos-export.json"
  cp "$WORK/cerbos-export.json" "$OUT_DIR/request-cerbos-export.json"
  python3 "$TG_ROOT/scripts/grpc_body.py" encode cerbos --json "$WORK/cerbos-export.json" \
    -o "$OUT_DIR/cerbos-export-body.bin" 2>/dev/null
  CB_URL="http://$grpc/cerbos.svc.v1.CerbosService/CheckResources"
  verify cerbos-export "$CB_URL" "$OUT_DIR/cerbos-export-body.bin" cerbos EFFECT_ALLOW || return 1
  cp "$WORK/cerbos-export.decision.json" "$OUT_DIR/answer-cerbos-export.json"
  # A request the rule must refuse (PII), so the ALLOW above is the rule's doing.
  sed 's/"internal"/"pii"/' "$WORK/cerbos-export.json" >"$WORK/cerbos-pii.json"
  python3 "$TG_ROOT/scripts/grpc_body.py" encode cerbos --json "$WORK/cerbos-pii.json" \
    -o "$WORK/cerbos-pii.bin" 2>/dev/null
  verify cerbos-pii "$CB_URL" "$WORK/cerbos-pii.bin" cerbos EFFECT_DENY || return 1
}
