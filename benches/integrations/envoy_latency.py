#!/usr/bin/env python3
"""The latency Envoy's ext_authz call to tollgate adds to an allowed HTTP request, in one run:
the same GET through one Envoy on two listeners, one with the ext_authz filter (gRPC to a
local tollgate) and one without, plus the upstream directly. Sequential requests on one
keep-alive connection each; prints p50/p90/p99 in microseconds.

    cargo build --release
    python3 benches/integrations/envoy_latency.py [--bin target/release/tollgate] [-n 2000]
"""

import argparse
import http.client
import http.server
import json
import os
import pathlib
import socket
import statistics
import subprocess
import tempfile
import threading
import time

POLICY = """package tollgate

default allow := false

allow if {
\tinput.action.name == "http.get"
\tinput.action.params.path == "/v1/ping"
}
"""

CONFIG = """grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
log: {format: json}
auth:
  mode: static_tokens
  tokens:
    - {token: envoy-token, id: "service:envoy", kind: service, assert_subjects: true}
# The bench's client is trusted to name itself (a header); production reads a verified JWT
# claim (ext_authz.subject_claim, docs/integrations.md).
ext_authz: {subject_header: x-tollgate-subject}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):  # noqa: N802 - http.server's naming
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def start_tollgate(binary: str, d: pathlib.Path):
    (d / "bundle").mkdir()
    (d / "bundle" / "policy.rego").write_text(POLICY)
    (d / "tollgate.yaml").write_text(CONFIG)
    proc = subprocess.Popen(
        [binary, "serve", "--config", str(d / "tollgate.yaml"), "--bundle", str(d / "bundle"),
         "--data-dir", str(d / "data")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("message") == "tollgate serving":
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, record["grpc"]
    raise SystemExit("tollgate did not start")


def listener(name: str, port: int, ext_authz: bool) -> str:
    authz = """
          - name: envoy.filters.http.ext_authz
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
              transport_api_version: V3
              failure_mode_allow: false
              grpc_service:
                envoy_grpc: {cluster_name: tollgate}
                timeout: 5s
                initial_metadata: [{key: authorization, value: "Bearer envoy-token"}]""" if ext_authz else ""
    return f"""
  - name: {name}
    address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: {name}
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [{{match: {{prefix: "/"}}, route: {{cluster: upstream}}}}]
          http_filters:{authz}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"""


def cluster(name: str, host: str, port: int, h2: bool) -> str:
    options = """
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}""" if h2 else ""
    return f"""
  - name: {name}
    type: STATIC
    connect_timeout: 1s{options}
    load_assignment:
      cluster_name: {name}
      endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: {{address: {host}, port_value: {port}}}}}}}}}]}}]"""


def measure(port: int, n: int, headers: dict) -> list:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    samples = []
    for i in range(n + n // 10):
        t = time.perf_counter_ns()
        conn.request("GET", "/v1/ping", headers=headers)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"port {port}: status {r.status}")
        if i >= n // 10:  # warm-up excluded
            samples.append((time.perf_counter_ns() - t) / 1000)
    conn.close()
    return samples


def report(name: str, s: list) -> dict:
    q = statistics.quantiles(s, n=100)
    row = {"p50": q[49], "p90": q[89], "p99": q[98]}
    print(f"{name:<28} p50 {row['p50']:8.0f} us   p90 {row['p90']:8.0f} us   p99 {row['p99']:8.0f} us")
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("TOLLGATE_BIN", "target/release/tollgate"))
    ap.add_argument("-n", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        up = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
        threading.Thread(target=up.serve_forever, daemon=True).start()
        tollgate, grpc = start_tollgate(args.bin, d)
        host, gport = grpc.rsplit(":", 1)
        plain, authz, admin = free_port(), free_port(), free_port()
        (d / "envoy.yaml").write_text(
            f"admin:\n  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}\n"
            "static_resources:\n  listeners:"
            + listener("plain", plain, False) + listener("authz", authz, True)
            + "\n  clusters:" + cluster("upstream", "127.0.0.1", up.server_address[1], False)
            + cluster("tollgate", host, int(gport), True) + "\n")
        envoy = subprocess.Popen(["envoy", "-c", str(d / "envoy.yaml"), "--disable-hot-restart",
                                  "-l", "error", "--concurrency", "1"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", admin, timeout=1)
                    c.request("GET", "/ready")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            subject = {"x-tollgate-subject": "agent:bench"}
            direct = report("upstream directly", measure(up.server_address[1], args.n, subject))
            without = report("envoy, no ext_authz", measure(plain, args.n, subject))
            withz = report("envoy + tollgate ext_authz", measure(authz, args.n, subject))
            print(f"{'added by tollgate':<28} p50 {withz['p50'] - without['p50']:8.0f} us   "
                  f"p99 {withz['p99'] - without['p99']:8.0f} us   "
                  f"(envoy itself adds p50 {without['p50'] - direct['p50']:.0f} us)")
        finally:
            envoy.kill()
            envoy.wait()
            tollgate.kill()
            tollgate.wait()
            up.shutdown()


if __name__ == "__main__":
    main()
