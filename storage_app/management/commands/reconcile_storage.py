"""Bring files stored on a fallback back to the primary once it is healthy; finish interrupted work."""

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from core.management import add_dry_run_argument, add_json_argument, add_no_progress_argument
from storage_app.management.commands._relocation_output import RelocationOutput
from storage_app.services.relocation import RelocationBusy, TargetUnavailable, orphans_sweep, storage_reconcile


class Command(BaseCommand):
    help = (
        "Copy every file that lives on a fallback backend to the primary, verify size and SHA-256, switch "
        "its location record, then delete the fallback copy. Also finishes moves, deletes and writes that "
        "a crash or an outage interrupted. Safe to re-run at any time. Exit code 1 if a file failed."
    )

    def add_arguments(self, parser):
        add_dry_run_argument(parser, "List what would move; change nothing.")
        add_no_progress_argument(parser)
        add_json_argument(parser)
        parser.add_argument(
            "--orphans",
            action="store_true",
            help="Also list every backend and remove objects no location record accounts for (slow on big stores).",
        )
        parser.add_argument(
            "--orphan-grace",
            type=int,
            default=None,
            help="Seconds an unrecorded object must be old to count as an orphan (default STORAGE_STALE_WRITE_AFTER).",
        )

    def handle(self, *args, dry_run: bool, no_progress: bool, json: bool, orphans: bool, orphan_grace, **options):
        output = RelocationOutput(self, progress=not (no_progress or json), verbosity=options["verbosity"])
        try:
            report = storage_reconcile(dry_run=dry_run, on_plan=output.on_plan, on_file=output.on_file)
        except (TargetUnavailable, RelocationBusy) as exc:
            raise CommandError(str(exc), returncode=1) from None
        orphan_report = orphans_sweep(grace=orphan_grace, dry_run=dry_run) if orphans else None
        if json:
            body = report.as_dict()
            if orphan_report is not None:
                body["orphans"] = orphan_report.as_dict()
            self.stdout.write(jsonlib.dumps(body))
        else:
            output.finish(report)
            if orphan_report is not None:
                self.stdout.write(orphan_report.summary())
        if not report.ok:
            raise SystemExit(1)
