"""Run the benchmark suite against local servers and rewrite docs/benchmarks.md.

Each benchmark is its own module, run in its own process (`python -m bench.<name>`), printing a
Markdown table; this runner puts them together with the machine, the date and the command.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import time

from bench.common import ROOT, machine

SUITES = [
    ("throughput", "Storage throughput: FallbackStorage against the raw clients", []),
    ("memory", "Streaming memory: a big file through the upload API and back", []),
    ("failover", "Failover cost: a save while the primary is down", []),
    ("search", "Semantic search: pgvector HNSW latency and recall, embedder ingest", []),
    ("api", "API: inventory list under load", []),
]


def run_suite(name: str, extra: list[str]) -> tuple[str, float]:
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *extra], cwd=ROOT, capture_output=True, text=True, check=False
    )
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        return f"**Failed** (exit {result.returncode}):\n\n```\n{tail}\n```", elapsed
    return result.stdout.strip(), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="comma-separated suite names")
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    chosen = set(args.only.split(",")) if args.only else None
    started = datetime.datetime.now(datetime.UTC)
    sections = []
    for name, title, extra in SUITES:
        if chosen and name not in chosen:
            continue
        print(f"running bench.{name} ...", flush=True)
        body, elapsed = run_suite(name, extra)
        print(body, flush=True)
        sections.append(f"## {title}\n\n`python -m bench.{name}` ({elapsed:.0f} s)\n\n{body}\n")
    header = (
        "# Benchmark results\n\n"
        "Produced by `make bench` (`.venv/bin/python -m bench.run`); every figure below comes from that run.\n\n"
        f"- machine: {machine()}\n"
        f"- date: {started:%Y-%m-%d %H:%M} UTC\n"
        "- figures are medians with the range (low to high) over the runs named; ratios compare against the raw\n"
        "  client measured in the same run on the same server.\n"
    )
    with open(args.output, "w") as handle:
        handle.write(header + "\n" + "\n".join(sections))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
