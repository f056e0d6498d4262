#!/usr/bin/env python3
"""Hand-rolled protobuf encoding of gRPC request bodies for load tests (no protoc needed).

h2load sends a fixed body file; for gRPC that is one length-prefixed message:
1 byte compression flag (0), 4 bytes big-endian length, then the protobuf bytes.

    grpc_body.py encode tollgate [--request read|export | --json REQ.json] -o body.bin
                                                   a tollgate.v1.AuthorizeRequest
    grpc_body.py encode cerbos [--request export | --json REQ.json] -o body.bin
                                                   a cerbos.request.v1.CheckResourcesRequest
    grpc_body.py encode health -o body.bin         a grpc.health.v1.HealthCheckRequest (the floor)
    grpc_body.py json tollgate|cerbos [--request NAME]           print a built-in request (JSON)
    grpc_body.py decode tollgate|cerbos|health RESPONSE.bin [--expect EFFECT]
                                                   response -> JSON summary; exit 0 only if the
                                                   effect is EFFECT (default: an ALLOW / SERVING)
    grpc_body.py selftest                                        encoder/decoder checks

Requests are JSON objects with the proto field names (snake_case; lowerCamelCase is accepted
too), i.e. exactly what `grpcurl -d` takes, so one JSON file can drive both grpcurl and h2load.
Only the fields of the messages below are known; an unknown field is an error, not a silent
omission. Schemas follow proto/tollgate/v1/authorizer.proto and Cerbos's public API
(cerbos/request/v1/request.proto, cerbos/engine/v1/engine.proto, cerbos/response/v1).
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import struct
import sys

# ----------------------------------------------------------------------------------------------
# Schemas: message name -> {field name: (number, kind, message type for message kinds)}
# kinds: string, bool, enum (also any varint integer), message, repeated_string, repeated_message,
# struct (google.protobuf.Struct), repeated_struct, value_map (map<string, google.protobuf.Value>),
# enum_map (map<string, enum>), timestamp and duration (decoding only)
# ----------------------------------------------------------------------------------------------
SCHEMAS: dict[str, dict[str, tuple]] = {
    # tollgate.v1 (proto/tollgate/v1/authorizer.proto)
    "tollgate.v1.AuthorizeRequest": {
        "subject": (1, "message", "tollgate.v1.Subject"),
        "action": (2, "message", "tollgate.v1.Action"),
        "resource": (3, "message", "tollgate.v1.Resource"),
        "context": (4, "message", "tollgate.v1.Context"),
    },
    "tollgate.v1.Subject": {
        "id": (1, "string"),
        "kind": (2, "string"),
        "on_behalf_of": (3, "string"),
        "owner": (4, "string"),
        "groups": (5, "repeated_string"),
        "attributes": (6, "struct"),
    },
    "tollgate.v1.Action": {
        "name": (1, "string"),
        "params": (2, "struct"),
    },
    "tollgate.v1.Resource": {
        "type": (1, "string"),
        "id": (2, "string"),
        "attributes": (3, "struct"),
    },
    "tollgate.v1.Context": {
        "intent": (1, "string"),
        "environment": (2, "string"),
        "request_id": (3, "string"),
        "attributes": (4, "struct"),
    },
    "tollgate.v1.AuthorizeResponse": {
        "decision_id": (1, "string"),
        "effect": (2, "enum"),
        "reasons": (3, "repeated_string"),
        "risk": (4, "string"),
        "obligations": (5, "repeated_struct"),
        "bundle_revision": (6, "string"),
        "approval_id": (7, "string"),
        "requirements": (8, "repeated_message", "tollgate.v1.ApprovalRequirement"),
        "decided_at": (9, "timestamp"),
        "cached": (10, "bool"),
        "capability": (11, "string"),
    },
    "tollgate.v1.ApprovalRequirement": {
        "groups": (1, "repeated_string"),
        "quorum": (2, "enum"),
        "ttl": (3, "duration"),
        "capability_ttl": (4, "duration"),
        "risk": (5, "string"),
        "step_up": (6, "bool"),
        "reason": (7, "string"),
    },
    # grpc.health.v1 (the floor: the cheapest RPC on tollgate's own server)
    "grpc.health.v1.HealthCheckRequest": {
        "service": (1, "string"),
    },
    "grpc.health.v1.HealthCheckResponse": {
        "status": (1, "enum"),
    },
    # cerbos.request.v1.CheckResourcesRequest and what it contains
    "cerbos.request.v1.CheckResourcesRequest": {
        "request_id": (1, "string"),
        "include_meta": (2, "bool"),
        "principal": (3, "message", "cerbos.engine.v1.Principal"),
        "resources": (4, "repeated_message", "cerbos.request.v1.CheckResourcesRequest.ResourceEntry"),
    },
    "cerbos.request.v1.CheckResourcesRequest.ResourceEntry": {
        "actions": (1, "repeated_string"),
        "resource": (2, "message", "cerbos.engine.v1.Resource"),
    },
    "cerbos.engine.v1.Principal": {
        "id": (1, "string"),
        "policy_version": (2, "string"),
        "roles": (3, "repeated_string"),
        "attr": (4, "value_map"),
        "scope": (5, "string"),
    },
    "cerbos.engine.v1.Resource": {
        "kind": (1, "string"),
        "policy_version": (2, "string"),
        "id": (3, "string"),
        "attr": (4, "value_map"),
        "scope": (5, "string"),
    },
    # cerbos.response.v1.CheckResourcesResponse (only what the check reads)
    "cerbos.response.v1.CheckResourcesResponse": {
        "request_id": (1, "string"),
        "results": (2, "repeated_message", "cerbos.response.v1.CheckResourcesResponse.ResultEntry"),
        "cerbos_call_id": (3, "string"),
    },
    "cerbos.response.v1.CheckResourcesResponse.ResultEntry": {
        "resource": (1, "message", "cerbos.response.v1.CheckResourcesResponse.ResultEntry.Resource"),
        "actions": (2, "enum_map"),
    },
    "cerbos.response.v1.CheckResourcesResponse.ResultEntry.Resource": {
        "id": (1, "string"),
        "kind": (2, "string"),
        "policy_version": (3, "string"),
        "scope": (4, "string"),
    },
}

TOLLGATE_EFFECTS = {0: "EFFECT_UNSPECIFIED", 1: "EFFECT_ALLOW", 2: "EFFECT_DENY", 3: "EFFECT_PENDING_APPROVAL"}
CERBOS_EFFECTS = {0: "EFFECT_UNSPECIFIED", 1: "EFFECT_ALLOW", 2: "EFFECT_DENY", 3: "EFFECT_NO_MATCH"}
HEALTH_STATUSES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}

ROOTS = {
    "tollgate": ("tollgate.v1.AuthorizeRequest", "tollgate.v1.AuthorizeResponse"),
    "cerbos": ("cerbos.request.v1.CheckResourcesRequest", "cerbos.response.v1.CheckResourcesResponse"),
    "health": ("grpc.health.v1.HealthCheckRequest", "grpc.health.v1.HealthCheckResponse"),
}

# Named requests (`--request NAME`). scripts/load.sh checks the live answer to each (the effect
# it expects) and refuses to load-test anything else.
#   tollgate read    a read-only action by an agent on an internal dataset: the shipped bundle's
#                    cheapest ALLOW (one rule: content verb on a non-secret resource)
#   tollgate export  data.export of 5,000 rows of internal data to an approved EU bucket: ALLOW
#                    after every export guard ran (rows valid, destination approved and in the
#                    data's region, classification known and exportable, no approval needed),
#                    plus the guards on privileged actions (intent, owner, environment)
#   tollgate deny    the same export to the approved US bucket: eu-resident data may not leave
#                    the EU, so an export guard denies it after every other export rule ran
#   tollgate pending an export of 250,000 rows of PII from prod: PENDING_APPROVAL with two
#                    requirements (data-governance; security with step-up). Its request_id is
#                    empty: no idempotency key, so every call creates a new approval request
#                    (with a key, a repeat is an idempotent replay of the first one)
#   health           grpc.health.v1.Health/Check for the whole server ("")
#   cerbos export    the same export for Cerbos: one rule for role "agent" with three
#                    conditions (rows, destination, classification); see scripts/load.sh
REQUESTS = {
    ("tollgate", "read"): {
        "subject": {"id": "agent:reporter", "kind": "agent", "owner": "team:analytics", "groups": ["readers"]},
        "action": {"name": "dataset.read", "params": {"table": "events", "rows": 1000}},
        "resource": {"type": "dataset", "id": "events-eu", "attributes": {"classification": "internal"}},
        "context": {"intent": "weekly usage report", "environment": "prod", "request_id": "load-test-read"},
    },
    ("tollgate", "export"): {
        "subject": {
            "id": "agent:billing-exporter",
            "kind": "agent",
            "on_behalf_of": "user:alice@example.com",
            "owner": "team:growth",
            "groups": ["exporters"],
        },
        "action": {
            "name": "data.export",
            "params": {"table": "events", "rows": 5000, "dest": "s3://corp-analytics-eu/churn/q3.parquet"},
        },
        "resource": {
            "type": "dataset",
            "id": "events-eu",
            "attributes": {"classification": "internal", "residency": "eu"},
        },
        "context": {
            "intent": "quarterly churn analysis requested in TICKET-812",
            "environment": "prod",
            "request_id": "load-test-export",
        },
    },
    ("tollgate", "deny"): {
        "subject": {
            "id": "agent:billing-exporter",
            "kind": "agent",
            "on_behalf_of": "user:alice@example.com",
            "owner": "team:growth",
            "groups": ["exporters"],
        },
        "action": {
            "name": "data.export",
            "params": {"table": "events", "rows": 5000, "dest": "s3://corp-analytics-us/churn/q3.parquet"},
        },
        "resource": {
            "type": "dataset",
            "id": "events-eu",
            "attributes": {"classification": "internal", "residency": "eu"},
        },
        "context": {
            "intent": "quarterly churn analysis requested in TICKET-812",
            "environment": "prod",
            "request_id": "load-test-deny",
        },
    },
    ("tollgate", "pending"): {
        "subject": {
            "id": "agent:billing-exporter",
            "kind": "agent",
            "on_behalf_of": "user:alice@example.com",
            "owner": "team:growth",
            "groups": ["exporters"],
        },
        "action": {
            "name": "data.export",
            "params": {"table": "users", "rows": 250000, "dest": "s3://corp-analytics-eu/churn/q3.parquet"},
        },
        "resource": {
            "type": "dataset",
            "id": "users-eu",
            "attributes": {"classification": "pii", "residency": "eu"},
        },
        "context": {
            "intent": "quarterly churn analysis requested in TICKET-812",
            "environment": "prod",
            "request_id": "",
        },
    },
    ("health", "check"): {"service": ""},
    ("cerbos", "export"): {
        "request_id": "load-test-export",
        "principal": {
            "id": "agent:billing-exporter",
            "roles": ["agent"],
            "attr": {"owner": "team:growth", "on_behalf_of": "user:alice@example.com", "environment": "prod"},
        },
        "resources": [
            {
                "actions": ["export"],
                "resource": {
                    "kind": "dataset",
                    "id": "events-eu",
                    "attr": {
                        "classification": "internal",
                        "residency": "eu",
                        "table": "events",
                        "rows": 5000,
                        "dest": "s3://corp-analytics-eu/churn/q3.parquet",
                    },
                },
            }
        ],
    },
}
DEFAULT_REQUEST = {"tollgate": "read", "cerbos": "export", "health": "check"}


def named_request(target: str, name: str | None) -> dict:
    name = name or DEFAULT_REQUEST[target]
    if (target, name) not in REQUESTS:
        known = ", ".join(n for t, n in REQUESTS if t == target)
        raise SystemExit(f"no request {name!r} for {target} (known: {known})")
    return REQUESTS[(target, name)]


# ----------------------------------------------------------------------------------------------
# Wire format
# ----------------------------------------------------------------------------------------------
def varint(n: int) -> bytes:
    if n < 0:
        n &= (1 << 64) - 1  # two's complement, as protobuf encodes negative int32/int64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field: int, wire_type: int) -> bytes:
    return varint((field << 3) | wire_type)


def length_delimited(field: int, payload: bytes) -> bytes:
    return key(field, 2) + varint(len(payload)) + payload


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# google.protobuf.Value: null_value=1 (enum), number_value=2 (double), string_value=3,
# bool_value=4, struct_value=5 (Struct), list_value=6 (ListValue{values=1})
def encode_value(v) -> bytes:
    if v is None:
        return key(1, 0) + varint(0)
    if isinstance(v, bool):  # before int: bool is an int in Python
        return key(4, 0) + varint(1 if v else 0)
    if isinstance(v, (int, float)):
        return key(2, 1) + struct.pack("<d", float(v))
    if isinstance(v, str):
        return length_delimited(3, v.encode())
    if isinstance(v, dict):
        return length_delimited(5, encode_struct(v))
    if isinstance(v, list):
        return length_delimited(6, b"".join(length_delimited(1, encode_value(x)) for x in v))
    raise TypeError(f"cannot encode {type(v).__name__} as google.protobuf.Value")


def encode_value_map(field: int, d: dict) -> bytes:
    # map<string, Value>: repeated entry {string key = 1; Value value = 2;}, sorted for a stable body
    out = b""
    for k in sorted(d):
        entry = length_delimited(1, str(k).encode()) + length_delimited(2, encode_value(d[k]))
        out += length_delimited(field, entry)
    return out


def encode_struct(d: dict) -> bytes:
    # google.protobuf.Struct { map<string, Value> fields = 1; }
    return encode_value_map(1, d)


def encode_message(type_name: str, obj: dict) -> bytes:
    schema = SCHEMAS[type_name]
    out = b""
    for raw_name, v in obj.items():
        name = snake(raw_name) if raw_name not in schema else raw_name
        if name not in schema:
            raise KeyError(f"{type_name} has no field {raw_name!r}")
        spec = schema[name]
        field, kind = spec[0], spec[1]
        if kind == "string":
            if v != "":
                out += length_delimited(field, str(v).encode())
        elif kind in ("bool", "enum"):
            if v:
                out += key(field, 0) + varint(int(v))
        elif kind == "message":
            out += length_delimited(field, encode_message(spec[2], v))
        elif kind == "repeated_string":
            for s in v:
                out += length_delimited(field, str(s).encode())
        elif kind == "repeated_message":
            for m in v:
                out += length_delimited(field, encode_message(spec[2], m))
        elif kind == "struct":
            out += length_delimited(field, encode_struct(v))
        elif kind == "value_map":
            out += encode_value_map(field, v)
        else:
            raise ValueError(f"cannot encode kind {kind}")
    return out


def grpc_frame(message: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", len(message)) + message


# ----------------------------------------------------------------------------------------------
# Decoding
# ----------------------------------------------------------------------------------------------
def read_varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def fields(buf: bytes):
    """Yield (field number, wire type, value) for each field of a message."""
    i = 0
    while i < len(buf):
        k, i = read_varint(buf, i)
        field, wt = k >> 3, k & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 1:
            v, i = buf[i : i + 8], i + 8
        elif wt == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i : i + n], i + n
        elif wt == 5:
            v, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
        if i > len(buf):
            raise ValueError("truncated field")
        yield field, wt, v


def decode_value(buf: bytes):
    for f, _wt, v in fields(buf):
        if f == 1:
            return None
        if f == 2:
            return struct.unpack("<d", v)[0]
        if f == 3:
            return v.decode()
        if f == 4:
            return bool(v)
        if f == 5:
            return decode_struct(v)
        if f == 6:
            return [decode_value(x) for lf, _, x in fields(v) if lf == 1]
    return None


def decode_map_entry(buf: bytes):
    k, val = "", b""
    for f, _wt, v in fields(buf):
        if f == 1:
            k = v.decode()
        elif f == 2:
            val = v
    return k, val


def decode_struct(buf: bytes) -> dict:
    out = {}
    for f, _wt, v in fields(buf):
        if f == 1:
            k, val = decode_map_entry(v)
            out[k] = decode_value(val)
    return out


def decode_message(type_name: str, buf: bytes) -> dict:
    schema = SCHEMAS[type_name]
    by_number = {spec[0]: (name, spec) for name, spec in schema.items()}
    out: dict = {}
    for f, _wt, v in fields(buf):
        if f not in by_number:
            out.setdefault("_unknown", []).append(f)
            continue
        name, spec = by_number[f]
        kind = spec[1]
        if kind == "string":
            out[name] = v.decode()
        elif kind in ("bool", "enum"):
            out[name] = bool(v) if kind == "bool" else v
        elif kind == "message":
            out[name] = decode_message(spec[2], v)
        elif kind == "repeated_string":
            out.setdefault(name, []).append(v.decode())
        elif kind == "repeated_message":
            out.setdefault(name, []).append(decode_message(spec[2], v))
        elif kind == "struct":
            out[name] = decode_struct(v)
        elif kind == "repeated_struct":
            out.setdefault(name, []).append(decode_struct(v))
        elif kind in ("timestamp", "duration"):
            secs = nanos = 0
            for tf, _twt, tv in fields(v):
                if tf == 1:
                    secs = tv
                elif tf == 2:
                    nanos = tv
            if kind == "duration":
                out[name] = f"{secs + nanos / 1e9:g}s"
            else:
                t = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc)
                out[name] = t.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"
        elif kind == "value_map":
            k, val = decode_map_entry(v)
            out.setdefault(name, {})[k] = decode_value(val)
        elif kind == "enum_map":
            k = ""
            e = 0
            for ef, _ewt, ev in fields(v):
                if ef == 1:
                    k = ev.decode()
                elif ef == 2:
                    e = ev
            out.setdefault(name, {})[k] = e
    return out


def unframe(data: bytes) -> list[bytes]:
    """Split a gRPC body into its length-prefixed messages."""
    msgs = []
    i = 0
    while i < len(data):
        if len(data) - i < 5:
            raise ValueError("truncated gRPC frame header")
        flag = data[i]
        (n,) = struct.unpack(">I", data[i + 1 : i + 5])
        if flag != 0:
            raise ValueError("compressed gRPC message: not supported")
        msgs.append(data[i + 5 : i + 5 + n])
        if len(msgs[-1]) != n:
            raise ValueError("truncated gRPC message")
        i += 5 + n
    return msgs


def summarize(target: str, body: bytes) -> dict:
    msgs = unframe(body)
    if len(msgs) != 1:
        raise ValueError(f"expected one response message, got {len(msgs)}")
    resp = decode_message(ROOTS[target][1], msgs[0])
    if target == "tollgate":
        resp["effect"] = TOLLGATE_EFFECTS.get(resp.get("effect", 0), str(resp.get("effect")))
        resp["allow"] = resp["effect"] == "EFFECT_ALLOW"
    elif target == "health":
        resp["status"] = HEALTH_STATUSES.get(resp.get("status", 0), str(resp.get("status")))
        resp["effect"] = resp["status"]
        resp["allow"] = resp["status"] == "SERVING"
    else:
        effects = []
        for r in resp.get("results", []):
            r["actions"] = {a: CERBOS_EFFECTS.get(e, str(e)) for a, e in r.get("actions", {}).items()}
            effects.extend(r["actions"].values())
        resp["allow"] = bool(effects) and all(e == "EFFECT_ALLOW" for e in effects)
        resp["effect"] = effects[0] if len(set(effects)) == 1 else "MIXED"
    return resp


# ----------------------------------------------------------------------------------------------
# Self-test
# ----------------------------------------------------------------------------------------------
def normalize(x):
    if isinstance(x, dict):
        return {snake(k): normalize(v) for k, v in x.items()}
    if isinstance(x, list):
        return [normalize(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    return float(x)


def drop_empty(x):
    """proto3 does not send empty strings: what a decoded request lacks."""
    if isinstance(x, dict):
        return {k: drop_empty(v) for k, v in x.items() if v != ""}
    if isinstance(x, list):
        return [drop_empty(v) for v in x]
    return x


def selftest() -> None:
    # Known vectors (protobuf encoding guide): field 1 = 150 -> 08 96 01; field 2 = "testing".
    assert key(1, 0) + varint(150) == bytes.fromhex("089601")
    assert length_delimited(2, b"testing") == bytes.fromhex("120774657374696e67")
    assert varint(300) == bytes.fromhex("ac02")
    assert varint(-1) == bytes.fromhex("ffffffffffffffffff01")
    # Struct {"a": 1.0}: fields entry {key "a", value {number_value 1.0}}
    assert encode_struct({"a": 1}) == bytes.fromhex("0a0e" "0a0161" "1209" "11000000000000f03f")
    assert grpc_frame(b"\x08\x01") == bytes.fromhex("00000000020801")
    # Round trips of the default requests through the schema decoder.
    for (target, _name), req in REQUESTS.items():
        req_type = ROOTS[target][0]
        body = grpc_frame(encode_message(req_type, req))
        (msg,) = unframe(body)
        back = decode_message(req_type, msg)
        assert normalize(back) == normalize(drop_empty(req)), (target, back)
    # Every Value kind.
    v = {"n": None, "b": True, "f": False, "x": -2.5, "s": "é", "l": [1, "two", [3], {"k": None}], "o": {"p": {}}}
    assert normalize(decode_struct(encode_struct(v))) == normalize(v)
    # Cross-check against the official runtime when it is installed (pip install protobuf).
    try:
        from google.protobuf import struct_pb2  # type: ignore
    except ImportError:
        print("selftest: google.protobuf not installed, skipped the cross-check with it")
    else:
        official = struct_pb2.Struct()
        official.ParseFromString(encode_struct(v))
        from google.protobuf.json_format import MessageToDict  # type: ignore

        assert normalize(MessageToDict(official)) == normalize(v), MessageToDict(official)
        s = struct_pb2.Struct()
        s.update(v)
        assert normalize(decode_struct(s.SerializeToString())) == normalize(v)
        print("selftest: Struct encoding agrees with google.protobuf")
    # Responses: hand-made AuthorizeResponse and CheckResourcesResponse.
    resp = grpc_frame(
        length_delimited(1, b"0190-abc")
        + key(2, 0)
        + varint(1)
        + length_delimited(3, b"read-only")
        + length_delimited(6, b"rev-1")
    )
    s = summarize("tollgate", resp)
    assert s["allow"] and s["decision_id"] == "0190-abc" and s["bundle_revision"] == "rev-1", s
    entry = length_delimited(1, length_delimited(1, b"events-eu") + length_delimited(2, b"dataset")) + length_delimited(
        2, length_delimited(1, b"read") + key(2, 0) + varint(1)
    )
    s = summarize("cerbos", grpc_frame(length_delimited(1, b"load-test") + length_delimited(2, entry)))
    assert s["allow"] and s["results"][0]["actions"] == {"read": "EFFECT_ALLOW"}, s
    assert summarize("health", grpc_frame(key(1, 0) + varint(1)))["effect"] == "SERVING"
    assert grpc_frame(encode_message(ROOTS["health"][0], REQUESTS[("health", "check")])) == bytes(5)
    deny = length_delimited(2, length_delimited(1, b"read") + key(2, 0) + varint(2))
    assert not summarize("cerbos", grpc_frame(length_delimited(2, deny)))["allow"]
    print("selftest: ok")


# ----------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    enc = sub.add_parser("encode", help="write a gRPC request body")
    enc.add_argument("target", choices=sorted(ROOTS))
    enc.add_argument("--json", help="request as JSON (file, or - for stdin)")
    enc.add_argument("--request", help="a built-in request by name (default: read / export)")
    enc.add_argument("-o", "--output", required=True)
    js = sub.add_parser("json", help="print the default request as JSON")
    js.add_argument("target", choices=sorted(ROOTS))
    js.add_argument("--request", help="a built-in request by name")
    dec = sub.add_parser("decode", help="decode a gRPC response body to JSON")
    dec.add_argument("target", choices=sorted(ROOTS))
    dec.add_argument("file")
    dec.add_argument("--expect", help="the effect required for exit 0 (default: ALLOW / SERVING)")
    sub.add_parser("selftest")
    args = ap.parse_args()

    if args.cmd == "selftest":
        selftest()
        return 0
    if args.cmd == "json":
        json.dump(named_request(args.target, args.request), sys.stdout, indent=2)
        print()
        return 0
    if args.cmd == "encode":
        if args.json:
            with open(args.json) if args.json != "-" else sys.stdin as f:
                req = json.load(f)
        else:
            req = named_request(args.target, args.request)
        body = grpc_frame(encode_message(ROOTS[args.target][0], req))
        with open(args.output, "wb") as f:
            f.write(body)
        print(f"wrote {len(body)} bytes ({len(body) - 5} protobuf + 5 framing) to {args.output}", file=sys.stderr)
        return 0
    if args.cmd == "decode":
        with open(args.file, "rb") as f:
            data = f.read()
        s = summarize(args.target, data)
        json.dump(s, sys.stdout, indent=2, sort_keys=True)
        print()
        if args.expect:
            return 0 if s.get("effect") == args.expect else 3
        return 0 if s["allow"] else 3
    return 2


if __name__ == "__main__":
    sys.exit(main())
