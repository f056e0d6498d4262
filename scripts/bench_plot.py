#!/usr/bin/env python3
"""The benchmark suite's plot: scripts/load.sh's results (JSON lines) -> a PNG.

    bench_plot.py target/load/results.jsonl -o docs/benchmarks.png

Left: throughput per scenario and level, tollgate (per durability mode) next to its floor
(tollgate's own gRPC health check) and Cerbos deciding the same export, log scale. Right:
read throughput as generated rules are added to the bundle. Needs matplotlib (load.sh installs
it into a venv under target/).
"""

from __future__ import annotations

import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path: str):
    rows, run = [], {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if r.get("kind", "load") == "load":
                rows.append(r)
            elif r["kind"] == "run":
                run = r
    return rows, run


def level(r: dict) -> str:
    return f"{r['conns']}x{r['streams']}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    rows, run = load(args.results)

    dec = [r for r in rows if r.get("section") == "decisions"]
    levels: list[str] = []
    for r in dec:
        if level(r) not in levels:
            levels.append(level(r))
    # Floor and Cerbos first, then tollgate by mode and scenario.
    rank = {"floor": 0, "cerbos": 1, "tollgate": 2}
    scen = {"health": 0, "read": 1, "export": 2, "deny": 3, "pending": 4}
    series: list[str] = []
    for r in sorted(dec, key=lambda r: (rank.get(r["system"], 9), r.get("mode", ""), scen.get(r["scenario"], 9))):
        if r["target"] not in series:
            series.append(r["target"])
    by_name = {r["target"]: r for r in dec}
    rules = [r for r in rows if r.get("section") == "rules"]

    fig, axes = plt.subplots(1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [3, 1.3]})
    ax = axes[0]
    width = 0.8 / max(1, len(series))
    colors = {"read": "tab:blue", "export": "tab:orange", "deny": "tab:green", "pending": "tab:purple"}
    for i, name in enumerate(series):
        xs, ys = [], []
        for j, lvl in enumerate(levels):
            r = next((r for r in dec if r["target"] == name and level(r) == lvl), None)
            if r:
                xs.append(j + (i - (len(series) - 1) / 2) * width)
                ys.append(r["rps"])
        r0 = by_name[name]
        style: dict = {"color": colors.get(r0["scenario"], "grey")}
        if r0["system"] == "floor":
            style = {"color": "black"}
        elif r0["system"] == "cerbos":
            style = {"color": "tab:red", "edgecolor": "black"}
        elif r0.get("mode") == "process":
            style.update(alpha=0.55, hatch="//", edgecolor="white")
        elif r0.get("mode") == "off":
            style.update(alpha=0.3)
        ax.bar(xs, ys, width, label=name, **style)
    ax.set_xticks(range(len(levels)))
    ax.set_xticklabels([f"-c{lv.split('x')[0]} -m{lv.split('x')[1]}" for lv in levels])
    ax.set_yscale("log")
    ax.set_ylabel("requests/s (log)")
    ax.set_title("Throughput per scenario and level")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(axis="y", which="both", alpha=0.3)

    ax = axes[1]
    for lvl in sorted({level(r) for r in rules}):
        pts = sorted(
            ((int(r["variant"].lstrip("+")), r["rps"]) for r in rules if level(r) == lvl),
            key=lambda p: p[0],
        )
        if pts:
            ax.plot([str(p[0]) for p in pts], [p[1] for p in pts], marker="o", label=f"read {lvl}")
    ax.set_xlabel("deny rules added to the shipped bundle")
    ax.set_ylabel("requests/s")
    ax.set_ylim(bottom=0)
    ax.set_title("read vs bundle size")
    if rules:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)

    note = f"{run.get('date', '')}, commit {run.get('commit', '')}, {run.get('cores', '?')} cores"
    if run.get("quick"):
        note += " (--quick: noise)"
    fig.suptitle(f"tollgate benchmarks: {note}", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
