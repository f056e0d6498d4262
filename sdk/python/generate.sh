#!/usr/bin/env bash
# Regenerates tollgate/v1/*_pb2*.py from proto/tollgate/v1 with grpcio-tools (run after a proto
# change; the generated code is committed so `pip install sdk/python` needs no compiler).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rm -f "$here"/tollgate/v1/*_pb2*.py "$here"/tollgate/v1/*_pb2*.pyi
python3 -m grpc_tools.protoc -I "$root/proto" --python_out="$here" --pyi_out="$here" \
  --grpc_python_out="$here" "$root"/proto/tollgate/v1/*.proto
touch "$here/tollgate/v1/__init__.py"
