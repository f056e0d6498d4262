"""A small MCP tool server for the gateway tests and the latency bench (official `mcp` SDK).
Every call that reaches it is appended to the file named by MCP_FIXTURE_LOG as one JSON line,
so a test can tell whether (and how often, with which arguments) a call arrived.

`server.py` serves on stdio; `server.py streamable-http PORT` serves Streamable HTTP on
127.0.0.1:PORT at /mcp, and when MCP_FIXTURE_BEARER is set answers 401 to any request whose
`Authorization` is not `Bearer <that value>`."""

import json
import os
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("tollgate-fixture")


def _record(tool: str, arguments: dict) -> None:
    path = os.environ.get("MCP_FIXTURE_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"tool": tool, "arguments": arguments}) + "\n")


@server.tool()
def echo(text: str) -> str:
    """Returns its text."""
    _record("echo", {"text": text})
    return text


@server.tool()
def export_rows(table: str, rows: int) -> str:
    """Pretends to export `rows` rows of `table`."""
    _record("export_rows", {"table": table, "rows": rows})
    return f"exported {rows} rows of {table}"


@server.tool()
def delete_table(table: str) -> str:
    """Pretends to drop a table."""
    _record("delete_table", {"table": table})
    return f"deleted {table}"


def _bearer_required(app, token: str):
    """ASGI middleware: HTTP requests without the bearer token are refused with 401."""
    expected = f"Bearer {token}".encode()

    async def guarded(scope, receive, send):
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != expected:
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"missing bearer token"})
            return
        await app(scope, receive, send)

    return guarded


def _serve_http(port: int) -> None:
    import uvicorn

    app = server.streamable_http_app()
    token = os.environ.get("MCP_FIXTURE_BEARER")
    if token:
        app = _bearer_required(app, token)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    if sys.argv[1:2] == ["streamable-http"]:
        _serve_http(int(sys.argv[2]))
    else:
        server.run("stdio")
