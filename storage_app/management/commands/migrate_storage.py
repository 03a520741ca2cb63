"""Move every file from one storage backend to another (switching providers), never losing one."""

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from storage_app.exceptions import StorageUnavailable
from storage_app.fallback import default_fallback_storage
from storage_app.management.commands._relocation_output import RelocationOutput
from storage_app.services.relocation import storage_migrate


class Command(BaseCommand):
    help = (
        "Move every file stored on --from to --to: copy, verify size and SHA-256, switch the location "
        "record, delete the old copy. Both backends must be configured. Safe to re-run. Set STORAGE_BACKEND "
        "to the new provider first, or new files keep landing on the old one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, help="The STORAGES alias to empty.")
        parser.add_argument("--to", dest="target", required=True, help="The STORAGES alias to move to.")
        parser.add_argument("--dry-run", action="store_true", help="List what would move; change nothing.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, source: str, target: str, dry_run: bool, no_progress: bool, json: bool, **options):
        if source == target:
            raise CommandError("--from and --to name the same backend")
        storage = default_fallback_storage()
        aliases = [backend.alias for backend in storage.backends] + list(storage.left_out)
        for option, alias in (("--from", source), ("--to", target)):
            if alias not in aliases:
                raise CommandError(f"{option} {alias!r} is not a configured backend; choose from {', '.join(aliases)}")
        if storage.primary.alias == source and not json:
            self.stderr.write(
                self.style.WARNING(
                    f"{source} is still the primary (STORAGE_BACKEND): new files will keep landing there"
                )
            )
        output = RelocationOutput(self, progress=not (no_progress or json), verbosity=options["verbosity"])
        try:
            report = storage_migrate(
                source=source,
                target=target,
                storage=storage,
                dry_run=dry_run,
                on_plan=output.on_plan,
                on_file=output.on_file,
            )
        except StorageUnavailable as exc:
            raise CommandError(str(exc), returncode=1) from None
        if json:
            self.stdout.write(jsonlib.dumps(report.as_dict()))
        else:
            output.finish(report)
        if not report.ok:
            raise SystemExit(1)
