"""An MCP client for the gateway tests (official `mcp` SDK): starts the gateway command given
after `--` on stdio, makes one `export_rows` call and reports what it saw as JSON lines on
stdout, so a test can synchronise on them (approve once the client was told to wait):

    {"event": "progress", "progress": 1.0, "message": "..."}   each progress notification
    {"event": "elicitation", "mode": "url", "url": "...", "message": "...", "id": "..."}
    {"event": "elicitation_complete", "id": "..."}                notifications/elicitation/complete
    {"event": "result", "is_error": false, "text": "..."}       the call's answer

Usage: client.py [--legacy] [--elicit accept|decline|cancel] [--calls N] -- <gateway command...>

`--elicit` declares the elicitation capability (form and URL modes) and answers every
elicitation with that action; `--legacy` speaks the initialize-handshake protocol
(2025-11-25) instead of the current one; `--calls` makes the same call N times in a row."""

import argparse
import json
import os
import sys

import anyio
import mcp_types as types
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters


def _say(event: dict) -> None:
    print(json.dumps(event), flush=True)


async def _main(args: argparse.Namespace) -> None:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    server = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))

    async def on_elicit(_context, params):
        _say(
            {
                "event": "elicitation",
                "mode": getattr(params, "mode", None),
                "url": getattr(params, "url", None),
                "message": params.message,
                "id": getattr(params, "elicitation_id", None),
            }
        )
        return types.ElicitResult(action=args.elicit)

    async def on_progress(progress, _total, message):
        _say({"event": "progress", "progress": progress, "message": message})

    async def on_message(message):
        if isinstance(message, types.ElicitCompleteNotification):
            _say({"event": "elicitation_complete", "id": message.params.elicitation_id})

    options = {"mode": "legacy"} if args.legacy else {}
    options["message_handler"] = on_message
    if args.elicit:
        options["elicitation_callback"] = on_elicit
    async with Client(server, **options) as client:
        await client.list_tools()
        for _ in range(args.calls):
            result = await client.call_tool(
                "export_rows",
                {"table": "users", "rows": 5000},
                progress_callback=on_progress,
            )
            text = "\n".join(c.text for c in result.content if getattr(c, "text", None))
            _say({"event": "result", "is_error": bool(result.is_error), "text": text})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--legacy", action="store_true")
    parser.add_argument("--elicit", choices=["accept", "decline", "cancel"])
    parser.add_argument("--calls", type=int, default=1)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    anyio.run(_main, parser.parse_args())
    sys.exit(0)
