"""Re-queue stale uploads and remove orphaned temporary files and objects."""

import json as jsonlib

from django.core.management.base import BaseCommand

from core.management import add_dry_run_argument, add_json_argument, add_seconds_argument
from uploads.services.sweep import uploads_sweep


class Command(BaseCommand):
    help = (
        "Re-queue uploads left processing by a dead worker or pending by a lost message, and remove "
        "temporary files and stored objects nothing refers to once older than the grace period."
    )

    def add_arguments(self, parser):
        add_dry_run_argument(parser, "List what would be done, change nothing.")
        add_seconds_argument(parser, "--grace", setting="UPLOAD_SWEEP_GRACE")
        add_seconds_argument(parser, "--stale-after", setting="UPLOAD_STALE_AFTER")
        add_json_argument(parser)

    def handle(self, *args, dry_run: bool, grace, stale_after, json: bool, **options):
        report = uploads_sweep(dry_run=dry_run, grace=grace, stale_after=stale_after)
        if json:
            self.stdout.write(jsonlib.dumps(report.as_dict()))
            return
        verb = "would " if dry_run else ""
        for upload_id in report.requeued:
            self.stdout.write(f"{verb}re-queue upload {upload_id}")
        for name in report.temporary_removed:
            self.stdout.write(f"{verb}remove temporary file {name}")
        for name in report.objects_removed:
            self.stdout.write(f"{verb}remove orphaned object {name}")
        self.stdout.write(
            f"{len(report.requeued)} re-queued, {len(report.temporary_removed)} temporary files and "
            f"{len(report.objects_removed)} objects removed{' (dry run)' if dry_run else ''}"
        )
