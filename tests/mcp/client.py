"""An MCP client for the gateway tests (official `mcp` SDK): starts the gateway command given
after `--` on stdio, makes one `export_rows` call and reports what it saw as JSON lines on
stdout, so a test can synchronise on them (approve once the client was told to wait):

    {"event": "progress", "progress": 1.0, "message": "..."}   each progress notification
    {"event": "elicitation", "mode": "url", "url": "...", "message": "...", "id": "..."}
    {"event": "elicitation_complete", "id": "..."}                notifications/elicitation/complete
    {"event": "elicitation_withdrawn"}     an unanswered elicitation the gateway cancelled
    {"event": "result", "is_error": false, "text": "..."}       the call's answer
    {"event": "error", "code": -32602, "message": "..."}        the call's JSON-RPC error

Usage: client.py [--legacy] [--elicit accept|decline|cancel] [--forge HOW]
                 -- <gateway command...>

`--elicit` declares the elicitation capability (form and URL modes) and answers every
elicitation with that action (`never`: leaves it unanswered until the gateway withdraws it); `--legacy` speaks the initialize-handshake protocol
(2025-11-25) instead of the current one.
`--forge` plays a client that calls again with a `requestState` other than the one it was
given: `tamper` changes one character of it, `other-arguments` echoes it with other
arguments (the state of another call)."""

import argparse
import json
import os
import sys

import anyio
import mcp_types as types
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

ARGUMENTS = {"table": "users", "rows": 5000}


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
        if args.elicit == "never":
            try:
                await anyio.sleep_forever()
            except anyio.get_cancelled_exc_class():
                _say({"event": "elicitation_withdrawn"})
                raise
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
        if args.forge:
            await _forge(client, args.forge)
            return
        result = await client.call_tool("export_rows", ARGUMENTS, progress_callback=on_progress)
        text = "\n".join(c.text for c in result.content if getattr(c, "text", None))
        _say({"event": "result", "is_error": bool(result.is_error), "text": text})


async def _forge(client: Client, how: str) -> None:
    """Takes the state of a first call and calls again with a forged use of it."""
    first = await client.session.call_tool("export_rows", ARGUMENTS, allow_input_required=True)
    state = first.request_state
    _say({"event": "state", "present": bool(state)})
    arguments = ARGUMENTS
    if how == "tamper":
        at = len(state) // 2
        state = state[:at] + ("B" if state[at] == "A" else "A") + state[at + 1 :]
    else:
        arguments = {"table": "users", "rows": 1}
    answers = {"tollgate/approval": types.ElicitResult(action="accept")}
    try:
        result = await client.session.call_tool(
            "export_rows", arguments, input_responses=answers, request_state=state,
            allow_input_required=True,
        )
        _say({"event": "result", "is_error": bool(getattr(result, "is_error", False)),
              "text": str(result)})
    except MCPError as e:
        _say({"event": "error", "code": e.code, "message": e.error.message})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--legacy", action="store_true")
    parser.add_argument("--elicit", choices=["accept", "decline", "cancel", "never"])
    parser.add_argument("--forge", choices=["tamper", "other-arguments"])
    parser.add_argument("command", nargs=argparse.REMAINDER)
    anyio.run(_main, parser.parse_args())
    sys.exit(0)
