"""Progress bar, per-file lines and the summary shared by reconcile_storage and migrate_storage."""

from __future__ import annotations

import sys

from tqdm import tqdm

from storage_app.services.relocation import RelocationReport


class RelocationOutput:
    def __init__(self, command, *, progress: bool, verbosity: int) -> None:
        self.command = command
        self.progress = progress
        self.verbosity = verbosity
        self.bar: tqdm | None = None

    def on_plan(self, total: int) -> None:
        if self.progress:
            stream = getattr(self.command.stderr, "_out", sys.stderr)
            self.bar = tqdm(total=total, unit="file", file=stream, desc="moving", leave=True)

    def on_file(self, name: str, outcome: str) -> None:
        if self.bar is not None:
            self.bar.update(1)
        if self.verbosity >= 2:
            # One flushed line per file: scripts (and the crash tests) can follow a run as it goes.
            self.command.stdout.write(f"{outcome}: {name}")
            self.command.stdout.flush()

    def finish(self, report: RelocationReport) -> None:
        if self.bar is not None:
            self.bar.close()
        for name, error in report.failed.items():
            self.command.stderr.write(f"failed: {name}: {error}")
        style = self.command.style.SUCCESS if report.ok else self.command.style.WARNING
        self.command.stdout.write(style(report.summary() + (" (dry run)" if report.dry_run else "")))
