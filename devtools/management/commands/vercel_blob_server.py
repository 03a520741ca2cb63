"""Run the local Vercel Blob server (devtools.vercel_blob_server) until interrupted."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools.vercel_blob_server import VercelBlobServer


class Command(BaseCommand):
    help = (
        "Serve a local Vercel Blob store speaking the official SDKs' wire protocol: the API at "
        "http://HOST:PORT/api/blob (VERCEL_BLOB_API_URL) and blob content at http://HOST:PORT/<pathname> "
        "(VERCEL_BLOB_URL_BASE). Blobs are kept in --data-dir (a temporary folder by default)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=0, help="Port (default 0: a free port, printed at start).")
        parser.add_argument(
            "--token", default=None, help="Read-write token the store accepts (default BLOB_READ_WRITE_TOKEN)."
        )
        parser.add_argument("--access", choices=["public", "private"], default=None, help="Default VERCEL_BLOB_ACCESS.")
        parser.add_argument("--data-dir", default=None, help="Folder for the blobs (kept between runs).")

    def handle(self, *args, host: str, port: int, token: str | None, access: str | None, data_dir, **options):
        token = token or settings.BLOB_READ_WRITE_TOKEN
        if not token:
            raise CommandError("no token: pass --token vercel_blob_rw_<storeId>_<secret> or set BLOB_READ_WRITE_TOKEN")
        if not 0 <= port <= 65535:
            raise CommandError(f"--port {port} is not a port number")
        try:
            server = VercelBlobServer(
                token=token,
                host=host,
                port=port,
                access=access or settings.VERCEL_BLOB_ACCESS,
                data_dir=Path(data_dir) if data_dir else None,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        except OSError as error:
            raise CommandError(f"cannot listen on {host}:{port}: {error.strerror}") from None
        server.start()
        # The token is a secret: say which store it opens, never the token itself.
        self.stdout.write(
            f"Vercel Blob server for store {server.store_id} ({server.access}), "
            f"data in {server.store.root}\n"
            f"  VERCEL_BLOB_API_URL={server.api_url}\n"
            f"  VERCEL_BLOB_URL_BASE={server.url_base}\n"
            "Press Ctrl-C to stop."
        )
        self.stdout.flush()
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
            self.stdout.write("Vercel Blob server stopped.")
