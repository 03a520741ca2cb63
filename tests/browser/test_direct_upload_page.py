"""The upload page in Chromium: files go straight to the store, each with its progress and result.

A signed-in user drops a 50 MiB PDF and a photo. Every request the browser makes to the app is
recorded: none carries a file body (the token request and the status polls are small JSON). Then
the same with the Vercel Blob server stopped: its breaker open, the page uploads to S3 on presigned
URLs. nanio (the S3 peer) sends no CORS headers, so that browser runs with web security off; the
local Vercel Blob server answers CORS as the service does.
"""

from __future__ import annotations

import contextlib
import os

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from storage_app.exceptions import StorageUnavailable
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, screenshot
from tests.uploads.direct.conftest import ensure_node_modules
from tests.uploads.files import PDF_BYTES, image_bytes
from uploads.models import UploadTracking

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 1024 * 1024
ALL_DONE = "() => document.querySelectorAll('li.upload[data-status]').length === 2"
THUMBNAIL_LOADED = """() => {
  const img = document.querySelector('img.thumbnail');
  return img !== null && img.complete && img.naturalWidth > 0;
}"""


@pytest.fixture
def files(tmp_path):
    big = tmp_path / "catalogue.pdf"
    with big.open("wb") as handle:
        handle.write(PDF_BYTES)
        handle.write(os.urandom(50 * MiB - len(PDF_BYTES)))
    photo = tmp_path / "stool.jpg"
    photo.write_bytes(image_bytes(size=(1200, 900)))
    return big, photo


def _signed_in_context(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1100, "height": 700})
    host = live_server.url.split("//")[1].split(":")[0]
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": host, "path": "/"}]
    )
    return context


def _drop_and_wait(page, live_server, files) -> int:
    """Upload both files through the page; the bytes of request bodies that reached the app."""
    to_app: list[int] = []
    page.on(
        "request",
        lambda request: (
            to_app.append(len(request.post_data_buffer or b"")) if request.url.startswith(live_server.url) else None
        ),
    )
    page.goto(f"{live_server.url}/upload/")
    page.set_input_files("#files", [str(path) for path in files])
    page.wait_for_function(ALL_DONE, timeout=90_000)
    states = page.eval_on_selector_all("li.upload", "rows => rows.map(r => [r.dataset.status, r.innerText])")
    assert [status for status, _ in states] == ["complete", "complete"], states
    events = page.eval_on_selector_all("li.upload", "rows => rows.map(r => Number(r.dataset.progressEvents || 0))")
    assert events[0] > 1, events  # the 50 MiB file's bar moved while it was sent
    assert page.eval_on_selector_all("li.upload progress", "bars => bars.map(b => b.value)") == [100, 100]
    page.wait_for_function(THUMBNAIL_LOADED, timeout=15_000)
    return max(to_app, default=0)


def _rows_complete(user, backend: str, files) -> None:
    rows = {row.original_filename: row for row in UploadTracking.objects.filter(owner=user)}
    assert set(rows) == {path.name for path in files}
    for path in files:
        row = rows[path.name]
        assert row.status == "complete", row.last_error
        assert (row.permanent_backend, row.size) == (backend, path.stat().st_size)
    assert rows["stool.jpg"].inventory_item.thumbnail.name
    assert rows["catalogue.pdf"].document.file.name == rows["catalogue.pdf"].permanent_name


@pytest.fixture
def direct_site(live_server, vercel_blob_settings, settings, s3_peer, http_cookies):
    ensure_node_modules()
    for key, value in s3_peer.settings().items():
        setattr(settings, key, value)
    # @vercel/blob sends request bodies as streams (HTTP/2 only in Chromium) unless its API URL starts
    # with http://localhost, the SDK's own rule for local development: the server is named so.
    settings.VERCEL_BLOB_API_URL = vercel_blob_settings.VERCEL_BLOB_API_URL.replace("127.0.0.1", "localhost")
    settings.STORAGE_BACKEND = "vercel"
    settings.STORAGES = dict(settings.STORAGES)
    return live_server


def test_a_user_drops_a_50_mib_file_and_a_photo_and_both_go_straight_to_vercel_blob(
    browser, direct_site, vercel_blob, user, files
):
    context = _signed_in_context(browser, direct_site, user)
    try:
        page = context.new_page()
        largest_body = _drop_and_wait(page, direct_site, files)
        screenshot(page, "direct-upload-vercel.png")
    finally:
        context.close()
    assert largest_body < 16 * 1024  # JSON only: no file body reached Django
    _rows_complete(user, "vercel", files)
    assert vercel_blob.request_count("mpu.upload") >= 6  # the 50 MiB file went in parts
    assert vercel_blob.request_count("put") >= 2  # the photo (browser) and its thumbnail (server)


def test_with_the_vercel_blob_server_stopped_the_page_uploads_to_s3(
    browser, direct_site, vercel_blob, s3_peer, user, files
):
    vercel_blob.refuse_connections()
    breaker = default_storage.backend("vercel").breaker

    def unavailable():
        raise StorageUnavailable("connection refused", backend="vercel")

    for _ in range(breaker.fail_max):
        with contextlib.suppress(StorageUnavailable):
            breaker.call(unavailable)
    # The module's Playwright (tests/browser/conftest.py) launches a second Chromium, with web security off.
    insecure = browser.browser_type.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, "--disable-web-security"]
    )
    try:
        context = _signed_in_context(insecure, direct_site, user)
        page = context.new_page()
        largest_body = _drop_and_wait(page, direct_site, files)
        screenshot(page, "direct-upload-s3.png")
        context.close()
    finally:
        insecure.close()
    assert largest_body < 16 * 1024
    _rows_complete(user, "s3", files)
    assert vercel_blob.request_count() == 0
