"""The local Vercel Blob server as a real peer: a thread serving HTTP on a free port.

Fixtures (all registered for the whole suite through tests/conftest.py):

- `vercel_blob_server` (session): a public-store `VercelBlobServer`; `vercel_blob_private_server`
  (session): a private store. Prefer the function-scoped ones below.
- `vercel_blob` / `vercel_blob_private` (function): the same servers, emptied, with no faults and
  zeroed counters at the start of the test; faults are cleared again at its end. Returns the
  `VercelBlobServer`:
    .api_url / .url_base / .token / .store_id / .access
    .faults.fail(503, times=2) / .rate_limit(retry_after=1) / .slow(seconds) / .cut(after_bytes)
      (each takes routes=("put", "head", "content", "mpu", "api", ...) and times=N)
    .refuse_connections() / .accept_connections()   (connections refused at the socket)
    .request_count("head", "put") / .counts / .reset_counts()   (requests received per route)
    .peak_in_flight("mpu.upload")                  (most concurrent requests of a route)
    .requests                                        (what was received, headers without the token)
- `vercel_blob_options` / `vercel_blob_private_options` (function): the keyword options (dict) of a
  VercelBlobStorage pointed at the server, with test-fast retries (2 retries, delays <= 0.05 s)
  and short timeouts; use them for STORAGES[...]["OPTIONS"] or VercelBlobStorage(**options).
- `vercel_blob_storage` / `vercel_blob_private_storage` (function): a VercelBlobStorage built with
  those options.
- `vercel_blob_settings` (function): Django settings pointed at the public server (token, API URL,
  URL base, access, fast retries), so `VercelBlobStorage()` with no arguments and STORAGES entries
  use it (storages already built are dropped). Returns pytest-django's `settings`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.vercel_blob_server import VercelBlobServer
from storage_app.backends.vercel_blob.storage import VercelBlobStorage

PUBLIC_TOKEN = "vercel_blob_rw_teststore123_4fQxS0nJc1TbWkR2uYp8LmZ3aHvE9dG"
PRIVATE_TOKEN = "vercel_blob_rw_privstore456_Xy7Pq2LmN0vB5cR8tW1kZ4jH6fD3sA9"

FAST_RETRIES = {
    "retries": 2,
    "retry_base_delay": 0.01,
    "retry_max_delay": 0.05,
    "connect_timeout": 2.0,
    "read_timeout": 10.0,
}


def _server(tmp_path_factory, token: str, access: str) -> Iterator[VercelBlobServer]:
    server = VercelBlobServer(token=token, access=access, data_dir=tmp_path_factory.mktemp(f"vercel-blob-{access}"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def vercel_blob_server(tmp_path_factory) -> Iterator[VercelBlobServer]:
    yield from _server(tmp_path_factory, PUBLIC_TOKEN, "public")


@pytest.fixture(scope="session")
def vercel_blob_private_server(tmp_path_factory) -> Iterator[VercelBlobServer]:
    yield from _server(tmp_path_factory, PRIVATE_TOKEN, "private")


def _fresh(server: VercelBlobServer) -> Iterator[VercelBlobServer]:
    server.accept_connections()
    server.reset()
    try:
        yield server
    finally:
        server.faults.clear()
        server.accept_connections()


@pytest.fixture
def vercel_blob(vercel_blob_server) -> Iterator[VercelBlobServer]:
    yield from _fresh(vercel_blob_server)


@pytest.fixture
def vercel_blob_private(vercel_blob_private_server) -> Iterator[VercelBlobServer]:
    yield from _fresh(vercel_blob_private_server)


def storage_options(server: VercelBlobServer, **overrides) -> dict:
    """Keyword options of a VercelBlobStorage talking to `server`."""
    return {
        "token": server.token,
        "api_url": server.api_url,
        "url_base": server.url_base,
        "access": server.access,
        **FAST_RETRIES,
        **overrides,
    }


@pytest.fixture
def vercel_blob_options(vercel_blob) -> dict:
    return storage_options(vercel_blob)


@pytest.fixture
def vercel_blob_private_options(vercel_blob_private) -> dict:
    return storage_options(vercel_blob_private, alias="vercel_private")


@pytest.fixture
def vercel_blob_storage(vercel_blob_options) -> Iterator[VercelBlobStorage]:
    storage = VercelBlobStorage(**vercel_blob_options)
    yield storage
    storage.client.close()


@pytest.fixture
def vercel_blob_private_storage(vercel_blob_private_options) -> Iterator[VercelBlobStorage]:
    storage = VercelBlobStorage(**vercel_blob_private_options)
    yield storage
    storage.client.close()


@pytest.fixture
def vercel_blob_settings(vercel_blob, settings):
    """Settings pointed at the public server; returns pytest-django's `settings`."""
    settings.BLOB_READ_WRITE_TOKEN = vercel_blob.token
    settings.VERCEL_BLOB_API_URL = vercel_blob.api_url
    settings.VERCEL_BLOB_URL_BASE = vercel_blob.url_base
    settings.VERCEL_BLOB_ACCESS = vercel_blob.access
    settings.VERCEL_BLOB_RETRIES = FAST_RETRIES["retries"]
    settings.VERCEL_BLOB_RETRY_BASE_DELAY = FAST_RETRIES["retry_base_delay"]
    settings.VERCEL_BLOB_RETRY_MAX_DELAY = FAST_RETRIES["retry_max_delay"]
    settings.VERCEL_BLOB_CONNECT_TIMEOUT = FAST_RETRIES["connect_timeout"]
    settings.VERCEL_BLOB_READ_TIMEOUT = FAST_RETRIES["read_timeout"]
    # Assigning STORAGES makes Django drop storage instances already built from the old settings.
    settings.STORAGES = dict(settings.STORAGES)
    return settings
