"""The local Vercel Blob server: one store, one access mode, served by a thread per connection."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from devtools.vercel_blob_server.faults import FaultPlan
from devtools.vercel_blob_server.handler import BlobRequestHandler
from devtools.vercel_blob_server.state import RequestRecord, ServerState, store_id_from_token
from devtools.vercel_blob_server.store import BlobStore

logger = logging.getLogger("devtools.vercel_blob_server")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, state: ServerState, controller: VercelBlobServer, family: int) -> None:
        self.address_family = family
        self.state = state
        self.controller = controller
        self.connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, BlobRequestHandler)

    def process_request_thread(self, request, client_address) -> None:
        with self._connections_lock:
            self.connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self.connections.discard(request)

    def handle_error(self, request, client_address) -> None:
        # A client that goes away mid-request is routine (timeouts, cut tests); anything else is a bug.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            logger.debug("connection from %s ended: %s", client_address, error)
            return
        logger.exception("request from %s failed", client_address)

    def drop_connections(self) -> None:
        with self._connections_lock:
            live = list(self.connections)
        for connection in live:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class VercelBlobServer:
    """A Vercel Blob API and content server for development and tests.

    `start()` serves in a background thread (tests and the management command alike). The API is
    at `api_url`, blob content at `url_base/<pathname>` and on requests whose Host is
    `<storeId>.<access>.blob.vercel-storage.com`. `faults` switches failures at run time, `counts`
    says how many requests each route received.
    """

    def __init__(
        self,
        *,
        token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        access: str = "public",
        data_dir: Path | str | None = None,
        url_base: str | None = None,
        real_urls: bool = False,
    ) -> None:
        store_id_from_token(token)  # refuses a malformed token before anything starts
        if access not in ("public", "private"):
            raise ValueError("access must be 'public' or 'private'")
        self._tempdir = None
        if data_dir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="vercel-blob-")
            data_dir = self._tempdir.name
        self.host = host
        self.port = port
        self._url_base_override = url_base.rstrip("/") if url_base else None
        self.state = ServerState(token=token, access=access, store=BlobStore(Path(data_dir)))
        if real_urls:
            # Replies name https://<storeId>.<access>.blob.vercel-storage.com/<pathname>, as the service
            # does; the server serves content for requests with that Host (clients must route it here).
            self._url_base_override = f"https://{self.state.blob_host}"
        self._family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._refuse_lock = threading.Lock()
        self._serving_before_refusal = False
        self._bind()

    # --- addresses --------------------------------------------------------------------------

    @property
    def token(self) -> str:
        return self.state.token

    @property
    def store_id(self) -> str:
        return self.state.store_id

    @property
    def access(self) -> str:
        return self.state.access

    @property
    def url_base(self) -> str:
        """The value for VERCEL_BLOB_URL_BASE: where blob content is served, and what reply URLs use."""
        return self.state.url_base

    @property
    def api_url(self) -> str:
        """The value for VERCEL_BLOB_API_URL."""
        return f"{self._origin()}/api/blob"

    def _origin(self) -> str:
        host = self.host
        if host in ("0.0.0.0", ""):  # noqa: S104 - naming the wildcard, not binding to it
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    # --- state for tests --------------------------------------------------------------------

    @property
    def faults(self) -> FaultPlan:
        return self.state.faults

    @property
    def store(self) -> BlobStore:
        return self.state.store

    @property
    def counts(self) -> dict[str, int]:
        """Requests received per route since the last reset (refused connections never arrive)."""
        with self.state.lock:
            return dict(self.state.counts)

    def peak_in_flight(self, route: str) -> int:
        """The most requests of `route` the server was handling at the same time since the last reset."""
        with self.state.lock:
            return self.state.peak_in_flight[route]

    def request_count(self, *routes: str) -> int:
        """Requests received on the given routes (all routes when none is given); `mpu` covers mpu.*."""
        counts = self.counts
        if not routes:
            return sum(counts.values())
        return sum(n for route, n in counts.items() if any(route == r or route.startswith(r + ".") for r in routes))

    @property
    def requests(self) -> list[RequestRecord]:
        with self.state.lock:
            return list(self.state.log)

    def reset_counts(self) -> None:
        """Zero the request counters and forget the request log, keeping blobs and faults."""
        self.state.reset_counts()

    @property
    def callbacks(self):
        """The completion callbacks sent: (url, HTTP status or error), newest last."""
        return self.state.callbacks

    def reset(self) -> None:
        """Forget blobs, faults and counters (between tests)."""
        self.state.callbacks.clear()
        self.state.faults.clear()
        self.state.store.clear()
        self.state.reset_counts()

    # --- lifecycle --------------------------------------------------------------------------

    def _bind(self) -> None:
        self._httpd = _HTTPServer((self.host, self.port), self.state, self, self._family)
        self.port = self._httpd.server_address[1]
        self.state.url_base = self._url_base_override or self._origin()

    def start(self) -> VercelBlobServer:
        """Serve in a daemon thread; returns self."""
        if self._httpd is None:
            self._bind()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="vercel-blob-server", daemon=True
        )
        self._thread.start()
        return self

    def _close_listener(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        if self._thread is not None:
            httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        httpd.server_close()
        httpd.drop_connections()

    def stop(self) -> None:
        self._close_listener()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> VercelBlobServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- refusing connections ---------------------------------------------------------------

    def refuse_connections(self, seconds: float | None = None) -> None:
        """Close the listening socket: new connections are refused, open ones are cut.

        With `seconds`, accept again after that long (from the calling thread, blocking); otherwise
        until `accept_connections()`.
        """
        with self._refuse_lock:
            self.state.refusing = True
            self._serving_before_refusal = self._thread is not None
            self._close_listener()
        if seconds is not None:
            threading.Event().wait(seconds)
            self.accept_connections()

    def accept_connections(self) -> None:
        with self._refuse_lock:
            if not self.state.refusing:
                return
            self.state.refusing = False
            self._bind()
            if self._serving_before_refusal:
                self.start()
