#!/usr/bin/env python3
"""An agent that exports data through tollgate: it asks, is paused until a reviewer decides,
then redeems its capability and exports exactly what was approved.

    target/debug/tollgate serve --config examples/agent/tollgate.yaml \
        --bundle examples/agent/bundle --data-dir /tmp/tollgate-example
    PYTHONPATH=sdk/python python3 examples/agent/export_agent.py
    # in another shell, as the printed hint says:
    target/debug/tollgate approvals approve ID --reason "ticket checked" --token sec-dev
"""

import logging
import sys

import tollgate


def export(approved: tollgate.Approved) -> str:
    # The real work would go here; it sees only what tollgate allowed.
    rows = int(approved.params["rows"])
    note = " (narrowed by the reviewer)" if approved.changes else ""
    return f"exported {rows} rows of users-eu to s3://corp-analytics-eu/churn{note}"


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="agent: %(message)s")
    request = tollgate.request(
        subject="agent:exporter",
        action="data.export",
        resource_type="dataset",
        resource_id="users-eu",
        params={"rows": 5000, "dest": "s3://corp-analytics-eu/churn"},
        intent="quarterly churn analysis (TICKET-812)",
        request_id="ticket-812-export",  # asking again returns the same approval
    )
    with tollgate.Client("127.0.0.1:50051", token="agent-dev") as client:
        answer = client.authorize(request)
        if answer.approval_id:
            print(f"agent: paused; approve with: tollgate approvals approve {answer.approval_id} "
                  "--reason 'ticket checked' --token sec-dev", flush=True)
        try:
            print("agent:", client.run(request, export, wait=900), flush=True)
        except tollgate.TollgateError as e:
            print(f"agent: not exported: {e}", flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
