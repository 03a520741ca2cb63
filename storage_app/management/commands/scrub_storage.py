"""Read every copy of every stored file back, check it against its SHA-256, and repair bad copies."""

import json as jsonlib
import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from storage_app.scrub import storage_scrub


class Command(BaseCommand):
    help = (
        "Read every copy (home and replicas) of every stored file, streamed, and compare its size and SHA-256 "
        "with the location record; report missing or corrupt copies and, with --repair, rewrite them from a "
        "good copy. Exit code 1 if a copy stays bad or could not be checked."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sample", type=int, default=None, help="Check a random sample of N files.")
        parser.add_argument("--repair", action="store_true", help="Rewrite missing or corrupt copies from a good one.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, sample, repair: bool, json: bool, no_progress: bool, **options):
        if sample is not None and sample < 1:
            self.stderr.write("--sample must be at least 1")
            raise SystemExit(2)
        bar: dict[str, tqdm] = {}

        def on_plan(total: int) -> None:
            if not (no_progress or json):
                stream = getattr(self.stderr, "_out", sys.stderr)
                bar["bar"] = tqdm(total=total, unit="file", file=stream, desc="scrubbing", leave=True)

        def on_file(name: str, outcome: str) -> None:
            if "bar" in bar:
                bar["bar"].update(1)
            if options["verbosity"] >= 2:
                self.stdout.write(f"{outcome}: {name}")

        report = storage_scrub(sample=sample, repair=repair, on_plan=on_plan, on_file=on_file)
        if "bar" in bar:
            bar["bar"].close()
        if json:
            self.stdout.write(jsonlib.dumps(report.as_dict()))
        else:
            for where in report.missing:
                self.stdout.write(f"missing: {where}")
            for where in report.corrupt:
                self.stdout.write(f"corrupt: {where}")
            for where, reason in {**report.unrepaired, **report.unchecked}.items():
                self.stderr.write(f"not repaired: {where}: {reason}")
            style = self.style.SUCCESS if report.ok else self.style.WARNING
            self.stdout.write(style(report.summary()))
        if not report.ok:
            raise SystemExit(1)
