"""Blob URLs in the service's real form, read back by Vercel's official Python SDK and by the storage.

The local server is started with `real_urls=True`: its replies name
`https://<storeId>.public.blob.vercel-storage.com/<pathname>` as the service does, and it serves
content for requests with that Host. The official Python SDK (vercel-blob 0.5.0) accepts only such
URLs; its httpx client is given a transport that sends them to the local server over plain HTTP with
the Host kept (tests/devtools/vercel_blob_server/test_sdk_fidelity.py). The storage maps the real
form to VERCEL_BLOB_URL_BASE (the server's local origin).
"""

from __future__ import annotations

import hashlib
import os

import httpx2
import pytest
from django.core.files.storage import default_storage
from vercel.api import session
from vercel.blob.sync import SyncBlobServiceOptions, get_blob, head_blob

from devtools.vercel_blob_server import VercelBlobServer
from storage_app.backends.base import name_from_url
from tests.devtools.vercel_blob_server.test_sdk_fidelity import BlobHostToLocalServer
from tests.peers.vercel_blob import FAST_RETRIES, PUBLIC_TOKEN
from tests.uploads.direct.conftest import ensure_node_modules, js_upload, wait_for_status
from tests.uploads.files import image_bytes
from uploads.models import UploadTracking

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def real_url_server(tmp_path):
    with VercelBlobServer(token=PUBLIC_TOKEN, data_dir=tmp_path / "blobs", real_urls=True) as server:
        yield server


@pytest.fixture
def app(live_server, real_url_server, settings):
    ensure_node_modules()
    settings.BLOB_READ_WRITE_TOKEN = real_url_server.token
    settings.VERCEL_BLOB_API_URL = real_url_server.api_url
    settings.VERCEL_BLOB_URL_BASE = real_url_server.api_url.removesuffix("/api/blob")  # where content is read
    settings.VERCEL_BLOB_ACCESS = "public"
    settings.VERCEL_BLOB_RETRIES = FAST_RETRIES["retries"]
    settings.STORAGE_BACKEND = "vercel"
    settings.STORAGES = dict(settings.STORAGES)
    return live_server


def test_urls_of_a_direct_upload_are_real_and_read_by_the_official_python_sdk(
    app, real_url_server, user, api_token, tmp_path, monkeypatch
):
    photo = tmp_path / "vase.jpg"
    photo.write_bytes(image_bytes())
    pathname = f"inventory/{user.pk}/k{os.urandom(6).hex()}/vase.jpg"
    result = js_upload(
        real_url_server,
        pathname=pathname,
        file=photo,
        handle_upload_url=app.url + "/api/uploads/direct/vercel",
        api_token=api_token,
        client_payload={"kind": "image"},
    )
    assert result["ok"], result
    url = result["blob"]["url"]
    assert url == f"https://teststore123.public.blob.vercel-storage.com/{pathname}"
    row = wait_for_status(UploadTracking.objects.get(permanent_name=pathname).pk)
    assert row.status == "complete", row.last_error

    monkeypatch.setenv("BLOB_READ_WRITE_TOKEN", real_url_server.token)
    monkeypatch.setenv("VERCEL_BLOB_API_URL", real_url_server.api_url)
    monkeypatch.setenv("VERCEL_BLOB_RETRIES", "0")
    for name in ("VERCEL_OIDC_TOKEN", "BLOB_STORE_ID", "VERCEL_BLOB_READ_WRITE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with session(
        service_options=[SyncBlobServiceOptions()],
        httpx_client_factory=lambda: httpx2.Client(transport=BlobHostToLocalServer(real_url_server.port)),
    ):
        head = head_blob(url)
        got = get_blob(url, access="public")
    assert head.size == photo.stat().st_size
    assert head.pathname == pathname
    assert hashlib.sha256(got.body).hexdigest() == row.checksum

    # The storage reads the real form back to its name, and its content from VERCEL_BLOB_URL_BASE.
    vercel = default_storage.backend("vercel").storage
    assert name_from_url(vercel, url) == pathname
    with default_storage.open(pathname) as handle:
        assert handle.read() == photo.read_bytes()
