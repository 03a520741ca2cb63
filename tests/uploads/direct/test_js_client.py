"""The official JS client, `upload()` of @vercel/blob 2.8.0, through the app's handleUpload route."""

from __future__ import annotations

import hashlib
import os

import pytest

from storage_app.models import StoredFile
from tests.uploads.direct.conftest import js_upload, wait_for_status
from tests.uploads.files import image_bytes
from uploads.models import UploadTracking

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 1024 * 1024


def route(live_server) -> str:
    return live_server.url + "/api/uploads/direct/vercel"


def test_a_photo_goes_to_the_store_and_its_row_completes_with_a_thumbnail(
    direct_app, vercel_blob, user, api_token, tmp_path
):
    photo = tmp_path / "stool.jpg"
    photo.write_bytes(image_bytes(size=(800, 600)))
    pathname = f"inventory/{user.pk}/k{os.urandom(6).hex()}/stool.jpg"
    result = js_upload(
        vercel_blob,
        pathname=pathname,
        file=photo,
        handle_upload_url=route(direct_app),
        api_token=api_token,
        client_payload={"kind": "image"},
    )
    assert result["ok"], result
    assert result["blob"]["pathname"] == pathname
    row = UploadTracking.objects.get(permanent_name=pathname)
    row = wait_for_status(row.pk)
    assert row.status == "complete", row.last_error
    assert row.permanent_backend == "vercel"
    assert row.size == photo.stat().st_size
    assert row.checksum == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert row.content_type == "image/jpeg"
    assert StoredFile.objects.get(name=pathname).backend == "vercel"
    item = row.inventory_item
    assert item.owner == user
    assert item.image.name == pathname
    assert item.thumbnail.name
    assert vercel_blob.store.get(item.thumbnail.name) is not None
    assert vercel_blob.callbacks.results[-1][1] == 200
    # No file body reached Django: the only app requests are the JSON token request and the callback.
    assert vercel_blob.request_count("put") == 2  # the photo (client) and the thumbnail (server)


def test_a_large_file_goes_in_parts(direct_app, vercel_blob, user, api_token, tmp_path):
    data = os.urandom(20 * MiB + 5)
    big = tmp_path / "manual.txt"
    big.write_bytes(b"Manual " * 10 + data.hex().encode()[: 20 * MiB])
    pathname = f"documents/{user.pk}/k{os.urandom(6).hex()}/manual.txt"
    result = js_upload(
        vercel_blob,
        pathname=pathname,
        file=big,
        handle_upload_url=route(direct_app),
        api_token=api_token,
        client_payload={"kind": "document"},
        multipart=True,
    )
    assert result["ok"], result
    assert vercel_blob.request_count("mpu.upload") >= 3
    row = wait_for_status(UploadTracking.objects.get(permanent_name=pathname).pk)
    assert row.status == "complete", row.last_error
    assert row.size == big.stat().st_size
    assert row.checksum == hashlib.sha256(big.read_bytes()).hexdigest()
    assert row.document.file.name == pathname
