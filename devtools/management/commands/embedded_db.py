"""Inspect or stop the embedded PostgreSQL server (used when DATABASE_URL is unset)."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand

from devtools.embedded_db.server import server_status, stop_server


class Command(BaseCommand):
    help = "Show the embedded PostgreSQL server's status, or stop it (`embedded_db stop`)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "stop"], nargs="?", default="status")

    def handle(self, *args, action: str, **options):
        data_dir = settings.EMBEDDED_DB_DIR
        if action == "stop":
            stopped = stop_server(data_dir)
            self.stdout.write("stopped" if stopped else "not running")
            return
        self.stdout.write(json.dumps(server_status(data_dir)))
