"""One process of Procfile.dev (`make run`): a local server, the Celery worker or beat, or the app."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from devtools.devrun.services import SERVICES, Supervisor


class Command(BaseCommand):
    help = "Run one process of make run's chain (Procfile.dev): " + ", ".join(SERVICES) + "."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("name", choices=sorted(SERVICES))

    def handle(self, *args, name: str, **options):
        def say(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        SERVICES[name](Supervisor(name, say))
