#!/usr/bin/env python3
"""The latency the MCP gateway adds to an allowed tool call, in one run: the same `echo` call
from the official Python MCP client to the fixture server (tests/mcp/server.py) directly over
stdio, and through `tollgate mcp` (one Authorize over gRPC to a local tollgate, then the
forward). Sequential calls on one session each; prints p50/p90/p99 in microseconds.

With `--upstream http` the fixture serves Streamable HTTP on a loopback port instead: the
client calls it directly over HTTP, and through `tollgate mcp --upstream-url` (the client
speaks stdio to the gateway, the gateway HTTP to the server).

    cargo build --release
    python3 benches/integrations/mcp_latency.py [--bin target/release/tollgate] [-n 1000] [--upstream http]
"""

import argparse
import asyncio
import json
import os
import pathlib
import statistics
import socket
import subprocess
import sys
import tempfile
import threading
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE = str(ROOT / "tests" / "mcp" / "server.py")

POLICY = """package tollgate

default allow := false

allow if input.action.name == "mcp.echo"
"""

CONFIG = """grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
log: {format: json}
auth:
  mode: static_tokens
  tokens:
    - {token: gw-token, id: "service:mcp-gateway", kind: service, assert_subjects: true,
       groups: [tollgate-executors]}
"""


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


async def measure(params, n: int) -> list:
    """`n` sequential calls over stdio (`params`) or Streamable HTTP (`params` a URL)."""
    if isinstance(params, str):
        async with streamable_http_client(params) as streams:
            return await calls(streams[0], streams[1], params, n)
    async with stdio_client(params) as (r, w):
        return await calls(r, w, params.command, n)


async def calls(r, w, name: str, n: int) -> list:
    samples = []
    async with ClientSession(r, w) as s:
        await s.initialize()
        for i in range(n + n // 10):
            t = time.perf_counter_ns()
            result = await s.call_tool("echo", {"text": f"ping {i}"})
            if result.is_error:
                raise SystemExit(f"{name}: {result.content}")
            if i >= n // 10:  # warm-up excluded
                samples.append((time.perf_counter_ns() - t) / 1000)
    return samples


def start_http_fixture():
    """The fixture on a free loopback port; returns the process and its URL once it accepts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, FIXTURE, "streamable-http", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}/mcp"
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the HTTP fixture exited")
            time.sleep(0.05)
    raise SystemExit("the HTTP fixture did not listen")


def report(name: str, s: list) -> dict:
    q = statistics.quantiles(s, n=100)
    row = {"p50": q[49], "p90": q[89], "p99": q[98]}
    print(f"{name:<28} p50 {row['p50']:8.0f} us   p90 {row['p90']:8.0f} us   p99 {row['p99']:8.0f} us")
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("TOLLGATE_BIN", "target/release/tollgate"))
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--upstream", choices=["stdio", "http"], default="stdio")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        tollgate, grpc = start_tollgate(args.bin, d)
        fixture = None
        try:
            gateway = ["mcp", "--tollgate", f"http://{grpc}", "--token", "gw-token",
                       "--subject", "agent:bench"]
            if args.upstream == "http":
                fixture, url = start_http_fixture()
                direct = url
                gateway += ["--upstream-url", url]
            else:
                direct = StdioServerParameters(command=sys.executable, args=[FIXTURE])
                gateway += ["--", sys.executable, FIXTURE]
            gated = StdioServerParameters(command=args.bin, args=gateway,
                                          env={**os.environ, "RUST_LOG": "warn"})
            plain = report("server directly", asyncio.run(measure(direct, args.n)))
            through = report("through tollgate mcp", asyncio.run(measure(gated, args.n)))
            print(f"{'added by the gateway':<28} p50 {through['p50'] - plain['p50']:8.0f} us   "
                  f"p90 {through['p90'] - plain['p90']:8.0f} us   "
                  f"p99 {through['p99'] - plain['p99']:8.0f} us")
        finally:
            for proc in filter(None, [tollgate, fixture]):
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
