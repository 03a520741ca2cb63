"""S3 direct uploads (presigned PUT, presigned multipart) and the failover of the direct target."""

from __future__ import annotations

import contextlib
import hashlib
import os

import pytest
import requests
from django.core.files.storage import default_storage

from storage_app.exceptions import StorageUnavailable
from storage_app.models import StoredFile
from tests.uploads.files import PDF_BYTES, image_bytes
from uploads.models import UploadTracking

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 1024 * 1024
S3_ROUTE = "/api/uploads/direct/s3"


@pytest.fixture
def s3_first(settings, s3_peer):
    """The chain s3 → local (no Vercel Blob token): direct uploads go to S3."""
    for key, value in s3_peer.settings().items():
        setattr(settings, key, value)
    settings.BLOB_READ_WRITE_TOKEN = None
    settings.STORAGE_BACKEND = "s3"
    settings.STORAGES = dict(settings.STORAGES)
    return s3_peer


def start(api, **fields):
    return api.post(S3_ROUTE, fields, format="json")


def test_a_photo_goes_by_presigned_put_and_completes_with_a_thumbnail(api, user, s3_first):
    assert api.get("/api/uploads/direct/").json()["backend"] == "s3"
    photo = image_bytes(size=(900, 700))
    response = start(api, filename="chair.jpg", size=len(photo), content_type="image/jpeg", kind="image")
    assert response.status_code == 201, response.content
    plan = response.json()
    assert "put" in plan
    assert "multipart" not in plan
    sent = requests.put(plan["put"]["url"], data=photo, headers=plan["put"]["headers"], timeout=10)
    assert sent.status_code in (200, 204), sent.text
    done = api.post(plan["complete_url"], {}, format="json")
    assert done.status_code == 202, done.content
    row = UploadTracking.objects.get(pk=plan["upload"])
    assert row.status == "complete", row.last_error
    assert (row.permanent_backend, row.size) == ("s3", len(photo))
    assert row.checksum == hashlib.sha256(photo).hexdigest()
    assert StoredFile.objects.get(name=row.permanent_name).backend == "s3"
    assert row.inventory_item.thumbnail.name in s3_first.keys()  # noqa: SIM118 - a method of S3Peer
    again = api.post(plan["complete_url"], {}, format="json")
    assert again.status_code == 409


def test_a_large_file_goes_in_presigned_parts(api, user, s3_first, settings):
    settings.UPLOAD_DIRECT_S3_PUT_MAX = 5 * MiB
    settings.UPLOAD_DIRECT_S3_PART_SIZE = 5 * MiB
    data = PDF_BYTES + os.urandom(12 * MiB)  # a PDF by its first bytes; its text does not matter here
    response = start(api, filename="stock.pdf", size=len(data), content_type="application/pdf", kind="document")
    plan = response.json()
    assert response.status_code == 201, plan
    assert "multipart" in plan, plan
    part_size = plan["multipart"]["part_size"]
    parts = []
    for number, url in enumerate(plan["multipart"]["part_urls"], start=1):
        chunk = data[(number - 1) * part_size : number * part_size]
        sent = requests.put(url, data=chunk, timeout=30)
        assert sent.status_code == 200, sent.text
        parts.append({"part_number": number, "etag": sent.headers["ETag"]})
    assert len(parts) >= 2
    done = api.post(plan["complete_url"], {"parts": parts}, format="json")
    assert done.status_code == 202, done.content
    row = UploadTracking.objects.get(pk=plan["upload"])
    assert row.status == "complete", row.last_error
    assert row.checksum == hashlib.sha256(data).hexdigest()
    assert row.document.file.name == row.permanent_name


def test_refusals_before_anything_is_sent(api, other_api, user, s3_first, settings):
    too_big = start(api, filename="a.jpg", size=settings.UPLOAD_MAX_SIZE + 1, content_type="image/jpeg", kind="image")
    assert too_big.status_code == 413
    wrong = start(api, filename="a.exe", size=10, content_type="application/x-msdownload", kind="image")
    assert wrong.status_code == 415
    assert "is not allowed" in wrong.json()["error"]["message"]
    assert not UploadTracking.objects.exists()
    plan = start(api, filename="a.jpg", size=10, content_type="image/jpeg", kind="image").json()
    assert other_api.post(plan["complete_url"], {}, format="json").status_code == 404
    # Completing before sending: nothing is there, the row is not finished.
    api.post(plan["complete_url"], {}, format="json")
    assert UploadTracking.objects.get(pk=plan["upload"]).status != "complete"


def test_html_named_jpg_sent_to_s3_is_deleted_and_its_row_ends_error(api, user, s3_first):
    page = b"<html><body>not a photo</body></html>"
    plan = start(api, filename="cat.jpg", size=len(page), content_type="image/jpeg", kind="image").json()
    assert requests.put(plan["put"]["url"], data=page, headers=plan["put"]["headers"], timeout=10).ok
    api.post(plan["complete_url"], {}, format="json")
    row = UploadTracking.objects.get(pk=plan["upload"])
    assert row.status == "error"
    assert "not an accepted image" in row.last_error
    assert s3_first.keys() == []


def test_the_target_follows_the_breakers(api, user, s3_peer, vercel_blob_settings, settings):
    for key, value in s3_peer.settings().items():
        setattr(settings, key, value)
    settings.STORAGE_BACKEND = "vercel"
    settings.STORAGES = dict(settings.STORAGES)
    assert api.get("/api/uploads/direct/").json()["backend"] == "vercel"
    breaker = default_storage.backend("vercel").breaker

    def unavailable():
        raise StorageUnavailable("down", backend="vercel")

    for _ in range(breaker.fail_max):
        with contextlib.suppress(StorageUnavailable):
            breaker.call(unavailable)
    assert breaker.is_open()
    assert api.get("/api/uploads/direct/").json()["backend"] == "s3"
    pathname = f"inventory/{user.pk}/kabcdef1/x.jpg"
    body = {
        "type": "blob.generate-client-token",
        "payload": {"pathname": pathname, "clientPayload": '{"kind":"image"}'},
    }
    moved = api.post("/api/uploads/direct/vercel", body, format="json")
    assert moved.status_code == 409
    assert moved.json()["target"]["backend"] == "s3"
    s3_breaker = default_storage.backend("s3").breaker
    for _ in range(s3_breaker.fail_max):
        with contextlib.suppress(StorageUnavailable):
            s3_breaker.call(unavailable)
    assert api.get("/api/uploads/direct/").json()["backend"] == "server"  # only local is left
    refused = start(api, filename="a.jpg", size=10, content_type="image/jpeg", kind="image")
    assert refused.status_code == 409
    assert refused.json()["target"]["url"] == "/api/uploads/"
    assert not UploadTracking.objects.exists()
