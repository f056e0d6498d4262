"""A real tollgate server for the SDK tests: the built binary (``TOLLGATE_BIN``, else
``$CARGO_TARGET_DIR/debug/tollgate``, else ``target/debug/tollgate``) on loopback port 0 with a
small policy and static tokens."""

import json
import os
import pathlib
import queue
import subprocess
import threading
import time

import grpc
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]

POLICY = """package tollgate

default allow := false

allow if input.action.name == "data.export"

approval contains {"groups": ["security"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
\t"reason": "exports need security"} if input.action.name == "data.export"

deny contains "deleting is not allowed" if input.action.name == "data.delete"
"""

CONFIG = """grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
log:
  format: json
auth:
  mode: static_tokens
  tokens:
    - {token: agent-token, id: "agent:exporter", kind: agent, groups: [tollgate-executors]}
    - {token: sec-token, id: "user:sam", kind: user, groups: [security]}
"""


def _binary() -> pathlib.Path:
    if os.environ.get("TOLLGATE_BIN"):
        return pathlib.Path(os.environ["TOLLGATE_BIN"])
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return (target if target.is_absolute() else ROOT / target) / "debug" / "tollgate"


@pytest.fixture
def server(tmp_path):
    """(gRPC target, process) of a fresh tollgate serving POLICY."""
    binary = _binary()
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build it (cargo build) or set TOLLGATE_BIN")
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "policy.rego").write_text(POLICY)
    (tmp_path / "tollgate.yaml").write_text(CONFIG)
    proc = subprocess.Popen(
        [str(binary), "serve", "--config", str(tmp_path / "tollgate.yaml"),
         "--data-dir", str(tmp_path / "data"), "--bundle", str(tmp_path / "bundle")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stderr], daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=30)
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("message") == "tollgate serving":
                yield record["grpc"], proc
                break
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def reviewer(server):
    """Approves (or denies, or narrows) the one pending approval as the security reviewer."""
    from tollgate.v1 import approvals_pb2, approvals_pb2_grpc

    target, _ = server
    channel = grpc.insecure_channel(target)
    stub = approvals_pb2_grpc.ApprovalsStub(channel)
    metadata = [("authorization", "Bearer sec-token")]

    def pending_id() -> str:
        # The agent runs in another thread: poll the list until its approval exists.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            listed = stub.ListApprovals(
                approvals_pb2.ListApprovalsRequest(state=approvals_pb2.APPROVAL_STATE_PENDING),
                metadata=metadata,
            ).approvals
            if listed:
                return listed[0].id
            time.sleep(0.02)
        raise AssertionError("no pending approval appeared")

    def decide(verdict, params=None):
        from google.protobuf import struct_pb2

        s = None
        if params is not None:
            s = struct_pb2.Struct()
            s.update(params)
        return stub.Approve(
            approvals_pb2.ApproveRequest(
                approval_id=pending_id(), verdict=verdict, reason="reviewed", params=s
            ),
            metadata=metadata,
        )

    yield decide
    channel.close()
