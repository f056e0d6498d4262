"""A small MCP tool server for the gateway tests and the latency bench (official `mcp` SDK,
stdio). Every call that reaches it is appended to the file named by MCP_FIXTURE_LOG as one
JSON line, so a test can tell whether (and how often, with which arguments) a call arrived."""

import json
import os

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


if __name__ == "__main__":
    server.run("stdio")
