"""PostgreSQL backend that starts the embedded server on first connection.

Used only when DATABASE_URL is unset. Starting lazily means commands that never touch the
database (`help`, `check --deploy`, ruff) start no server.
"""

from pathlib import Path

from django.db.backends.postgresql import base

from devtools.embedded_db.server import ensure_server


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        # EMBEDDED_MAIN_NAME survives Django's test-database rename of NAME, so the main
        # database is the one created here; test databases are created by Django itself.
        server = ensure_server(Path(self.settings_dict["EMBEDDED_DIR"]), self.settings_dict["EMBEDDED_MAIN_NAME"])
        self.settings_dict["HOST"] = server.socket_dir
        self.settings_dict["PORT"] = str(server.port)
        return super().get_connection_params()
