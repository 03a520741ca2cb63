"""Run the benchmark suite against local servers and rewrite docs/benchmarks.md.

Each benchmark is its own module, run in its own process (`python -m bench.<name>`), printing a
Markdown section and its targets (marked JSON lines, bench.common.emit_targets); this runner puts
them together with the machine, the date, the load, the wall time of each suite, a table of every
target (met, or missed and by how much) and, for each missed target, what limits it.

Options (`make bench BENCH_ARGS='...'`):
  --only throughput,memory   run only these suites (throughput, clients, memory, failover, search, api, direct)
  --large                    semantic search at 1,000,000 vectors instead of 100,000 (about 15 more minutes)
  --quick                    fewer runs and smaller files, a smoke test; writes .data/benchmarks-quick.md
  --output PATH              where to write (default docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from bench.common import ROOT, TARGET_MARK, Target, machine, table

SUITES = [
    ("throughput", "Storage throughput: FallbackStorage against the raw clients"),
    ("clients", "Against the official clients: small saves, the SDK, plain django-storages, async, the upload API"),
    ("memory", "Streaming memory: a big file through the upload API and back"),
    ("failover", "Failover cost: a save while the primary is down"),
    ("search", "Semantic search: pgvector HNSW latency and recall, embedder ingest"),
    ("api", "API: inventory list under load"),
    ("direct", "Direct uploads: the JS client through the handleUpload route against the raw client"),
]
QUICK_ARGS = {
    "throughput": ["--sizes", "1,16", "--runs", "3", "--no-profile"],
    "clients": ["--sizes", "1,16", "--download-sizes", "16", "--e2e-sizes", "16", "--runs", "2", "--rounds", "2"],
    "memory": ["--sizes", "64", "--runs", "1"],
    "failover": ["--runs", "2", "--steady", "10"],
    "search": ["--rows", "20000", "--chunks", "64", "--documents", "3", "--repeats", "1"],
    "api": ["--seconds", "3", "--runs", "2"],
    "direct": ["--size", "32", "--runs", "1"],
}


@dataclass
class Result:
    name: str
    title: str
    args: list[str]
    seconds: float
    body: str
    ok: bool
    targets: list[Target] = field(default_factory=list)


def run_suite(name: str, title: str, args: list[str]) -> Result:
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-25:])
        body = f"**Failed** (exit {result.returncode}):\n\n```\n{tail}\n```"
        return Result(name, title, args, elapsed, body, ok=False)
    lines, targets = [], []
    for line in result.stdout.splitlines():
        if line.startswith(TARGET_MARK):
            targets.append(Target(**json.loads(line[len(TARGET_MARK) :])))
        else:
            lines.append(line)
    return Result(name, title, args, elapsed, "\n".join(lines).strip(), ok=True, targets=targets)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min)"


def document(results: list[Result], started: datetime.datetime, load_before: str, argv: list[str]) -> str:
    command = "make bench" + (f" BENCH_ARGS='{' '.join(argv)}'" if argv else "")
    total = sum(result.seconds for result in results)
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}` (`.venv/bin/python -m bench.run`); every figure below comes from that run. "
        "How to run it and what each suite does: [benchmarking.md](benchmarking.md).",
        "",
        f"- machine: {machine()}",
        f"- date: {started:%Y-%m-%d %H:%M} UTC; wall time {total / 60:.1f} min",
        f"- load average before the run: {load_before}; after: {load()} (other work on the machine shows here)",
        "- figures: median, with the range (low to high) over the runs named (n); each storage figure sits next "
        "to the raw client measured in the same run against the same server.",
        "",
        table(
            ["suite", "command", "wall time"],
            [
                [
                    result.name,
                    "`" + " ".join(["python -m bench." + result.name, *result.args]) + "`",
                    f"{result.seconds:.0f} s" + ("" if result.ok else " (failed)"),
                ]
                for result in results
            ],
        ),
        "",
        "## Targets",
        "",
    ]
    targets = [target for result in results for target in result.targets]
    lines.append(
        table(
            ["target", "goal", "measured", "verdict"],
            [[t.name, t.goal, t.measured, t.verdict()] for t in targets],
        )
        if targets
        else "No suite reported targets."
    )
    failed = [result.name for result in results if not result.ok]
    if failed:
        lines += ["", f"**Suites that failed** (their targets are not measured): {', '.join(failed)}."]
    for result in results:
        lines += ["", f"## {result.title}", "", f"`python -m bench.{result.name}` ({result.seconds:.0f} s)", ""]
        lines.append(result.body)
    missed = [target for target in targets if not target.met]
    lines += ["", "## Missed targets: by how much, and what limits them", ""]
    if missed:
        for target in missed:
            lines.append(
                f"- **{target.name}** (goal {target.goal}; measured {target.measured}; short by "
                f"{target.shortfall}): {target.why or 'no explanation was given by the suite.'}"
            )
    else:
        lines.append("None: every measured target was met.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated suite names")
    parser.add_argument("--large", action="store_true", help="semantic search at 1,000,000 vectors")
    parser.add_argument("--quick", action="store_true", help="a smoke test: fewer runs, smaller files")
    parser.add_argument("--output", default=None, help="default docs/benchmarks.md (.data/benchmarks-quick.md)")
    args = parser.parse_args()
    names = [name for name, _ in SUITES]
    chosen = args.only.split(",") if args.only else names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    output = args.output or str(ROOT / (".data/benchmarks-quick.md" if args.quick else "docs/benchmarks.md"))
    started = datetime.datetime.now(datetime.UTC)
    load_before = load()
    results = []
    for name, title in SUITES:
        if name not in chosen:
            continue
        extra = list(QUICK_ARGS[name]) if args.quick else []
        if name == "search" and args.large:
            extra += ["--rows", "1000000", "--ef-search", "40,100,200,400,800"]
        print(f"running bench.{name} {' '.join(extra)} ...", flush=True)
        result = run_suite(name, title, extra)
        print(f"{result.body}\n({result.seconds:.0f} s)\n", flush=True)
        results.append(result)
    with open(output, "w") as handle:
        handle.write(document(results, started, load_before, sys.argv[1:]))
    print(f"wrote {output}")
    if not all(result.ok for result in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
