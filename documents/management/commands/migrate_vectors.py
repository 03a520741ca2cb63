"""Apply migrations to the vector database when one is configured (VECTOR_DATABASE_URL / NEON_DATABASE_URL)."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from documents.routers import VECTOR_DB


class Command(BaseCommand):
    help = (
        "Run `migrate --database=vectors` when a separate vector database is configured, so a release step can "
        "always call it; without one, document_vectors lives in the main database and `migrate` covers it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args, interactive: bool, verbosity: int, **options):
        if VECTOR_DB not in settings.DATABASES:
            self.stdout.write("no separate vector database is configured; document_vectors is in the main database")
            return
        call_command("migrate", database=VECTOR_DB, interactive=interactive, verbosity=verbosity, stdout=self.stdout)
