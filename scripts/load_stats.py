#!/usr/bin/env python3
"""Summaries of h2load runs for scripts/load.sh.

    load_stats.py row --conns 10 --streams 10 --h2load OUT.txt --log LOG.tsv
                      [--labels "section=decisions scenario=read system=tollgate mode=power"]
                      [--check "ok: ..." | "FAILED: ..."]
        prints one JSON object ("kind": "load"): requests/s (h2load's), counts,
        mean/p50/p90/p99/p99.9/max latency (ms) computed from h2load's per-request log
        (--log-file: start us, status, duration us), the labels, and the server-side check
    load_stats.py table RESULTS.jsonl [--markdown]
        prints the load rows as a table (plain text, or Markdown)

A row is "ok" only when every request finished with HTTP 200, h2load reports no failed,
errored or timed-out request, and the server-side check (if any) passed. h2load cannot see
gRPC trailers (a gRPC error is an HTTP 200 to it), so load.sh checks the gRPC status and the
decision of the exact same body before it loads, and counts the server's decisions after.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def parse_h2load(text: str) -> dict:
    out: dict = {}
    m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", text)
    if m:
        secs = float(m.group(1)) / (1000.0 if m.group(2) == "ms" else 1.0)
        out["finished_s"] = secs
        out["h2load_rps"] = float(m.group(3))
    m = re.search(
        r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout",
        text,
    )
    if m:
        keys = ["total", "started", "done", "succeeded", "failed", "errored", "timeout"]
        out.update({k: int(v) for k, v in zip(keys, m.groups())})
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        out.update({k: int(v) for k, v in zip(["s2xx", "s3xx", "s4xx", "s5xx"], m.groups())})
    m = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", text)
    if m:
        out["h2load_latency"] = {"min": m.group(1), "max": m.group(2), "mean": m.group(3), "sd": m.group(4)}
    return out


def row(args) -> int:
    with open(args.h2load) as f:
        h = parse_h2load(f.read())
    durations_us: list[float] = []
    statuses: dict[str, int] = {}
    first_start = last_end = None
    with open(args.log) as f:
        for line in f:
            parts = line.split("\t")
            if len(parts) < 3:
                continue
            start, status, dur = int(parts[0]), parts[1].strip(), int(parts[2])
            statuses[status] = statuses.get(status, 0) + 1
            if status == "200":
                durations_us.append(dur)
            end = start + dur
            first_start = start if first_start is None else min(first_start, start)
            last_end = end if last_end is None else max(last_end, end)
    durations_us.sort()
    n = len(durations_us)
    ms = [d / 1000.0 for d in durations_us]
    logged = sum(statuses.values())
    window_s = (last_end - first_start) / 1e6 if logged and last_end and first_start else float("nan")
    labels = dict(item.split("=", 1) for item in args.labels.split()) if args.labels else {}
    r = {
        "kind": "load",
        **labels,
        "target": labels.get("target") or "/".join(
            v for v in (labels.get("system"), labels.get("scenario"), labels.get("mode"), labels.get("variant")) if v
        ),
        "conns": args.conns,
        "streams": args.streams,
        "rps": h.get("h2load_rps", float("nan")),
        "log_rps": (logged / window_s) if window_s and window_s == window_s and window_s > 0 else float("nan"),
        "requests": h.get("done", logged),
        "succeeded": h.get("succeeded", 0),
        "failed": h.get("failed", 0) + h.get("errored", 0) + h.get("timeout", 0),
        "non_2xx": h.get("s3xx", 0) + h.get("s4xx", 0) + h.get("s5xx", 0),
        "logged": logged,
        "statuses": statuses,
        "mean_ms": (sum(ms) / n) if n else float("nan"),
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "p999_ms": percentile(ms, 99.9),
        "max_ms": ms[-1] if n else float("nan"),
    }
    r["check"] = args.check or ""
    # The measured run sends a fixed count (its warm-up is a separate run), so every request
    # is logged and must be a 200.
    r["ok"] = bool(
        n > 0
        and r["failed"] == 0
        and r["non_2xx"] == 0
        and set(statuses) == {"200"}
        and n == r["requests"]
        and r["succeeded"] == r["requests"]
        and not r["check"].startswith("FAILED")
    )
    print(json.dumps(r))
    return 0


def fmt(x: float, digits: int = 2) -> str:
    if isinstance(x, float) and x != x:
        return "n/a"
    return f"{x:,.{digits}f}"


def problems(r: dict) -> str:
    out = []
    if r["failed"]:
        out.append(f"{r['failed']} failed")
    if r["non_2xx"]:
        out.append(f"{r['non_2xx']} non-2xx")
    odd = {k: v for k, v in r["statuses"].items() if k != "200"}
    if odd:
        out.append("logged statuses " + ", ".join(f"{k}: {v}" for k, v in sorted(odd.items())))
    if r["succeeded"] != r["requests"]:
        out.append(f"{r['requests'] - r['succeeded']} not succeeded")
    if r.get("check", "").startswith("FAILED"):
        out.append(r["check"])
    return "; ".join(out) or "no successful request"


def table(args) -> int:
    rows = []
    with open(args.rows) as f:
        for line in f:
            line = line.strip()
            if line and json.loads(line).get("kind", "load") == "load":
                rows.append(json.loads(line))
    headers = ["target", "-c", "-m", "req/s", "mean ms", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "requests", "ok"]
    body = [
        [
            r["target"],
            str(r["conns"]),
            str(r["streams"]),
            fmt(r["rps"], 0),
            fmt(r["mean_ms"], 3),
            fmt(r["p50_ms"], 3),
            fmt(r["p99_ms"], 3),
            fmt(r["p999_ms"], 3),
            fmt(r["max_ms"], 3),
            f"{r['requests']:,}",
            "yes" if r["ok"] else "NO (" + (problems(r) if args.markdown else problems(r)[:100]) + ")",
        ]
        for r in rows
    ]
    if args.markdown:
        print("| " + " | ".join(headers) + " |")
        print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|")
        for b in body:
            print("| " + " | ".join(b) + " |")
    else:
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(headers)]
        print("  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths))))
        for b in body:
            print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(b, widths))))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("row")
    r.add_argument("--labels", default="", help="key=value pairs, space separated")
    r.add_argument("--check", default="", help="the server-side check's verdict")
    r.add_argument("--conns", type=int, required=True)
    r.add_argument("--streams", type=int, required=True)
    r.add_argument("--h2load", required=True, help="h2load's stdout")
    r.add_argument("--log", required=True, help="h2load --log-file output")
    t = sub.add_parser("table")
    t.add_argument("rows")
    t.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    return row(args) if args.cmd == "row" else table(args)


if __name__ == "__main__":
    sys.exit(main())
